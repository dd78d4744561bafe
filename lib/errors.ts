/** Error codes thrown by genius-native, native or TypeScript side. Branch on `error.code`. */
export const ErrorCode = {
  InvalidArgument: 'ERR_GENIUS_INVALID_ARG',
  Disposed: 'ERR_GENIUS_DISPOSED',
  InvalidHandle: 'ERR_GENIUS_INVALID_HANDLE',
  Aborted: 'ERR_GENIUS_ABORTED',
  OutOfMemory: 'ERR_GENIUS_OUT_OF_MEMORY',
  Torch: 'ERR_GENIUS_TORCH',
  Internal: 'ERR_GENIUS_INTERNAL',
  NativeLoad: 'ERR_GENIUS_NATIVE_LOAD',
  BadFile: 'ERR_GENIUS_BAD_FILE',
  NonFinite: 'ERR_GENIUS_NON_FINITE',
  // The HTTP server's (lib/serve/): each answers with its own status.
  /** 401: the server was started with an API key and the request did not bear it. */
  Unauthorized: 'ERR_GENIUS_UNAUTHORIZED',
  /** 404: no such route, model or run. */
  NotFound: 'ERR_GENIUS_NOT_FOUND',
  /** 409: the run is not in a state that allows this (resuming a running run, say). */
  Conflict: 'ERR_GENIUS_CONFLICT',
  /** 413: the request body is larger than the server's limit. */
  BodyTooLarge: 'ERR_GENIUS_BODY_TOO_LARGE',
  /** 429: the generation queue is full; retry later. */
  QueueFull: 'ERR_GENIUS_QUEUE_FULL',
  /** 503: the server is shutting down. */
  Unavailable: 'ERR_GENIUS_UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class GeniusError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GeniusError';
    this.code = code;
  }
}

/** Throws ERR_GENIUS_INVALID_ARG naming the argument and what it must be. */
export function invalidArgument(name: string, expected: string): never {
  throw new GeniusError(ErrorCode.InvalidArgument, `argument '${name}' must be ${expected}`);
}

/** Throws ERR_GENIUS_BAD_FILE naming the file (and field, where one is at fault) and what is wrong with it. */
export function badFile(file: string, problem: string, options?: ErrorOptions): never {
  throw new GeniusError(ErrorCode.BadFile, `${file}: ${problem}`, options);
}

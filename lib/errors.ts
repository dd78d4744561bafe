/**
 * Error codes thrown by genius-native, native or TypeScript side. Branch on `error.code`; the README's "Errors"
 * section lists the same codes with what each means.
 */
export const ErrorCode = {
  /** An argument, option or flag is missing, of the wrong type or out of range; the message names it. */
  InvalidArgument: 'ERR_GENIUS_INVALID_ARG',
  /** A Model, Tensor, KvCache or Trainer was used after dispose(). */
  Disposed: 'ERR_GENIUS_DISPOSED',
  /** Something that is not a genius-native handle was passed where one is expected (a Model, a Tensor). */
  InvalidHandle: 'ERR_GENIUS_INVALID_HANDLE',
  /** The call's AbortSignal fired. */
  Aborted: 'ERR_GENIUS_ABORTED',
  /** The device (or host) ran out of memory. */
  OutOfMemory: 'ERR_GENIUS_OUT_OF_MEMORY',
  /** libtorch refused an operation; the message is its own. */
  Torch: 'ERR_GENIUS_TORCH',
  /** A bug in genius-native: a state it should never reach. */
  Internal: 'ERR_GENIUS_INTERNAL',
  /** The native addon could not be loaded; the message lists every file tried and the command that fixes it. */
  NativeLoad: 'ERR_GENIUS_NATIVE_LOAD',
  /** An input file is missing, unreadable or malformed; the message names the file (and line, query or field). */
  BadFile: 'ERR_GENIUS_BAD_FILE',
  /** Training met a NaN or infinite loss or gradient (the message says where the last good checkpoint is), or decoding NaN or infinite logits. */
  NonFinite: 'ERR_GENIUS_NON_FINITE',
  /**
   * The operating system refused to make or write a file or directory (disk full, read-only file system, no
   * permission, a path that cannot be made); the message names the path.
   */
  FileSystem: 'ERR_GENIUS_FILE_SYSTEM',
  // A distributed run's (lib/dist/):
  /** A launch variable (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) is missing or wrong; the message names it. */
  DistEnv: 'ERR_GENIUS_DIST_ENV',
  /** The ranks could not meet: MASTER_PORT is taken, rank 0's store does not answer, or not every rank arrived in time. */
  DistRendezvous: 'ERR_GENIUS_DIST_RENDEZVOUS',
  /** A collective failed: a rank died or hung (the message names it), or the ranks disagree on what they run. */
  DistPeer: 'ERR_GENIUS_DIST_PEER',
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
    // A GeniusError always carries one of the codes and a message (an Error would turn a symbol into a TypeError).
    if (!Object.values<unknown>(ErrorCode).includes(code) || typeof message !== 'string') {
      throw new GeniusError(ErrorCode.InvalidArgument, 'a GeniusError takes one of the ErrorCode values and a string');
    }
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

/** Whether `error` carries a genius-native code (thrown by this library, native or TypeScript side). */
export function isGeniusError(error: unknown): error is Error & { code: ErrorCode } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_GENIUS_');
}

/**
 * Runs `write` (which makes or writes `file`), turning the operating system's refusal (ENOSPC, EROFS, EACCES, …)
 * into ERR_GENIUS_FILE_SYSTEM naming the file and what was being done; coded errors pass through.
 */
export async function writing<T>(file: string, doing: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isGeniusError(error)) throw error;
    throw new GeniusError(ErrorCode.FileSystem, `${file}: cannot ${doing} (${(error as Error).message})`, {
      cause: error,
    });
  }
}

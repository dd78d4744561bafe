/** Runs a native async call with an optional AbortSignal wired to a native CancelToken. */
import { ErrorCode, GeniusError, invalidArgument } from './errors';
import { native } from './native';
import type { NativeCancelToken } from './native-types';

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

function abortError(): GeniusError {
  return new GeniusError(ErrorCode.Aborted, 'the operation was aborted');
}

export async function cancellable<T>(
  options: CallOptions,
  call: (cancel: NativeCancelToken) => Promise<T>,
): Promise<T> {
  if (typeof options !== 'object' || options === null) invalidArgument('options', 'an object');
  const { signal, onProgress } = options;
  // By its tag, not instanceof: a signal made in another realm (a vm context, a test environment) is one too.
  if (signal !== undefined && Object.prototype.toString.call(signal) !== '[object AbortSignal]') {
    invalidArgument('options.signal', 'an AbortSignal');
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') invalidArgument('options.onProgress', 'a function');
  if (signal?.aborted) throw abortError();
  const token = new (native().CancelToken)();
  const onAbort = (): void => token.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await call(token);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

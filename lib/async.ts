/** Runs a native async call with an optional AbortSignal wired to a native CancelToken. */
import { ErrorCode, GeniusError } from './errors';
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
  const { signal } = options;
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

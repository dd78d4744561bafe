/** What the addon was built against and can use, and the one demonstration long call. */
import { cancellable, type CallOptions } from './async';
import { native } from './native';
import type { RuntimeInfo } from './native-types';
import { Tensor } from './tensor';

export type { RuntimeInfo } from './native-types';

export function runtimeInfo(): RuntimeInfo {
  return native().info();
}

/** Sets libtorch's intra-op thread count for this process. */
export function setThreads(threads: number): void {
  native().setThreads(threads);
}

/**
 * x ← tanh(x·a/√n), `steps` times from x = a, on a worker thread: the event loop stays free,
 * `onProgress(step, steps)` reports each step, and `signal` aborts between steps.
 */
export async function matmulChain(a: Tensor, steps: number, options: CallOptions = {}): Promise<Tensor> {
  const handle = Tensor.handleOf(a, 'a');
  return await cancellable(options, async (cancel) =>
    Tensor.fromNative(await native().matmulChain(handle, steps, { cancel, onProgress: options.onProgress })),
  );
}

/**
 * safetensors files as Tensors: read from a validated, memory-mapped file (a malformed one throws
 * ERR_GENIUS_BAD_FILE naming the file and tensor), written atomically (temporary file, fsync, rename).
 */
import { cancellable, type CallOptions } from '../async';
import { invalidArgument } from '../errors';
import { native } from '../native';
import type { DType, NativeTensor } from '../native-types';
import { Tensor } from '../tensor';

export interface ReadTensorsOptions extends CallOptions {
  /** Where the tensors go: 'cpu' (default), 'cuda', 'cuda:N'. */
  device?: string;
  /** Converts floating-point tensors to this dtype; integer and bool tensors keep theirs. */
  dtype?: DType;
}

/** @internal Wraps every handle of a native result in a Tensor. */
export function adoptTensors(handles: Record<string, NativeTensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(handles).map(([name, handle]) => [name, Tensor.fromNative(handle)]));
}

/** @internal The native handles of a {name: Tensor} record, for passing to native calls. */
export function tensorHandles(tensors: Record<string, Tensor>, name: string): Record<string, NativeTensor> {
  if (typeof tensors !== 'object' || tensors === null) invalidArgument(name, 'an object of Tensors');
  return Object.fromEntries(
    Object.entries(tensors).map(([key, tensor]) => [key, Tensor.handleOf(tensor, `${name}['${key}']`)]),
  );
}

/** Every tensor of a safetensors file, each a Tensor the caller owns (and disposes). */
export async function readSafetensors(path: string, options: ReadTensorsOptions = {}): Promise<Record<string, Tensor>> {
  const { device, dtype, onProgress } = options;
  return await cancellable(options, async (cancel) =>
    adoptTensors(await native().readSafetensors(path, { device, dtype, cancel, onProgress })),
  );
}

/** The `__metadata__` strings of a safetensors file (reads the header only). */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  return native().readSafetensorsMetadata(path);
}

/** Writes `tensors` (any device) and optional `metadata` strings to `path`, atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
  options: CallOptions = {},
): Promise<void> {
  const handles = tensorHandles(tensors, 'tensors');
  await cancellable(options, (cancel) =>
    native().writeSafetensors(path, handles, metadata, { cancel, onProgress: options.onProgress }),
  );
}

/**
 * A model directory's weights, checked against its config.json: loading names every missing,
 * unexpected or mis-shaped tensor at once; saving writes model.safetensors (or shards and the index)
 * and config.json the way transformers does, so that transformers and vLLM load what we write.
 */
import { cancellable, type CallOptions } from '../async';
import { native } from '../native';
import { adoptTensors, tensorHandles, type ReadTensorsOptions } from './safetensors';
import type { Tensor } from '../tensor';

/** The weights of `dir` by Hugging Face name; `dtype` defaults to the config's torch dtype. */
export async function loadModelWeights(dir: string, options: ReadTensorsOptions = {}): Promise<Record<string, Tensor>> {
  const { device, dtype, onProgress } = options;
  return await cancellable(options, async (cancel) =>
    adoptTensors(await native().loadModelWeights(dir, { device, dtype, cancel, onProgress })),
  );
}

export interface SaveWeightsOptions extends CallOptions {
  /** Largest shard in bytes; past it the checkpoint is split with an index. 0 or absent: one file. */
  shardBytes?: number;
}

/** Writes `weights` and the config of `configDir` (its config.json, re-serialised) into `dir`. */
export async function saveModelWeights(
  dir: string,
  weights: Record<string, Tensor>,
  configDir: string,
  options: SaveWeightsOptions = {},
): Promise<void> {
  const handles = tensorHandles(weights, 'weights');
  await cancellable(options, (cancel) =>
    native().saveModelWeights(dir, handles, configDir, {
      cancel,
      onProgress: options.onProgress,
      shardBytes: options.shardBytes,
    }),
  );
}

/** A checkpoint's weights (its model.safetensors), by name, as float32 values. */
import path from 'node:path';
import { readSafetensors } from '../../lib/testing';

export async function readWeights(checkpoint: string): Promise<Map<string, Float32Array>> {
  const tensors = await readSafetensors(path.join(checkpoint, 'model.safetensors'));
  const values = new Map(Object.entries(tensors).map(([name, tensor]) => [name, tensor.toArray() as Float32Array]));
  Object.values(tensors).forEach((tensor) => tensor.dispose());
  return values;
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, runtimeInfo, type TrainingPair } from '../../lib';
import { Trainer } from '../../lib/testing';
import { runReference } from '../helpers/python';

const { cudaAvailable } = runtimeInfo();
const describeGpu = cudaAvailable ? describe : describe.skip;
if (!cudaAvailable) console.warn('test/gpu skipped: no CUDA device (see `genius-native info`)');

function pairs(count: number): TrainingPair[] {
  return Array.from({ length: count }, (_, i) => {
    const prompt = [1 + i, 17, 33 + i];
    return {
      chosen: { tokens: Int32Array.from([...prompt, 40 + i, 41, 42 + 2 * i]), promptLength: 3 },
      rejected: { tokens: Int32Array.from([...prompt, 90 - i, 91]), promptLength: 3 },
      chosenAdvantage: 0.1 * i,
      rejectedAdvantage: -0.1 * i,
    };
  });
}

describeGpu('training on CUDA', () => {
  let dir: string;
  let models: Record<string, string>;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-trainer-gpu-'));
    models = runReference<Record<string, string>>('make_tiny_models.py', { out: dir });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // The same step on the CPU in float32 and on CUDA: float32 exactly as on the CPU up to kernel rounding,
  // bfloat16 autocast (float32 masters) and a bfloat16 model (float32 masters) within bfloat16's precision.
  it.each([
    ['float32', 'float32', false, 1e-4],
    ['float32 + bf16 autocast', 'float32', true, 3e-2],
    ['bfloat16 weights', 'bfloat16', false, 3e-2],
  ] as const)('%s gives the CPU float32 step', async (_label, dtype, autocast, tolerance) => {
    const data = pairs(4);
    const results = [];
    for (const device of ['cpu', 'cuda']) {
      using model = await Model.load(models.llama, { device, dtype: device === 'cpu' ? 'float32' : dtype });
      using trainer = await Trainer.create(model, { loss: 'aco', microBatch: 2, autocast, checkpointLayers: true });
      const reference = await trainer.referenceLogprobs(data);
      const first = await trainer.preferenceStep(data, reference, 1e-3);
      const second = await trainer.preferenceStep(data, reference, 1e-3);
      results.push({ first, second, logits: (await model.logits([1, 17, 33, 40])).toArray() as Float32Array });
    }
    const [cpu, cuda] = results;
    expect(Number.isFinite(cuda.second.loss)).toBe(true);
    expect(Math.abs(cuda.first.loss - cpu.first.loss)).toBeLessThan(tolerance);
    expect(Math.abs(cuda.second.loss - cpu.second.loss)).toBeLessThan(tolerance);
    expect(cuda.second.loss).toBeLessThan(cuda.first.loss);
    const worst = Math.max(...cuda.logits.map((value, i) => Math.abs(value - cpu.logits[i])));
    expect(worst).toBeLessThan(tolerance * 10);
  });
});

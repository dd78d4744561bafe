/**
 * The embedded model saved in float64 with its tokenizer, for tests whose ranks add gradients in another order than one
 * process's accumulation. A model computes in the dtype its weights are stored in, and float64 is the most precise the
 * engine runs: where the reference equals the policy to the last bit (the first step), gradients cancel to near Adam's
 * ε, and float32's rounding of another summation order would become a share of a whole step.
 */
import { EMBEDDED_MODEL_DIR, Model } from '../../lib';
import { copyModelFiles } from '../../lib/train/checkpoint';

export async function saveEmbeddedInFloat64(modelDir: string): Promise<void> {
  using model = await Model.load(EMBEDDED_MODEL_DIR, { dtype: 'float64' });
  await model.save(modelDir, { dtype: 'float64' });
  await copyModelFiles(EMBEDDED_MODEL_DIR, modelDir);
}

/** A model directory's config.json (+ generation_config.json) for the Llama, Qwen2 and Mistral families. */
import { native } from '../native';
import type { NativeModelConfig } from '../native-types';

export type ModelConfig = NativeModelConfig;

/**
 * Parses `dir`/config.json the way the native transformer will use it. Unsupported model types,
 * missing fields and nonsense values throw ERR_GENIUS_BAD_FILE naming the file and field.
 */
export function readModelConfig(dir: string): ModelConfig {
  return native().readModelConfig(dir);
}

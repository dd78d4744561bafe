/**
 * Supervised fine-tuning examples, JSON Lines: each line {"prompt": "<the prompt as the model sees it>",
 * "response": "..."}, or a preference pair (lib/data/pairs.ts), whose chosen response is the target.
 */
import { readJsonLineRecords, recordObject, stringField, type JsonLineRecords, type ReadRecordsOptions } from './jsonl';
import { parsePair } from './pairs';

export interface SftExample {
  prompt: string;
  response: string;
}

function parseExample(value: unknown): SftExample {
  const record = recordObject(value);
  if (record.response === undefined && record.chosen !== undefined) {
    const pair = parsePair(record);
    return { prompt: pair.prompt, response: pair.chosen[0].content };
  }
  return { prompt: stringField(record, 'prompt'), response: stringField(record, 'response') };
}

export async function readSftExamples(
  file: string,
  options: ReadRecordsOptions = {},
): Promise<JsonLineRecords<SftExample>> {
  return await readJsonLineRecords(file, parseExample, options);
}

/**
 * Preference pairs in the reference's JSON Lines format (the Genius repository's foresight sampling writes
 * them, its open-instruct ACO training reads them), one pair per line, field for field:
 *
 *   {"prompt": "<the prompt as the model sees it>",
 *    "chosen": [{"role": "assistant", "content": "..."}], "rejected": [{"role": "assistant", "content": "..."}],
 *    "chosen_weights": A_w, "rejected_weights": A_l, "chosen_average_weights": the mean A of the step}
 *
 * The weights are the advantages ACO calibrates with; the other losses do not read them.
 */
import {
  finiteField,
  readJsonLineRecords,
  recordObject,
  RecordError,
  stringField,
  type JsonLineRecords,
} from './jsonl';

export interface ChatTurn {
  role: string;
  content: string;
}

export interface PreferencePair {
  prompt: string;
  chosen: ChatTurn[];
  rejected: ChatTurn[];
  chosen_weights?: number;
  rejected_weights?: number;
  chosen_average_weights?: number;
}

export interface ReadPairsOptions {
  /** Skip malformed lines (counted in `skipped`) instead of failing. */
  skipBad?: boolean;
  /** Every pair must carry chosen_weights and rejected_weights (the ACO loss reads them). */
  requireAdvantages?: boolean;
}

/** `chosen` or `rejected`: one assistant turn with non-empty content. */
function assistantTurn(record: Record<string, unknown>, key: string): ChatTurn[] {
  const turns = record[key];
  if (!Array.isArray(turns) || turns.length !== 1) {
    throw new RecordError(`'${key}' must be a list of one {"role": "assistant", "content": ...} turn`);
  }
  const turn = recordObject(turns[0], `'${key}[0]'`);
  if (turn.role !== 'assistant') throw new RecordError(`'${key}[0].role' must be "assistant"`);
  if (typeof turn.content !== 'string' || turn.content === '') {
    throw new RecordError(`'${key}[0].content' must be a non-empty string`);
  }
  return [{ role: 'assistant', content: turn.content }];
}

function advantage(record: Record<string, unknown>, key: string, required: boolean): number | undefined {
  if (record[key] === undefined || record[key] === null) {
    if (required) throw new RecordError(`'${key}' is missing: the ACO loss needs the advantages of both responses`);
    return undefined;
  }
  return finiteField(record, key, 'advantages');
}

/** One pair from a parsed line; throws RecordError (from lib/data/jsonl) naming what is wrong. */
export function parsePair(value: unknown, requireAdvantages = false): PreferencePair {
  const record = recordObject(value);
  const pair: PreferencePair = {
    prompt: stringField(record, 'prompt'),
    chosen: assistantTurn(record, 'chosen'),
    rejected: assistantTurn(record, 'rejected'),
  };
  const chosenWeight = advantage(record, 'chosen_weights', requireAdvantages);
  const rejectedWeight = advantage(record, 'rejected_weights', requireAdvantages);
  const averageWeight = advantage(record, 'chosen_average_weights', false);
  if (chosenWeight !== undefined) pair.chosen_weights = chosenWeight;
  if (rejectedWeight !== undefined) pair.rejected_weights = rejectedWeight;
  if (averageWeight !== undefined) pair.chosen_average_weights = averageWeight;
  return pair;
}

/**
 * The pairs of `file`. Malformed lines (bad JSON, missing or mistyped fields, NaN or infinite advantages) throw
 * ERR_GENIUS_BAD_FILE naming their line numbers, or with `skipBad` are left out and listed in `skipped`.
 */
export async function readPairs(
  file: string,
  options: ReadPairsOptions = {},
): Promise<JsonLineRecords<PreferencePair>> {
  return await readJsonLineRecords(file, (value) => parsePair(value, options.requireAdvantages), options);
}

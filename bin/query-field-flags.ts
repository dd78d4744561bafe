/**
 * The flags that name the fields of query and evaluation files (--query-field, --answer-field), with the defaults
 * of lib/data/queries.ts.
 */
import { DEFAULT_QUERY_FIELDS } from '../lib';

/** The flag naming the field of `file` (a flag, such as --queries) that holds the query. */
export function queryFieldFlag(file: string) {
  return {
    type: 'string',
    default: DEFAULT_QUERY_FIELDS.queryField,
    describe:
      `field of ${file} holding each query: text (GSM8K's question, Magpie's instruction), or a conversation ` +
      'such as messages, whose user turn is the query',
  } as const;
}

/** The flag naming the field of `file` that holds the ground truth. */
export function answerFieldFlag(file: string) {
  return {
    type: 'string',
    default: DEFAULT_QUERY_FIELDS.answerField,
    describe:
      `field of ${file} holding the ground truth: a solution marking its answer (\\boxed{…}, #### 42), the bare ` +
      'answer, a number, or a conversation (its last assistant turn)',
  } as const;
}

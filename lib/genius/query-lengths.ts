/**
 * Queries too long for the model: a query whose first step prompt fills the model's positions leaves it nothing
 * to generate. They are found before any work (exploration or evaluation) and named by file and id, then refused
 * or, with `skipLong`, left out and counted.
 */
import { badFile } from '../errors';
import type { ChatTemplateArgs } from '../text/chat-template-args';
import { encodeStepPrompt } from '../text/steps';
import type { Tokenizer } from '../text/tokenizer';
import type { Query, QueryId } from '../data/queries';

export interface FittingQueries<T extends Query> {
  /** The queries whose prompts leave the model positions to generate in, in file order. */
  queries: T[];
  /** Ids of the queries left out (with skipLong). */
  skipped: QueryId[];
}

/**
 * The queries of `file` that fit a model of `maxPositions` positions, as the chat template renders them with
 * `chatTemplate`; an over-long one throws unless `skipLong`.
 */
export function fittingQueries<T extends Query>(
  file: string,
  queries: readonly T[],
  tokenizer: Tokenizer,
  maxPositions: number,
  skipLong = false,
  chatTemplate: ChatTemplateArgs = {},
): FittingQueries<T> {
  const fitting: T[] = [];
  const skipped: QueryId[] = [];
  for (const query of queries) {
    const tokens = encodeStepPrompt(tokenizer, query.instruction, chatTemplate).length;
    if (tokens < maxPositions) {
      fitting.push(query);
    } else if (skipLong) {
      skipped.push(query.id);
    } else {
      badFile(
        file,
        `query ${JSON.stringify(query.id)} is ${tokens} tokens as a prompt, which leaves nothing to generate within ` +
          `the model's ${maxPositions} positions; shorten it, or leave such queries out with --skip-long`,
      );
    }
  }
  if (fitting.length === 0) badFile(file, `every query is too long for the model's ${maxPositions} positions`);
  return { queries: fitting, skipped };
}

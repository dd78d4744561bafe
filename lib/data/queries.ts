/**
 * Query files in the reference's format: a JSON list, or JSON lines, of objects with `instruction` (the query).
 * A `response`, if present, is ground truth: only evaluation may read it, so readQueries drops it right here and
 * exploration never holds it; readLabeledQueries is evaluation's reader.
 */
import { badFile } from '../errors';
import { parseJsonLines, readText } from './jsonl';

/** A query's `id` field if it has one, else its position in the file (the reference numbers queries from 0). */
export type QueryId = string | number;

export interface Query {
  id: QueryId;
  instruction: string;
}

export interface LabeledQuery extends Query {
  /** The ground-truth response (for math sets, a worked solution ending in its answer). */
  response: string;
}

type Item = Record<string, unknown>;

/** The objects of a query file, with their ids checked. */
async function readItems(file: string): Promise<{ id: QueryId; item: Item }[]> {
  const text = await readText(file);
  let values: unknown[];
  if (text.trimStart().startsWith('[')) {
    try {
      values = JSON.parse(text) as unknown[];
    } catch (error) {
      return badFile(file, `malformed JSON list (${(error as Error).message})`, { cause: error });
    }
  } else {
    values = parseJsonLines(file, text);
  }
  // Nothing to explore or evaluate is a mistake (a wrong or truncated file), never a run that does nothing.
  if (values.length === 0) badFile(file, 'holds no query');
  const seen = new Set<string>();
  return values.map((value, index) => {
    const where = `query ${index}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) badFile(file, `${where} is not an object`);
    const item = value as Item;
    if (typeof item.instruction !== 'string' || item.instruction === '') {
      badFile(file, `${where} has no 'instruction' string`);
    }
    const id = item.id ?? index;
    if (typeof id !== 'string' && !Number.isSafeInteger(id))
      badFile(file, `${where} has an 'id' that is neither a string nor an integer`);
    const key = JSON.stringify(id);
    if (seen.has(key)) badFile(file, `${where} repeats the id ${key}`);
    seen.add(key);
    return { id: id as QueryId, item };
  });
}

/** The queries of `file`, without ground truth. */
export async function readQueries(file: string): Promise<Query[]> {
  return (await readItems(file)).map(({ id, item }) => ({ id, instruction: item.instruction as string }));
}

/** The queries of `file` with their ground-truth `response` (a string, or a number as some sets store answers). */
export async function readLabeledQueries(file: string): Promise<LabeledQuery[]> {
  return (await readItems(file)).map(({ id, item }, index) => {
    const response = item.response;
    if (typeof response !== 'string' && typeof response !== 'number') {
      badFile(file, `query ${index} has no 'response' (ground truth) string or number`);
    }
    return { id, instruction: item.instruction as string, response: String(response) };
  });
}

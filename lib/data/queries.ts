/**
 * Query files: the rows of a dataset file (lib/data/dataset-file.ts: Parquet, a JSON list or JSON lines) with the
 * query in one field — the reference's `instruction` by default, GSM8K's `question`, or a conversation such as
 * `messages` — and, in an evaluation set, the ground truth in another (`response` by default, GSM8K's `answer`,
 * MATH's `solution`). The ground truth is read by evaluation only: readQueries drops it (a Parquet file's column
 * is not even decoded), so exploration never holds it; readLabeledQueries is evaluation's reader.
 */
import { badFile, invalidArgument } from '../errors';
import { contentText } from '../text/chat-messages';
import { readDataset, type DatasetRow } from './dataset-file';

/** A query's `id` field if it has one, else its position in the file (the reference numbers queries from 0). */
export type QueryId = string | number;

export interface Query {
  id: QueryId;
  instruction: string;
}

export interface LabeledQuery extends Query {
  /** The ground-truth response (for math sets, a worked solution ending in its answer, or the bare answer). */
  response: string;
}

/** Which fields of a query file's rows hold what. */
export interface QueryFields {
  /**
   * The query: text, or a conversation — a list of turns, `{role, content}` or ShareGPT's `{from, value}` — whose
   * last user turn is the query. A query is one user turn (records and pairs hold it as text, as the reference's
   * do), so a conversation with turns before that one (a system prompt, earlier exchanges) is refused. Default
   * 'instruction', the reference's.
   */
  queryField: string;
  /**
   * The ground truth of an evaluation set: a worked solution whose final answer is extracted (`\boxed{…}`,
   * GSM8K's `#### 42`, "The answer is …"), the bare answer, a number, or a conversation, whose last assistant turn
   * after the query is the solution. Default 'response'.
   */
  answerField: string;
}

export const DEFAULT_QUERY_FIELDS: Readonly<QueryFields> = Object.freeze({
  queryField: 'instruction',
  answerField: 'response',
});

/** ShareGPT's speakers under the roles of chat templates. */
const SHAREGPT_ROLES: Record<string, string> = { human: 'user', gpt: 'assistant' };

interface Turn {
  role: string;
  content: string;
}

/** `value` as a conversation's turns; `where` names the row and field, for the error. */
function conversation(file: string, where: string, value: unknown[]): Turn[] {
  return value.map((turn, index) => {
    const { role, content, from, value: said } = (turn ?? {}) as Record<string, unknown>;
    const speaker = typeof role === 'string' ? role : typeof from === 'string' ? (SHAREGPT_ROLES[from] ?? from) : '';
    const text = typeof role === 'string' ? contentText(content) : said;
    if (speaker === '' || typeof text !== 'string') {
      badFile(
        file,
        `${where} turn ${index} is not a turn of text: {role, content} (a string or a list of text parts) or ` +
          '{from, value} strings',
      );
    }
    return { role: speaker, content: text };
  });
}

/** The index of the last user turn of `turns`. */
function lastUserTurn(file: string, where: string, turns: Turn[]): number {
  const at = turns.map((turn) => turn.role).lastIndexOf('user');
  if (at < 0) badFile(file, `${where} has no user turn to take the query from`);
  return at;
}

/** The query text of a row's query field: text, or a conversation's last user turn, alone. */
function queryText(file: string, where: string, value: unknown): string {
  const text = Array.isArray(value) ? lastUserText(file, where, value) : value;
  if (typeof text !== 'string' || text === '') badFile(file, `${where} is not a non-empty string or a conversation`);
  return text;
}

/** The content of a conversation's last user turn, which must be its first (a query has no earlier turns). */
function lastUserText(file: string, where: string, value: unknown[]): string {
  const turns = conversation(file, where, value);
  const at = lastUserTurn(file, where, turns);
  if (at > 0) {
    badFile(
      file,
      `${where} has ${at} turn${at === 1 ? '' : 's'} before its last user turn (${turns[0].role} first); a query is ` +
        'one user turn (records and pairs hold it as text, as the reference’s do), so a conversation’s earlier ' +
        'turns cannot be carried: give queries without them',
    );
  }
  return turns[at].content;
}

/** The ground truth of a row's answer field: text, a number, or a conversation's last assistant turn after the query. */
function truthText(file: string, where: string, value: unknown): string {
  if (Array.isArray(value)) {
    const turns = conversation(file, where, value);
    const after = turns.slice(lastUserTurn(file, where, turns) + 1);
    const answer = after.filter((turn) => turn.role === 'assistant').at(-1);
    if (answer === undefined) badFile(file, `${where} has no assistant turn after its last user turn`);
    return answer.content;
  }
  if (typeof value !== 'string' && typeof value !== 'number') {
    badFile(file, `${where} (the ground truth) is not a string, a number or a conversation`);
  }
  return String(value);
}

/** `fields` over the defaults, each checked. */
export function resolveQueryFields(fields: Partial<QueryFields> = {}): QueryFields {
  if (typeof fields !== 'object' || fields === null) invalidArgument('fields', 'an object');
  const resolved = { ...DEFAULT_QUERY_FIELDS, ...fields };
  for (const name of ['queryField', 'answerField'] as const) {
    if (typeof resolved[name] !== 'string' || resolved[name] === '') invalidArgument(name, 'a field name');
  }
  return resolved;
}

/**
 * The rows of `file` (only the columns `wanted`, and `id`), each `wanted` field checked to be one the file has,
 * and each row's id.
 */
async function readRows(
  file: string,
  wanted: { field: string; holds: string }[],
): Promise<{ id: QueryId; row: DatasetRow }[]> {
  const { fields, rows } = await readDataset(file, [...wanted.map(({ field }) => field), 'id']);
  // Nothing to explore or evaluate is a mistake (a wrong or truncated file), never a run that does nothing.
  if (rows.length === 0) badFile(file, 'holds no query');
  for (const { field, holds } of wanted) {
    if (!fields.includes(field)) {
      badFile(file, `has no field '${field}' to read ${holds} from; its fields: ${fields.join(', ')}`);
    }
  }
  const seen = new Set<string>();
  return rows.map((row, index) => {
    const where = `query ${index}`;
    const id = row.id ?? index;
    if (typeof id !== 'string' && !Number.isSafeInteger(id)) {
      badFile(file, `${where} has an 'id' that is neither a string nor an integer`);
    }
    const key = JSON.stringify(id);
    if (seen.has(key)) badFile(file, `${where} repeats the id ${key}`);
    seen.add(key);
    return { id: id as QueryId, row };
  });
}

/** The queries of `file`, without ground truth (its field is not even read). */
export async function readQueries(
  file: string,
  fields: Partial<Pick<QueryFields, 'queryField'>> = {},
): Promise<Query[]> {
  const { queryField } = resolveQueryFields(fields);
  const rows = await readRows(file, [{ field: queryField, holds: 'the queries' }]);
  return rows.map(({ id, row }, index) => ({
    id,
    instruction: queryText(file, `query ${index}'s '${queryField}'`, row[queryField]),
  }));
}

/** The queries of `file` with their ground truth. */
export async function readLabeledQueries(file: string, fields: Partial<QueryFields> = {}): Promise<LabeledQuery[]> {
  const { queryField, answerField } = resolveQueryFields(fields);
  const rows = await readRows(file, [
    { field: queryField, holds: 'the queries' },
    { field: answerField, holds: 'the ground truth' },
  ]);
  return rows.map(({ id, row }, index) => ({
    id,
    instruction: queryText(file, `query ${index}'s '${queryField}'`, row[queryField]),
    response: truthText(file, `query ${index}'s '${answerField}'`, row[answerField]),
  }));
}

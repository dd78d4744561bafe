/**
 * JSON Lines files (one JSON value per line): reading whole files, reading record files with every malformed
 * line reported by number (or skipped and counted), writing, and appending to a file that a crash may have cut
 * short.
 */
import fs from 'node:fs/promises';
import { badFile, ErrorCode, GeniusError, invalidArgument, writing } from '../errors';
import { writeFileAtomic } from './atomic-file';

/** The text of `file`; ERR_GENIUS_BAD_FILE when it cannot be read. */
export async function readText(file: string): Promise<string> {
  if (typeof file !== 'string' || file === '') invalidArgument('file', 'a file path');
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    return badFile(file, `cannot be read (${(error as Error).message})`, { cause: error });
  }
}

/** The values of the non-blank lines of `text` (the contents of `file`); a malformed line throws, naming it. */
export function parseJsonLines(file: string, text: string): unknown[] {
  const values: unknown[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      values.push(JSON.parse(line));
    } catch (error) {
      badFile(file, `line ${index + 1}: malformed JSON (${(error as Error).message})`, { cause: error });
    }
  });
  return values;
}

export async function readJsonLines(file: string): Promise<unknown[]> {
  return parseJsonLines(file, await readText(file));
}

/** Writes `values` as JSONL atomically: to a temporary file beside `file`, then renamed over it. */
export async function writeJsonLines(file: string, values: readonly unknown[]): Promise<void> {
  await writeFileAtomic(file, values.map((value) => JSON.stringify(value) + '\n').join(''));
}

/**
 * The values of a file that JsonLinesAppender writes: [] when it does not exist yet. A last line without its
 * newline is a write a crash cut short: it is removed from the file, so that appending continues cleanly.
 */
export async function completeLines(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    return badFile(file, `cannot be read (${(error as Error).message})`, { cause: error });
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.length < text.length) await fs.truncate(file, Buffer.byteLength(complete));
  return parseJsonLines(file, complete);
}

/**
 * Appends one JSON value per line to a file, each line in a single write, flushed to disk (fsync) before append()
 * resolves: a crash loses at most the line being written, which completeLines then cuts off.
 */
export class JsonLinesAppender implements AsyncDisposable {
  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly file: string,
  ) {}

  static async open(file: string): Promise<JsonLinesAppender> {
    return new JsonLinesAppender(await writing(file, 'open for appending', () => fs.open(file, 'a')), file);
  }

  /** Appends `value`; a full disk fails with ERR_GENIUS_FILE_SYSTEM, leaving a cut-off line that resuming removes. */
  async append(value: unknown): Promise<void> {
    await writing(this.file, 'append a line', async () => {
      await this.handle.write(JSON.stringify(value) + '\n');
      await this.handle.sync();
    });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A line that could not be read as a record: its 1-based number and what is wrong with it. */
export interface BadLine {
  line: number;
  problem: string;
}

export interface ReadRecordsOptions {
  /** Skip malformed lines (they are returned in `skipped`) instead of failing. Default false. */
  skipBad?: boolean;
}

export interface JsonLineRecords<T> {
  /** The records in file order, each with the line it came from. */
  records: (T & { line: number })[];
  skipped: BadLine[];
}

/**
 * Thrown by a record parser: the line is malformed for `message`. Coded ERR_GENIUS_BAD_FILE, since a parser
 * called on its own (parsePair) throws it to the caller.
 */
export class RecordError extends GeniusError {
  constructor(message: string) {
    super(ErrorCode.BadFile, message);
    this.name = 'RecordError';
  }
}

/** Bad lines named in an error, beyond which they are counted. */
const LISTED_BAD_LINES = 10;

/**
 * Python's json writes NaN and ±Infinity as bare words, which JSON.parse refuses. Such a line is read again
 * with those words as marker strings, so that the record parser can say which field is not finite.
 */
const NON_FINITE = /(?<=[:,[]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g;
const NON_FINITE_MARKER = '\u0000non-finite:';

function parseRecordLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    try {
      return JSON.parse(text.replace(NON_FINITE, (word) => JSON.stringify(NON_FINITE_MARKER + word)));
    } catch {
      throw new RecordError(`malformed JSON (${(error as Error).message})`);
    }
  }
}

/**
 * Reads `file` as JSON Lines of records: blank lines are ignored, every other line goes through `parse`, which
 * returns the record or throws RecordError. Malformed lines throw ERR_GENIUS_BAD_FILE listing their numbers,
 * unless `skipBad`; a file with no record at all throws ERR_GENIUS_BAD_FILE either way.
 */
export async function readJsonLineRecords<T>(
  file: string,
  parse: (value: unknown) => T,
  options: ReadRecordsOptions = {},
): Promise<JsonLineRecords<T>> {
  const text = await readText(file);
  const records: (T & { line: number })[] = [];
  const skipped: BadLine[] = [];
  text.split(/\r?\n/).forEach((content, index) => {
    if (content.trim() === '') return;
    try {
      records.push({ ...parse(parseRecordLine(content)), line: index + 1 });
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      skipped.push({ line: index + 1, problem: error.message });
    }
  });
  if (skipped.length > 0 && !options.skipBad) {
    const listed = skipped.slice(0, LISTED_BAD_LINES).map(({ line, problem }) => `line ${line}: ${problem}`);
    const more = skipped.length > LISTED_BAD_LINES ? `; and ${skipped.length - LISTED_BAD_LINES} more` : '';
    badFile(
      file,
      `${skipped.length} malformed line${skipped.length === 1 ? '' : 's'} (${listed.join('; ')}${more}); ` +
        'fix them or skip them with --skip-bad',
    );
  }
  if (records.length === 0) badFile(file, skipped.length > 0 ? 'holds no well-formed record' : 'holds no record');
  return { records, skipped };
}

/** The fields of a record object; throws RecordError for anything else. */
export function recordObject(value: unknown, what = 'the line'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecordError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** record[key] as a non-empty string. */
export function stringField(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  if (typeof value !== 'string') throw new RecordError(`'${key}' must be a string`);
  if (value === '') throw new RecordError(`'${key}' is empty`);
  return value;
}

/** record[key] as a finite number; `what` says what it is, for the error. */
export function finiteField(record: Record<string, unknown>, key: string, what: string): number {
  const value = record[key];
  if (typeof value === 'string' && value.startsWith(NON_FINITE_MARKER)) {
    throw new RecordError(`'${key}' is ${value.slice(NON_FINITE_MARKER.length)}: ${what} must be finite numbers`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RecordError(`'${key}' must be a finite number (${what}), got ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return value;
}

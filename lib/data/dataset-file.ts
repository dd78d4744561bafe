/**
 * Dataset files as the Hugging Face hub ships them: the rows of a `.parquet` file (read by hyparquet, with
 * hyparquet-compressors for the codecs other than snappy: zstd, gzip, brotli), or of a JSON file — a list of
 * objects, an object holding that list under "data" (the form `datasets` reads with field="data"), or JSON lines
 * (what `datasets`' to_json writes, whatever the file's extension). Rows are plain values: Parquet's 64-bit
 * integers become numbers (their decimal text beyond 2^53, where a number would round).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parquetMetadata, parquetReadObjects, parquetSchema, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { badFile, invalidArgument } from '../errors';
import { parseJsonLines, readText } from './jsonl';

export type DatasetRow = Record<string, unknown>;

export interface Dataset {
  /** The fields of the rows: a Parquet file's columns; in JSON, every key of any row, in order of first use. */
  fields: string[];
  rows: DatasetRow[];
}

/**
 * The rows of `file`, a Parquet file by its `.parquet` extension, else JSON. `columns`, when given, limits a
 * Parquet file's rows to those of its columns (the others are not decoded); JSON rows keep every field.
 */
export async function readDataset(file: string, columns?: readonly string[]): Promise<Dataset> {
  if (typeof file !== 'string' || file === '') invalidArgument('file', 'a file path');
  if (columns !== undefined && (!Array.isArray(columns) || columns.some((column) => typeof column !== 'string'))) {
    invalidArgument('columns', 'an array of field names');
  }
  return path.extname(file).toLowerCase() === '.parquet' ? readParquet(file, columns) : readJson(file);
}

async function readParquet(file: string, columns: readonly string[] | undefined): Promise<Dataset> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    return badFile(file, `cannot be read (${(error as Error).message})`, { cause: error });
  }
  // hyparquet reads from an ArrayBuffer; a Buffer may be a view into a larger shared one.
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const unreadable = (error: unknown): never =>
    badFile(file, `is not a Parquet file that can be read (${(error as Error).message})`, { cause: error });
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(buffer);
  } catch (error) {
    return unreadable(error);
  }
  const fields = parquetSchema(metadata).children.map((child) => child.element.name);
  const wanted = columns === undefined ? fields : fields.filter((field) => columns.includes(field));
  try {
    const rows = await parquetReadObjects({
      file: buffer,
      metadata,
      columns: wanted,
      compressors,
      rowFormat: 'object',
    });
    return { fields, rows: rows.map((row) => plain(row) as DatasetRow) };
  } catch (error) {
    return unreadable(error);
  }
}

/** A decoded Parquet value as JSON would hold it: 64-bit integers as numbers, exactly. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER ? Number(value) : String(value);
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
  }
  return value;
}

async function readJson(file: string): Promise<Dataset> {
  const text = await readText(file);
  const values = jsonRows(file, text);
  const fields = new Set<string>();
  const rows = values.map((value, index) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      badFile(file, `row ${index} is not an object`);
    for (const key of Object.keys(value)) fields.add(key);
    return value as DatasetRow;
  });
  return { fields: [...fields], rows };
}

/** The row values of a JSON file's text: a list, a {"data": list} object, or JSON lines. */
function jsonRows(file: string, text: string): unknown[] {
  if (text.trimStart().startsWith('[')) {
    try {
      return JSON.parse(text) as unknown[];
    } catch (error) {
      return badFile(file, `malformed JSON list (${(error as Error).message})`, { cause: error });
    }
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // More than one value: JSON lines, each line's mistakes reported by its number.
    return parseJsonLines(file, text);
  }
  const data = (document as { data?: unknown } | null)?.data;
  // A file of one line is one row, unless that object holds the rows in its "data" list.
  return Array.isArray(data) ? data : parseJsonLines(file, text);
}

/**
 * Errors that leave the library carry an ERR_GENIUS_* code and name their argument or file, where a raw fs error or
 * a TypeError used to escape; and the README lists every code with its meaning.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, Model, Tensor, Tokenizer, parsePair } from '../lib';
import { JsonLinesAppender, completeLines } from '../lib/data/jsonl';
import { fittingQueries } from '../lib/genius/query-lengths';
import { checkOutputDirectory, makeDirectory } from '../lib/data/output-directory';
import { unwritableDirectory } from './helpers/unwritable';

const modelDir = path.join(__dirname, '..', 'models', 'default');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-errors-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const coded = (code: string, message: RegExp): object =>
  expect.objectContaining({ code, message: expect.stringMatching(message) });

describe('Model#save', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(modelDir);
  });
  afterAll(() => model.dispose());

  it("refuses '' and a path that is a file, naming the argument", async () => {
    await expect(model.save('')).rejects.toEqual(coded(ErrorCode.InvalidArgument, /'dir' must be a directory path/));
    await expect(model.save('/dev/null')).rejects.toEqual(coded(ErrorCode.InvalidArgument, /\/dev\/null is a file/));
  });

  it('refuses a directory that cannot be written before writing anything', async () => {
    await expect(model.save(path.join(unwritableDirectory(), 'model'))).rejects.toEqual(
      coded(ErrorCode.FileSystem, /'dir' must be a directory that can be written/),
    );
  });
});

test('a signal that is not an AbortSignal is named', async () => {
  const signal = { aborted: false } as unknown as AbortSignal;
  await expect(Model.load(modelDir, { signal })).rejects.toEqual(
    coded(ErrorCode.InvalidArgument, /'options\.signal' must be an AbortSignal/),
  );
});

test('tensor data over a SharedArrayBuffer is refused with a code', () => {
  expect(() => Tensor.from(new Float32Array(new SharedArrayBuffer(8)), [2])).toThrow(
    expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(/SharedArrayBuffer/) }),
  );
});

test('parsePair throws ERR_GENIUS_BAD_FILE saying what is wrong', () => {
  expect(() => parsePair({ prompt: 'p' })).toThrow(
    expect.objectContaining({ code: ErrorCode.BadFile, message: expect.stringMatching(/'chosen' must be a list/) }),
  );
});

test('a full disk fails an append with ERR_GENIUS_FILE_SYSTEM naming the file', async () => {
  await using appender = await JsonLinesAppender.open('/dev/full');
  await expect(appender.append({ id: 1 })).rejects.toEqual(
    coded(ErrorCode.FileSystem, /\/dev\/full: cannot append a line \(ENOSPC/),
  );
});

test('a cut-off last line (a write a full disk stopped) is removed on reading back', async () => {
  const file = path.join(dir, 'records.jsonl');
  fs.writeFileSync(file, '{"id":1}\n{"id":');
  expect(await completeLines(file)).toEqual([{ id: 1 }]);
  expect(fs.readFileSync(file, 'utf8')).toBe('{"id":1}\n');
});

describe('output directories', () => {
  it('makes nested directories, and refuses /proc without looping', async () => {
    const nested = path.join(dir, 'a', 'b', 'c');
    await makeDirectory(nested);
    expect(fs.statSync(nested).isDirectory()).toBe(true);
    await expect(checkOutputDirectory('/proc/genius-native-test/run', 'out')).rejects.toEqual(
      coded(ErrorCode.FileSystem, /'out' must be a directory that can be written/),
    );
    await expect(makeDirectory('/proc/genius-native-test/run')).rejects.toEqual(
      coded(ErrorCode.FileSystem, /cannot make the directory/),
    );
  });

  it('names a file in the way', async () => {
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, '');
    await expect(checkOutputDirectory(path.join(file, 'run'), 'out')).rejects.toEqual(
      coded(ErrorCode.InvalidArgument, /'out' must be a directory: .*file is a file \(in /),
    );
  });
});

test('fittingQueries refuses an over-long query by file and id, or with skipLong leaves it out', async () => {
  const tokenizer = await Tokenizer.fromDir(modelDir);
  const queries = [
    { id: 'a', instruction: 'What is 2 + 2?' },
    { id: 'b', instruction: 'x '.repeat(400) },
  ];
  expect(() => fittingQueries('q.jsonl', queries, tokenizer, 256)).toThrow(
    expect.objectContaining({
      code: ErrorCode.BadFile,
      message: expect.stringMatching(/^q\.jsonl: query "b" is \d+ tokens/),
    }),
  );
  expect(fittingQueries('q.jsonl', queries, tokenizer, 256, true)).toEqual({ queries: [queries[0]], skipped: ['b'] });
});

test("the README's section on errors lists every code with its meaning", () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  for (const code of Object.values(ErrorCode)) expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| \\S`));
});

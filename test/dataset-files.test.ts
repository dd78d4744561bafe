/**
 * Dataset files as the Hugging Face hub ships them (lib/data/dataset-file.ts, lib/data/queries.ts): Parquet written
 * by pyarrow under every codec the hub's files use, and JSON in its three forms, read row for row as pyarrow reads
 * them; queries and ground truths from named fields (text, ShareGPT and chat conversations); ground-truth answers
 * as GSM8K's and MATH's graders extract them; and the coded errors of a field the file lacks or a row it cannot
 * carry.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, readDataset, readLabeledQueries, readQueries, truthAnswer } from '../lib';
import { hubFiles, validationProblems, type HubSchema as Schema } from './helpers/hub-datasets';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-dataset-files-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const problems = validationProblems(24);
const reference = hubFiles(dir, problems);

/** The files of `schema`, by their form (snappy, zstd, ..., list, data, lines). */
const filesOf = (schema: Schema): [string, string][] =>
  Object.entries(reference.files).filter(([name]) => name.startsWith(`${schema}-`));

const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

describe('readDataset', () => {
  it.each(['gsm8k', 'math', 'magpie'] as const)(
    '%s: every Parquet codec, page version and JSON form holds the rows pyarrow reads',
    async (schema) => {
      expect(filesOf(schema).map(([name]) => name.slice(schema.length + 1))).toEqual([
        ...['snappy', 'zstd', 'gzip', 'brotli', 'none', 'pages'],
        ...['list', 'data', 'lines'],
      ]);
      for (const [, file] of filesOf(schema)) {
        const dataset = await readDataset(file);
        expect(dataset.fields).toEqual(reference.fields[schema]);
        expect(dataset.rows).toEqual(reference.rows[schema]);
      }
    },
  );

  it('decodes only the columns asked for, and lists every field still', async () => {
    const { fields, rows } = await readDataset(reference.files['magpie-zstd'], ['instruction', 'id', 'absent']);
    expect(fields).toEqual(reference.fields.magpie);
    expect(rows).toEqual(reference.rows.magpie.map(({ instruction, id }) => ({ instruction, id })));
  });

  it('refuses what it cannot read with a coded error naming the file (and the row)', async () => {
    const cases: [string, RegExp][] = [
      [write('not.parquet', '{"instruction": "a"}\n'), /not\.parquet: is not a Parquet file that can be read/],
      [
        write('cut.parquet', fs.readFileSync(reference.files['gsm8k-snappy']).subarray(0, 200).toString('latin1')),
        /cut\.parquet: is not a Parquet file that can be read/,
      ],
      [path.join(dir, 'missing.parquet'), /missing\.parquet: cannot be read/],
      [write('rows.json', '[{"a": 1}, 2]'), /rows\.json: row 1 is not an object/],
      [write('broken.json', '[{"a": 1},'), /broken\.json: malformed JSON list/],
      [write('broken.jsonl', '{"a": 1}\n\n{"a": \n'), /broken\.jsonl: line 3: malformed JSON/],
    ];
    for (const [file, message] of cases) {
      await expect(readDataset(file)).rejects.toMatchObject({
        code: ErrorCode.BadFile,
        message: expect.stringMatching(message),
      });
    }
  });
});

describe('queries from named fields', () => {
  const questions = problems.map((problem) => problem.instruction);

  it("GSM8K's question and answer: the ground truth's answer is what GSM8K's grader takes after ####", async () => {
    for (const [, file] of filesOf('gsm8k')) {
      const queries = await readLabeledQueries(file, { queryField: 'question', answerField: 'answer' });
      expect(queries.map((query) => query.id)).toEqual(questions.map((_, index) => index));
      expect(queries.map((query) => query.instruction)).toEqual(questions);
      expect(queries.map((query) => query.response)).toEqual(reference.rows.gsm8k.map((row) => row.answer));
      expect(queries.map((query) => truthAnswer(query.response))).toEqual(reference.truths.gsm8k.answer);
      // Exploration never holds the ground truth.
      const unlabeled = await readQueries(file, { queryField: 'question' });
      expect(unlabeled).toEqual(queries.map(({ id, instruction }) => ({ id, instruction })));
    }
  });

  it("MATH's solution (the last \\boxed or \\fbox, braces nested) and MATH-500's bare answer, as MATH's grader takes them", async () => {
    for (const [, file] of filesOf('math')) {
      for (const answerField of ['solution', 'answer'] as const) {
        const queries = await readLabeledQueries(file, { queryField: 'problem', answerField });
        expect(queries.map((query) => query.instruction)).toEqual(questions);
        expect(queries.map((query) => truthAnswer(query.response))).toEqual(reference.truths.math[answerField]);
      }
    }
    expect(reference.truths.math.solution.filter((truth) => truth.startsWith('\\frac{'))).toHaveLength(8);
  });

  it("Magpie's instruction, its ShareGPT conversations and chat messages give the same queries; ids from 'id'", async () => {
    for (const [, file] of filesOf('magpie')) {
      for (const queryField of ['instruction', 'conversations', 'messages']) {
        const queries = await readQueries(file, { queryField });
        expect(queries).toEqual(questions.map((instruction, id) => ({ id, instruction })));
      }
      const labeled = await readLabeledQueries(file, { queryField: 'messages', answerField: 'messages' });
      expect(labeled.map((query) => query.response)).toEqual(
        reference.rows.magpie.map((row) => (row.messages as { content: string }[])[1].content),
      );
      const shareGpt = await readLabeledQueries(file, { queryField: 'conversations', answerField: 'conversations' });
      expect(shareGpt.map((query) => query.response)).toEqual(reference.rows.magpie.map((row) => row.response));
    }
  });

  it('a field the file lacks is refused, listing the fields the file has', async () => {
    const wrong: Record<Schema, string> = { gsm8k: 'instruction', math: 'question', magpie: 'prompt' };
    for (const schema of ['gsm8k', 'math', 'magpie'] as const) {
      const fields = reference.fields[schema].join(', ');
      for (const [, file] of filesOf(schema)) {
        await expect(readQueries(file, { queryField: wrong[schema] })).rejects.toMatchObject({
          code: ErrorCode.BadFile,
          message: `${file}: has no field '${wrong[schema]}' to read the queries from; its fields: ${fields}`,
        });
      }
    }
    const gsm8k = reference.files['gsm8k-zstd'];
    await expect(readLabeledQueries(gsm8k, { queryField: 'question' })).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: `${gsm8k}: has no field 'response' to read the ground truth from; its fields: question, answer`,
    });
  });

  it("takes a chat turn's content given as a list of text parts as their texts, one per line", async () => {
    const parts = (...texts: string[]) => texts.map((text) => ({ type: 'text', text }));
    const file = write(
      'parts.jsonl',
      JSON.stringify({
        messages: [
          { role: 'user', content: parts('Tom had 3 marbles.', 'How many now?') },
          { role: 'assistant', content: parts('The answer is \\boxed{3}.') },
        ],
      }),
    );
    const [query] = await readLabeledQueries(file, { queryField: 'messages', answerField: 'messages' });
    expect(query).toMatchObject({
      instruction: 'Tom had 3 marbles.\nHow many now?',
      response: 'The answer is \\boxed{3}.',
    });
  });

  it('refuses, naming the file and the query, rows that a query cannot carry', async () => {
    const chat = (...turns: [string, unknown][]): string =>
      JSON.stringify({ messages: turns.map(([role, content]) => ({ role, content })) });
    const cases: [string, RegExp][] = [
      [
        chat(['system', 'Be brief.'], ['user', 'What is 2 + 2?']),
        /query 0's 'messages' has 1 turn before its last user turn \(system first\); a query is one user turn/,
      ],
      [
        [chat(['user', 'Hi']), chat(['user', 'a'], ['assistant', 'b'], ['user', 'c'])].join('\n'),
        /query 1's 'messages' has 2 turns before its last user turn/,
      ],
      [chat(['assistant', 'Hello']), /query 0's 'messages' has no user turn/],
      [chat(['user', ['a', 'list']]), /query 0's 'messages' turn 0 is not a turn of text/],
      [
        JSON.stringify({ messages: 'What is 2 + 2?' }) + '\n' + JSON.stringify({ messages: 5 }),
        /query 1's 'messages' is not a non-empty string or a conversation/,
      ],
      [
        [JSON.stringify({ id: 1, messages: 'a' }), JSON.stringify({ id: 1, messages: 'b' })].join('\n'),
        /query 1 repeats the id 1/,
      ],
    ];
    for (const [index, [text, message]] of cases.entries()) {
      await expect(readQueries(write(`chat-${index}.jsonl`, text), { queryField: 'messages' })).rejects.toMatchObject({
        code: ErrorCode.BadFile,
        message: expect.stringMatching(message),
      });
    }
    const unanswered = write('unanswered.jsonl', chat(['user', 'What is 2 + 2?']));
    await expect(
      readLabeledQueries(unanswered, { queryField: 'messages', answerField: 'messages' }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/query 0's 'messages' has no assistant turn after its last user turn/),
    });
    await expect(readQueries(unanswered, { queryField: '' })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });
  });
});

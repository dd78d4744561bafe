/**
 * The reference's file formats: query files (JSON list or JSONL, ground truth kept from exploration), exploration
 * records as the reference's foresight sampling writes them (read, turned into pairs), and the run directory's
 * durable record log.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ErrorCode,
  Tokenizer,
  openExploreRun,
  readLabeledQueries,
  readQueries,
  readRecords,
  recordPairs,
  resolveExploreOptions,
  type ExplorationRecord,
  type ExploreSettings,
} from '../lib';
import { runReference } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-formats-'));
/** A chat template's time as a run pins it: a local date and time. */
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

describe('query files', () => {
  const items = [
    { instruction: 'What is 1 + 1?', response: '\\boxed{2}' },
    { id: 'q-7', instruction: 'What is 2 + 2?', response: 4, source: 'gsm8k' },
  ];

  it('reads a JSON list and JSON lines alike, numbering queries without an id by position', async () => {
    const list = write('queries.json', JSON.stringify(items, null, 2));
    const lines = write('queries.jsonl', items.map((item) => JSON.stringify(item)).join('\n'));
    for (const file of [list, lines]) {
      expect(await readQueries(file)).toEqual([
        { id: 0, instruction: 'What is 1 + 1?' },
        { id: 'q-7', instruction: 'What is 2 + 2?' },
      ]);
      expect(await readLabeledQueries(file)).toEqual([
        { id: 0, instruction: 'What is 1 + 1?', response: '\\boxed{2}' },
        { id: 'q-7', instruction: 'What is 2 + 2?', response: '4' },
      ]);
    }
  });

  it('refuses queries without an instruction, repeated ids, and malformed lines', async () => {
    const cases: [string, RegExp][] = [
      ['{"question": "no instruction"}\n', /has no field 'instruction' to read the queries from; its fields: question/],
      ['{"instruction": "a"}\n{"question": "b"}\n', /query 1's 'instruction' is not a non-empty string/],
      ['{"id": 1, "instruction": "a"}\n{"id": 1, "instruction": "b"}\n', /query 1 repeats the id 1/],
      ['{"instruction": "a"}\n{"instruction": \n', /line 2: malformed JSON/],
      ['[{"instruction": "a"},]', /malformed JSON list/],
    ];
    for (const [index, [text, message]] of cases.entries()) {
      await expect(readQueries(write(`bad-${index}.jsonl`, text))).rejects.toMatchObject({
        code: ErrorCode.BadFile,
        message: expect.stringMatching(message),
      });
    }
  });
});

/** A record as the reference's foresight_sampling_with_vllm.py writes one: M = 2, N = 2, K = 2. */
const referenceRecord = {
  id: 0,
  question: 'What is 3 + 4?',
  ground_truth: '7',
  response: 'The reasoning steps are:\n\n3 + 4 = 7\n\nThe answer is \\boxed{7}',
  response_all_beams: [
    'The reasoning steps are:\n\n3 + 4 = 7\n\nThe answer is \\boxed{7}',
    'The reasoning steps are:\n\n7\n\n7',
  ],
  foresight_steps: 2,
  traj_pool: [['t00', 't01', 't02', 't03'], ['t10', 't11', 't12', 't13'], []],
  step_pool: [
    ['r00', 'r01', 'r02', 'r03'],
    ['r10', 'r11', 'r12', 'r13'],
  ],
  prob_pool: [
    [-0.5, -0.25, -1.5, -0.75],
    [-0.2, -0.3, -0.4, -0.1],
    [-0.3, -0.6],
  ],
  adv_pool: [
    [-0.5, -0.25, -1.5, -0.75],
    [0.05, -0.05, 0.35, 0.65],
    [-0.1, 0.2],
  ],
  step_prob: [
    [-0.1, -0.2, -0.3, -0.4],
    [-0.1, -0.2, -0.3, -0.4],
  ],
  sample_id_pool: [
    [1, 3],
    [3, 0],
    [0, 0],
  ],
};

describe('exploration records', () => {
  it("reads the reference's records and makes one pair per step from them", async () => {
    const file = write('reference-records.jsonl', `${JSON.stringify(referenceRecord)}\n`);
    const [record] = await readRecords(file);
    expect(record).toEqual(referenceRecord);
    const tokenizers = runReference<{ byteLevel: string }>('make_tokenizers.py', { out: path.join(dir, 'tokenizers') });
    const tokenizer = await Tokenizer.fromDir(tokenizers.byteLevel);
    const pairs = recordPairs(record, tokenizer, { rejected: 'uniform', tau: 0.1, seed: 0 });
    expect(pairs).toHaveLength(2);
    expect(pairs.map((pair) => pair.chosen[0].content)).toEqual(['t01', 't13']);
    expect(pairs.map((pair) => pair.chosen_weights)).toEqual([-0.25, 0.65]);
    expect(pairs[0].chosen_average_weights).toBeCloseTo(-0.75, 12);
    expect(pairs[1].chosen_average_weights).toBeCloseTo(0.25, 12);
    // Pairs are drawn per (record, step) from the seed: the same seed gives the same pairs.
    expect(recordPairs(record, tokenizer, { rejected: 'uniform', tau: 0.1, seed: 0 })).toEqual(pairs);
  });

  it('refuses records whose pools do not line up or hold the wrong types', async () => {
    const misaligned = { ...referenceRecord, prob_pool: [[-0.5], ...referenceRecord.prob_pool.slice(1)] };
    const mistyped = { ...referenceRecord, step_prob: 'none' };
    for (const [name, record, message] of [
      ['misaligned', misaligned, /prob_pool\[0\] must hold one number per trajectory/],
      ['mistyped', mistyped, /field 'step_prob' must be a list of lists of numbers/],
    ] as const) {
      const file = write(`${name}.jsonl`, `${JSON.stringify(record)}\n`);
      await expect(readRecords(file)).rejects.toMatchObject({
        code: ErrorCode.BadFile,
        message: expect.stringMatching(message),
      });
    }
  });
});

describe('run directory', () => {
  const settings = {
    model: '/models/m',
    queries: '/data/q.jsonl',
    queryField: 'instruction',
    options: resolveExploreOptions(),
  };
  const record = (id: number): ExplorationRecord => ({ ...referenceRecord, id, ground_truth: null });

  it('appends records durably, cuts a partial last line on resume and refuses other settings', async () => {
    const out = path.join(dir, 'run');
    {
      await using run = await openExploreRun(out, settings, false);
      expect(run.finished).toEqual([]);
      await run.append(record(0));
      await run.append(record(1));
    }
    const recordsFile = path.join(out, 'records.jsonl');
    const complete = fs.readFileSync(recordsFile, 'utf8');
    fs.appendFileSync(recordsFile, JSON.stringify(record(2)).slice(0, 40));
    await expect(openExploreRun(out, settings, false)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    const other = { ...settings, options: resolveExploreOptions({ beams: 3 }) };
    await expect(openExploreRun(out, other, true)).rejects.toThrow(/beams: 2 → 3/);
    const otherField = { ...settings, queryField: 'question' };
    await expect(openExploreRun(out, otherField, true)).rejects.toThrow(/queryField: "instruction" → "question"/);
    {
      await using run = await openExploreRun(out, settings, true);
      expect(run.finished).toEqual([0, 1]);
      expect(fs.readFileSync(recordsFile, 'utf8')).toBe(complete);
      await run.append(record(2));
    }
    expect((await readRecords(recordsFile)).map(({ id }) => id)).toEqual([0, 1, 2]);
  });

  it("pins the chat template's time when the run starts, keeps it when the run resumes, refuses other kwargs", async () => {
    const out = path.join(dir, 'pinned');
    const chatTemplate = { kwargs: { enable_thinking: false } };
    const given = { ...settings, options: resolveExploreOptions({ chatTemplate }) };
    const settingsFile = path.join(out, 'explore.json');
    {
      await using run = await openExploreRun(out, given, false);
      expect(run.settings.options.chatTemplate).toEqual({ ...chatTemplate, now: expect.stringMatching(LOCAL_TIME) });
      expect(JSON.parse(fs.readFileSync(settingsFile, 'utf8'))).toEqual(run.settings);
    }
    // As if the run had started on another day: a resumed run renders at that time, not at the clock's.
    const recorded = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as ExploreSettings;
    recorded.options.chatTemplate.now = '2024-07-26T10:00:00';
    fs.writeFileSync(settingsFile, JSON.stringify(recorded));
    {
      await using run = await openExploreRun(out, given, true);
      expect(run.settings.options.chatTemplate).toEqual({ ...chatTemplate, now: '2024-07-26T10:00:00' });
    }
    const otherKwargs = { ...settings, options: resolveExploreOptions({ chatTemplate: { kwargs: {} } }) };
    await expect(openExploreRun(out, otherKwargs, true)).rejects.toThrow(
      /cannot resume .* other settings than its own:\n {2}chatTemplate: \{"kwargs":\{"enable_thinking":false\}/,
    );
    const otherTime = {
      ...settings,
      options: resolveExploreOptions({ chatTemplate: { ...chatTemplate, now: '2025-01-01T00:00:00' } }),
    };
    await expect(openExploreRun(out, otherTime, true)).rejects.toThrow(/"now":"2024-07-26T10:00:00"\} → .*2025-01-01/);
    expect(JSON.parse(fs.readFileSync(settingsFile, 'utf8'))).toEqual(recorded);
  });
});

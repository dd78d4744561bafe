/**
 * Hub dataset files through the CLI: `train` end to end on a Parquet file written by pyarrow with GSM8K's fields
 * (--query-field, --eval-query-field, --answer-field); `eval` on GSM8K's and MATH's answer formats, whose ground
 * truths must be what those sets' graders extract; and a field the file lacks refused, listing the file's fields,
 * before any model work (the model directory here has no weights to load).
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from './helpers/cli';
import { geniusRunFixture } from './helpers/genius-run';
import { hubFiles, validationProblems } from './helpers/hub-datasets';

const fixture = geniusRunFixture('dataset-cli');
afterAll(() => fs.rmSync(fixture.dir, { recursive: true, force: true }));

const embeddedModel = path.join(__dirname, '..', 'models', 'default');
const problems = validationProblems(24);
const hub = (out: string, count: number) => hubFiles(path.join(fixture.dir, out), problems.slice(0, count));

interface EvalLine {
  id: number;
  question: string;
  truth: string;
  greedy: { answer?: string; correct: boolean };
}
const readLines = <T>(file: string): T[] =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as T);

describe('train on a Parquet file with named fields', () => {
  it('runs end to end: the queries explored and the ground truths evaluated are those of the named fields', () => {
    // The fixture's six problems, as GSM8K's train and test files hold them.
    const six = hub('six', fixture.problems.length);
    expect(six.fields.gsm8k).toEqual(['question', 'answer']);
    const gsm8k = six.files['gsm8k-snappy'];
    const out = path.join(fixture.dir, 'parquet-run');
    const args = fixture.trainArgs(out, gsm8k);
    args[args.indexOf('--eval') + 1] = gsm8k;
    args.push('--query-field', 'question', '--eval-query-field', 'question');
    const result = runCli(args);
    // The answer field is not the default: the run is refused, before any work, naming the fields.
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `${gsm8k}: has no field 'response' to read the ground truth from; its fields: question, answer`,
    );
    expect(fs.existsSync(out)).toBe(false);

    const run = runCli([...args, '--answer-field', 'answer']);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; trained?: boolean });
    expect(events.find((event) => event.event === 'done')).toMatchObject({ trained: true });
    const records = readLines<{ id: number; question: string }>(path.join(out, 'iteration-1', 'records.jsonl'));
    expect(records.map((record) => record.question).sort()).toEqual(fixture.problems.map((p) => p.instruction).sort());
    for (const record of records) expect(record.question).toBe(fixture.problems[record.id].instruction);
    for (const iteration of [0, 1]) {
      const { results } = JSON.parse(fs.readFileSync(path.join(out, `eval-${iteration}.json`), 'utf8')) as {
        results: EvalLine[];
      };
      expect(results.map((line) => line.truth)).toEqual(six.truths.gsm8k.answer);
    }
    const settings = JSON.parse(fs.readFileSync(path.join(out, 'train.json'), 'utf8')) as Record<string, unknown>;
    expect(settings).toMatchObject({
      queries: gsm8k,
      queryField: 'question',
      eval: gsm8k,
      evalFields: { queryField: 'question', answerField: 'answer' },
    });
  });
});

describe('eval with --answer-field', () => {
  const all = hub('all', problems.length);

  it.each([
    ['GSM8K (#### 42)', 'gsm8k-zstd', 'question', 'answer'],
    ['MATH (\\boxed{…} in solution, braces nested)', 'math-lines', 'problem', 'solution'],
  ] as const)(
    '%s: the ground truths are what the set’s grader extracts, and answers are judged by value',
    (_, name, queryField, answerField) => {
      const out = path.join(fixture.dir, `eval-${name}.jsonl`);
      const result = runCli([
        'eval',
        ...['--model', embeddedModel, '--data', all.files[name], '--out', out, '--batch-size', '24'],
        ...['--query-field', queryField, '--answer-field', answerField],
      ]);
      expect(result.status).toBe(0);
      const lines = readLines<EvalLine>(out);
      expect(lines.map((line) => line.question)).toEqual(problems.map((p) => p.instruction));
      const truths = answerField === 'answer' ? all.truths.gsm8k.answer : all.truths.math.solution;
      expect(lines.map((line) => line.truth)).toEqual(truths);
      // The model answers with integers; a MATH truth such as \frac{72}{2} is its value.
      const right = lines.map((line, index) => Number(line.greedy.answer) === problems[index].answer);
      expect(lines.map((line) => line.greedy.correct)).toEqual(right);
      expect(right.filter(Boolean).length).toBeGreaterThan(0);
      const accuracy = (100 * right.filter(Boolean).length) / right.length;
      expect(result.stdout).toMatch(new RegExp(`greedy accuracy\\s+${accuracy.toFixed(2)}%`));
    },
  );
});

describe('a field the file lacks, before any model work', () => {
  // A model directory with its config and tokenizer but no weights: loading it would fail.
  const weightless = path.join(fixture.dir, 'weightless');
  fs.mkdirSync(weightless);
  for (const file of fs.readdirSync(embeddedModel)) {
    if (!file.endsWith('.safetensors')) fs.copyFileSync(path.join(embeddedModel, file), path.join(weightless, file));
  }
  const few = hub('few', 2);
  const gsm8k = few.files['gsm8k-snappy'];
  const listed = `${gsm8k}: has no field 'instruction' to read the queries from; its fields: question, answer`;

  it.each([
    ['train', ['train', '--model', weightless, '--queries', gsm8k, '--out', path.join(fixture.dir, 'no-run')]],
    ['explore', ['explore', '--model', weightless, '--queries', gsm8k, '--out', path.join(fixture.dir, 'no-explore')]],
    ['eval', ['eval', '--model', weightless, '--data', gsm8k, '--answer-field', 'answer']],
  ])('%s: one coded line naming the file and listing its fields', (_, args) => {
    const result = runCli(args);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`genius-native: ${listed} [ERR_GENIUS_BAD_FILE]`);
    expect(fs.existsSync(path.join(fixture.dir, 'no-run'))).toBe(false);
    expect(fs.existsSync(path.join(fixture.dir, 'no-explore'))).toBe(false);
  });
});

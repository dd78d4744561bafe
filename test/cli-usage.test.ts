/**
 * The CLI's conventions: a usage mistake is a coded error on one line of stderr with one line of help after it (no
 * stack trace, no whole help text), and --json output is lines of objects that each carry an `event` key.
 */
import { runCli } from './helpers/cli';

test.each([
  [['sft', '--data', 'd.jsonl', '--out', 'o'], 'sft', /give --model or --init/],
  [['generate', '--model', 'm'], 'generate', /give --prompt or --input/],
  [['eval', '--data', 'd.jsonl'], 'eval', /Missing required argument: model/],
  [['info', '--bogus'], 'info', /Unknown argument: bogus/],
])('genius-native %j: a coded usage error and one line of help', (args, command, message) => {
  const result = runCli(args);
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(message);
  expect(lines[0]).toMatch(/^genius-native: .*\[ERR_GENIUS_INVALID_ARG\]$/);
  expect(lines[1]).toBe(`Run \`genius-native ${command} --help\` for the flags.`);
});

test('a usage mistake before any command points at the general help', () => {
  const result = runCli([]);
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([
    'genius-native: Name a command; `genius-native --help` lists them. [ERR_GENIUS_INVALID_ARG]',
    'Run `genius-native --help` for the flags.',
  ]);
});

test('info --json is one object with an event key', () => {
  const result = runCli(['info', '--json']);
  expect(result.status).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0])).toMatchObject({ event: 'info', version: expect.any(String) });
});

/**
 * The CLI's mistakes are found before any work or any file: every option and input is checked first (a late
 * error would leave a run directory that refuses the corrected command), nothing of a user's is removed or
 * replaced, and every failure is one coded line naming its flag, file or query. On the embedded model, whose
 * 256 positions a long query overflows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliResult } from './helpers/cli';
import { unwritableDirectory } from './helpers/unwritable';

const modelDir = path.join(__dirname, '..', 'models', 'default');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-cli-errors-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const userFile = path.join(dir, 'notes.txt');
const emptyQueries = path.join(dir, 'empty.jsonl');
const longQueries = path.join(dir, 'long.jsonl');
fs.writeFileSync(emptyQueries, '\n');
// One instruction of ~1 MB among short ones: far past the model's 256 positions.
fs.writeFileSync(
  longQueries,
  [
    { id: 'short', instruction: 'What is 2 + 2?' },
    { id: 'huge', instruction: 'What is 2 + 2? '.repeat(70_000) },
  ]
    .map((query) => JSON.stringify(query))
    .join('\n'),
);

beforeEach(() => fs.writeFileSync(userFile, 'my notes\n'));

/** Asserts one coded line on stderr (no stack) and returns it. */
function codedLine(result: CliResult, code: string): string {
  expect(result.status).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines.filter((line) => line.startsWith('genius-native:'))).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const line = lines.find((text) => text.startsWith('genius-native:'))!;
  expect(line).toMatch(new RegExp(`\\[${code}\\]$`));
  return line;
}

describe('output paths', () => {
  it('optimize --out a file: refused, and the file is left as it was', () => {
    const result = runCli(['optimize', '--model', modelDir, '--pairs', 'missing.jsonl', '--out', userFile]);
    expect(codedLine(result, 'ERR_GENIUS_INVALID_ARG')).toMatch(/'out' must be a directory: .*notes\.txt is a file/);
    expect(fs.readFileSync(userFile, 'utf8')).toBe('my notes\n');
  });

  it('optimize --out a directory of other files: refused before reading anything', () => {
    const other = fs.mkdtempSync(path.join(dir, 'other-'));
    fs.writeFileSync(path.join(other, 'keep.txt'), 'x');
    const result = runCli(['optimize', '--model', modelDir, '--pairs', 'missing.jsonl', '--out', other]);
    expect(codedLine(result, 'ERR_GENIUS_INVALID_ARG')).toMatch(/holds other files/);
    expect(fs.readdirSync(other)).toEqual(['keep.txt']);
  });

  it('optimize --out a directory that cannot be written: refused before any work', () => {
    const result = runCli([
      'optimize',
      '--model',
      modelDir,
      '--pairs',
      'missing.jsonl',
      '--out',
      unwritableDirectory(),
    ]);
    expect(codedLine(result, 'ERR_GENIUS_FILE_SYSTEM')).toMatch(/'out' must be a directory that can be written/);
  });

  it('train and explore --out a file: refused, the file untouched', () => {
    for (const args of [
      ['train', '--out', userFile],
      ['explore', '--model', modelDir, '--queries', longQueries, '--out', userFile],
    ]) {
      expect(codedLine(runCli(args), 'ERR_GENIUS_INVALID_ARG')).toMatch(/'out' must be a directory/);
      expect(fs.readFileSync(userFile, 'utf8')).toBe('my notes\n');
    }
  });

  it('train --out under /proc: a coded error at once, not a hang in recursive mkdir', () => {
    const result = runCli(['train', '--out', '/proc/genius-native-test/run'], 60_000);
    expect(codedLine(result, 'ERR_GENIUS_FILE_SYSTEM')).toMatch(/'out' must be a directory that can be written/);
  });
});

describe('train checks everything before it makes its run directory', () => {
  it.each([
    [['--eval-samples', '-1'], /'samples' must be an integer >= 0/, 'ERR_GENIUS_INVALID_ARG'],
    [['--device', 'bogus'], /'options.device'/, 'ERR_GENIUS_INVALID_ARG'],
    [['--eval', 'missing.jsonl'], /missing\.jsonl: cannot be read/, 'ERR_GENIUS_BAD_FILE'],
    [['--queries', emptyQueries], /empty\.jsonl: holds no query/, 'ERR_GENIUS_BAD_FILE'],
    [['--iterations', '0'], /'iterations' must be a positive integer/, 'ERR_GENIUS_INVALID_ARG'],
  ])('%j', (flags, message, code) => {
    const out = path.join(dir, `run-${flags.join('')}`);
    const result = runCli(['train', ...flags, '--out', out]);
    expect(codedLine(result, code)).toMatch(message);
    expect(result.stderr).not.toMatch(/trained model/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('queries too long for the model', () => {
  it('train refuses one before any work, naming the file and the query', () => {
    const out = path.join(dir, 'run-long');
    const line = codedLine(runCli(['train', '--queries', longQueries, '--out', out]), 'ERR_GENIUS_BAD_FILE');
    expect(line).toMatch(/long\.jsonl: query "huge" is \d+ tokens as a prompt.*256 positions.*--skip-long/);
    expect(line).not.toMatch(/request\.prompts/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('explore --skip-long leaves it out and counts it', () => {
    const out = path.join(dir, 'explore-long');
    const result = runCli([
      'explore',
      ...['--model', modelDir, '--queries', longQueries, '--out', out, '--skip-long', '--json'],
      ...['--beams', '1', '--rollouts', '2', '--foresight', '1', '--max-tokens', '4', '--final-max-tokens', '4'],
    ]);
    expect(result.status).toBe(0);
    const done = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; records?: number; skipped?: unknown })
      .find((event) => event.event === 'done');
    expect(done).toMatchObject({ records: 1, skipped: ['huge'] });
  });
});

describe('model files checked when they are loaded', () => {
  it('a tokenizer.json with ids beyond the model vocabulary is named at load, not at generate time', () => {
    const model = path.join(dir, 'big-tokenizer');
    fs.cpSync(modelDir, model, { recursive: true });
    const tokenizerFile = path.join(model, 'tokenizer.json');
    const tokenizer = JSON.parse(fs.readFileSync(tokenizerFile, 'utf8')) as { added_tokens: object[] };
    tokenizer.added_tokens.push({ ...tokenizer.added_tokens[0], id: 700, content: '<|beyond|>' });
    fs.writeFileSync(tokenizerFile, JSON.stringify(tokenizer));
    for (const args of [
      ['generate', '--model', model, '--prompt', 'hi', '--max-tokens', '2'],
      ['explore', '--model', model, '--queries', longQueries, '--out', path.join(dir, 'explore-beyond')],
    ]) {
      const line = codedLine(runCli(args), 'ERR_GENIUS_BAD_FILE');
      expect(line).toMatch(/tokenizer\.json: holds token ids up to 700, beyond the vocabulary .*\(666 ids/);
    }
  });

  it('generate --chat with a template that loops over range(100000000): a coded error, not a hang', () => {
    const model = path.join(dir, 'looping-template');
    fs.cpSync(modelDir, model, { recursive: true });
    fs.writeFileSync(path.join(model, 'chat_template.jinja'), '{% for i in range(100000000) %}x{% endfor %}');
    const line = codedLine(
      runCli(['generate', '--model', model, '--prompt', 'hi', '--chat', '--max-tokens', '2'], 60_000),
      'ERR_GENIUS_BAD_FILE',
    );
    expect(line).toMatch(/chat_template\.jinja: the chat template's range\(\) calls ask for more than/);
  });
});

describe('--chat-template-kwargs', () => {
  const queries = path.join(dir, 'queries.jsonl');
  fs.writeFileSync(queries, `${JSON.stringify({ instruction: 'What is 2 + 2?' })}\n`);
  const commands: [string, string[]][] = [
    ['generate', ['--model', modelDir, '--prompt', 'hi', '--chat']],
    ['eval', ['--model', modelDir, '--data', queries]],
    ['explore', ['--model', modelDir, '--queries', queries, '--out', path.join(dir, 'explore-kwargs')]],
    ['pairs', ['--records', path.join(dir, 'explore-kwargs')]],
    ['train', ['--queries', queries, '--out', path.join(dir, 'train-kwargs')]],
    ['serve', ['--port', '0']],
  ];

  it('a value that is not a JSON object of template variables: one coded line naming the flag, before any work', () => {
    const bad: [string, RegExp][] = [
      ['{enable_thinking: false}', /--chat-template-kwargs must be JSON, as '\{"enable_thinking": false\}'/],
      ['[{"enable_thinking": false}]', /argument '--chat-template-kwargs' must be a JSON object of template variables/],
      ['{"messages": []}', /argument '--chat-template-kwargs.messages' must be left out: the rendering sets it/],
      ['{"tools": {"name": "f"}}', /argument '--chat-template-kwargs.tools' must be a list of objects, or null/],
    ];
    // Every mistake on one command, one mistake on each of the others (they share the flag's definition).
    const runs = [
      ...bad.map(([value, message]) => [...commands[0], value, message] as const),
      ...commands.slice(1).map(([command, args], index) => [command, args, ...bad[index % bad.length]] as const),
    ];
    for (const [command, args, value, message] of runs) {
      const result = runCli([command, ...args, '--chat-template-kwargs', value], 60_000);
      const line = codedLine(result, 'ERR_GENIUS_INVALID_ARG');
      expect({ command, line }).toEqual({ command, line: expect.stringMatching(message) });
    }
    expect(fs.existsSync(path.join(dir, 'explore-kwargs'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'train-kwargs'))).toBe(false);
  });

  it('generate without --chat: refused, as it renders no template', () => {
    const result = runCli(['generate', '--model', modelDir, '--prompt', 'hi', '--chat-template-kwargs', '{}']);
    expect(codedLine(result, 'ERR_GENIUS_INVALID_ARG')).toMatch(
      /--chat-template-kwargs renders the chat template: give --chat/,
    );
  });
});

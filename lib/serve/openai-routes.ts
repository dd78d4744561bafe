/**
 * The OpenAI-compatible routes: GET /v1/models, POST /v1/completions and POST /v1/chat/completions, the subset of
 * OpenAI's API that maps onto the engine (prompts or messages, n, max_tokens, temperature, top_p, top_k, stop, seed,
 * the sampled tokens' log-probs, streaming as Server-Sent Events; vLLM's ignore_eos). Each request goes through the
 * batching queue, so that requests arriving together share one native call.
 *
 * A stream is sent when the request's call ends: the engine returns a call's tokens together, so each choice comes
 * as one chunk, then `data: [DONE]`.
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
import type { BatchingQueue, BatchSampling } from './batching-queue';
import { EventStream } from './sse';

export interface OpenAiContext {
  model: Model;
  tokenizer: Tokenizer;
  /** The id clients name the model by (GET /v1/models). */
  modelName: string;
  queue: BatchingQueue;
  /** The model's generation_config.json sampling settings: what a request that names none samples with. */
  recommended: Partial<SamplingSettings>;
}

/** The sampling fields both routes take (OpenAI's names; top_k and ignore_eos as vLLM has them). */
interface SamplingBody {
  model: string;
  n?: number;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
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
  messages: { role: string; content: string | { type: 'text'; text: string }[] }[];
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
  },
};

/** One answer of a request: a sample's text (cut at a stop string) and its tokens. */
interface Choice {
  index: number;
  text: string;
  sample: Sample;
  finishReason: 'stop' | 'length';
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** How one route words its answer: the whole response, or the stream's chunk of one choice. */
interface ResponseFormat {
  response(choices: Choice[], usage: Usage): object;
  chunk(choice: Choice): object;
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
      const tokens = Array.from(choice.sample.tokens, (id) => tokenizer.tokenText(id));
      const offsets = tokens.map((_, index) => tokens.slice(0, index).join('').length);
      return { tokens, token_logprobs: Array.from(choice.sample.logprobs), top_logprobs: null, text_offset: offsets };
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
    const messages: ChatMessage[] = body.messages.map((message) => ({
      role: message.role,
      content:
        typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join(''),
    }));
    const prompt = tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    });
    const head = { id: `chatcmpl-${randomUUID()}`, created: now(), model: modelName };
    const logprobs = (choice: Choice): object | null => {
      if (!body.logprobs) return null;
      const content = Array.from(choice.sample.tokens, (id, index) => {
        const token = tokenizer.tokenText(id);
        return { token, logprob: choice.sample.logprobs[index], bytes: [...Buffer.from(token)], top_logprobs: [] };
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
      chunk: (choice) => ({
        ...head,
        object: 'chat.completion.chunk',
        choices: [
          {
            index: choice.index,
            delta: { role: 'assistant', content: choice.text },
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
      { temperature: body.temperature, topP: body.top_p, topK: body.top_k === -1 ? 0 : body.top_k },
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
  const samples = await queue.submit({ prompts, maxTokens, sampling, signal: gone.signal });
  const choices = samples.map((sample, index): Choice => {
    const { text } = trimAtStop(responseText(tokenizer, sample.tokens), stop);
    return { index, text, sample, finishReason: sample.finishReason === 'length' ? 'length' : 'stop' };
  });
  const promptTokens = prompts.reduce((sum, prompt) => sum + prompt.length, 0);
  const completionTokens = samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  if (!body.stream) return format.response(choices, usage);
  const stream = new EventStream(reply);
  for (const choice of choices) stream.send({ data: format.chunk(choice) });
  if (body.stream_options?.include_usage) stream.send({ data: format.usageChunk(usage) });
  stream.send({ data: '[DONE]' });
  stream.end();
  return undefined;
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

/**
 * The queue that feeds the engine. Requests wait here while a native generate call runs; when it ends, the oldest
 * waiting request and every later one that can share its call (the same sampling settings, within `maxBatch`
 * sequences) go into the next call together: batching at request level, as vLLM does, refilled between calls. A call
 * takes one set of sampling settings for all its prompts, so requests that differ in them wait for a call of their
 * own; max_tokens may differ (the call runs to the largest, and each request's samples are cut to its own).
 *
 * A request may listen to its samples' tokens as the call draws them (a stream): each step's draws are routed to the
 * requests whose samples they extend, numbered within the request, up to the request's own max_tokens.
 *
 * A request whose client goes away leaves the queue at once; one in a running call is dropped from its result, and
 * when every request of a call is gone the call itself is cancelled. A full queue refuses new requests with
 * ERR_GENIUS_QUEUE_FULL (the server's 429).
 */
import { randomInt } from 'node:crypto';
import {
  ErrorCode,
  GeniusError,
  stopStringMask,
  type Model,
  type Sample,
  type SamplingSettings,
  type StepTokens,
  type Tokenizer,
} from '../index';
import type { ServerMetrics } from './metrics';

/** The settings that every request of one native call shares. */
export interface BatchSampling extends SamplingSettings {
  n: number;
  /** Absent: each call draws one (a sampled request without a seed batches with any other such request). */
  seed?: number;
  stop: string[];
  /** Sample past the end-of-response tokens (vLLM's ignore_eos), up to max_tokens. */
  ignoreEos: boolean;
}

export interface GenerationRequest {
  /** Token ids of each prompt; the request's samples are prompt-major, n per prompt. */
  prompts: number[][];
  maxTokens: number;
  sampling: BatchSampling;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Each step's draws of this request's samples (numbered within it), within max_tokens; all before it resolves. */
  onTokens?: (step: RequestTokens) => void;
}

/** A step's draws as one request sees them: its own samples, numbered as its result numbers them. */
export type RequestTokens = Omit<StepTokens, 'finished'>;

export interface BatchingQueueOptions {
  /** Most sequences (prompts × n) in one native call; a larger request runs alone. */
  maxBatch: number;
  /** Most requests waiting; past it, requests are refused. */
  maxQueue: number;
}

interface Entry {
  request: GenerationRequest;
  sequences: number;
  /** The call key: requests with equal keys may share a call. */
  key: string;
  resolve(samples: Sample[]): void;
  reject(error: unknown): void;
  /** Set once the entry is in a running call. */
  call?: Call;
  gone: boolean;
}

interface Call {
  entries: Entry[];
  controller: AbortController;
}

/** Distinct stop-string sets whose masks are kept. */
const STOP_MASKS_KEPT = 64;

const aborted = (): GeniusError => new GeniusError(ErrorCode.Aborted, 'the client went away');

export class BatchingQueue {
  readonly #waiting: Entry[] = [];
  #running: Promise<void> | undefined;
  readonly #eosTokenIds: number[];
  readonly #stopMasks = new Map<string, Uint8Array>();

  constructor(
    private readonly model: Model,
    private readonly tokenizer: Tokenizer,
    private readonly options: BatchingQueueOptions,
    private readonly metrics: ServerMetrics,
    eosTokenIds: number[],
  ) {
    this.#eosTokenIds = eosTokenIds;
  }

  /** Requests waiting for the engine. */
  get depth(): number {
    return this.#waiting.length;
  }

  /** The request's samples, once a call has served it; rejects with ERR_GENIUS_QUEUE_FULL or ERR_GENIUS_ABORTED. */
  submit(request: GenerationRequest): Promise<Sample[]> {
    if (request.signal.aborted) return Promise.reject(aborted());
    if (this.#waiting.length >= this.options.maxQueue) {
      this.metrics.requestsRejected.inc();
      return Promise.reject(
        new GeniusError(
          ErrorCode.QueueFull,
          `the generation queue is full (${this.options.maxQueue} requests waiting)`,
        ),
      );
    }
    return new Promise<Sample[]>((resolve, reject) => {
      const entry: Entry = {
        request,
        sequences: request.prompts.length * request.sampling.n,
        key: callKey(request.sampling),
        resolve,
        reject,
        gone: false,
      };
      request.signal.addEventListener('abort', () => this.#leave(entry), { once: true });
      this.#waiting.push(entry);
      this.metrics.queueDepth.set(this.#waiting.length);
      this.#pump();
    });
  }

  /** Resolves when no request waits and no call runs (shutdown waits for this before freeing the model). */
  async drained(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** The stop strings' token mask; clients tend to send the same few stops, and a mask reads the whole vocabulary. */
  #stopMask(stop: string[]): Uint8Array | undefined {
    if (stop.length === 0) return undefined;
    const key = JSON.stringify(stop);
    let mask = this.#stopMasks.get(key);
    if (!mask) {
      if (this.#stopMasks.size >= STOP_MASKS_KEPT) this.#stopMasks.clear();
      mask = stopStringMask(this.tokenizer, stop, this.model.config.vocabSize);
      this.#stopMasks.set(key, mask);
    }
    return mask;
  }

  #leave(entry: Entry): void {
    if (entry.gone) return;
    entry.gone = true;
    entry.reject(aborted());
    const index = this.#waiting.indexOf(entry);
    if (index >= 0) {
      this.#waiting.splice(index, 1);
      this.metrics.queueDepth.set(this.#waiting.length);
      this.metrics.requestsAborted.inc({ where: 'queued' });
      return;
    }
    this.metrics.requestsAborted.inc({ where: 'running' });
    // Nobody is left to read the call's result: stop it instead of finishing it.
    if (entry.call && entry.call.entries.every((other) => other.gone)) entry.call.controller.abort();
  }

  #pump(): void {
    if (this.#running || this.#waiting.length === 0) return;
    const call: Call = { entries: this.#takeBatch(), controller: new AbortController() };
    this.#running = this.#run(call).finally(() => {
      this.#running = undefined;
      this.#pump();
    });
  }

  /** The oldest request and every later one that can share its call, within maxBatch sequences. */
  #takeBatch(): Entry[] {
    const [first] = this.#waiting;
    const batch: Entry[] = [];
    let sequences = 0;
    for (const entry of [...this.#waiting]) {
      if (entry !== first && (entry.key !== first.key || sequences + entry.sequences > this.options.maxBatch)) continue;
      batch.push(entry);
      sequences += entry.sequences;
      this.#waiting.splice(this.#waiting.indexOf(entry), 1);
    }
    this.metrics.queueDepth.set(this.#waiting.length);
    return batch;
  }

  async #run(call: Call): Promise<void> {
    const { entries } = call;
    for (const entry of entries) entry.call = call;
    const { sampling } = entries[0].request;
    const prompts = entries.flatMap((entry) => entry.request.prompts);
    const started = performance.now();
    this.metrics.runningRequests.set(entries.length);
    try {
      const generation = await this.model.generate(prompts, {
        n: sampling.n,
        maxNewTokens: Math.max(...entries.map((entry) => entry.request.maxTokens)),
        temperature: sampling.temperature,
        topP: sampling.topP,
        topK: sampling.topK,
        minP: sampling.minP,
        repetitionPenalty: sampling.repetitionPenalty,
        seed: sampling.seed ?? randomInt(2 ** 31),
        eosTokenIds: sampling.ignoreEos ? [] : this.#eosTokenIds,
        stopTokenMask: this.#stopMask(sampling.stop),
        signal: call.controller.signal,
        onTokens: entries.some((entry) => entry.request.onTokens) ? routeTokens(entries) : undefined,
      });
      const seconds = (performance.now() - started) / 1000;
      const tokens = generation.samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
      this.metrics.generateCalls.inc({ outcome: 'ok' });
      this.metrics.batchRequests.observe(entries.length);
      this.metrics.batchSequences.observe(generation.samples.length);
      this.metrics.generatedTokens.inc(tokens);
      if (seconds > 0) this.metrics.tokensPerSecond.set(tokens / seconds);
      // Samples are input-major, n per prompt, and each request's prompts are consecutive.
      let offset = 0;
      for (const entry of entries) {
        const firstInput = offset / sampling.n;
        const samples = generation.samples
          .slice(offset, offset + entry.sequences)
          .map((sample) => ({ ...cutTo(sample, entry.request.maxTokens), input: sample.input - firstInput }));
        offset += entry.sequences;
        if (!entry.gone) entry.resolve(samples);
      }
    } catch (error) {
      const outcome = (error as { code?: string }).code === ErrorCode.Aborted ? 'aborted' : 'error';
      this.metrics.generateCalls.inc({ outcome });
      for (const entry of entries) if (!entry.gone) entry.reject(error);
    } finally {
      this.metrics.runningRequests.set(0);
    }
  }
}

/**
 * Requests with equal keys can share one native call. Greedy decoding ignores the seed, top-p, top-k and min-p (not
 * the repetition penalty), so greedy requests share a call whatever they say of those.
 */
function callKey(sampling: BatchSampling): string {
  const greedy = sampling.temperature === 0;
  return JSON.stringify([
    sampling.n,
    sampling.temperature,
    sampling.repetitionPenalty,
    greedy ? null : sampling.topP,
    greedy ? null : sampling.topK,
    greedy ? null : sampling.minP,
    greedy ? null : (sampling.seed ?? null),
    sampling.stop,
    sampling.ignoreEos,
  ]);
}

/**
 * The listener of a call that hands each request the draws of its own samples. Every sample of a call starts at
 * step 0, so a step's draw is token `step` of its sample: the draws past a request's max_tokens are those of steps
 * from max_tokens on.
 */
function routeTokens(entries: Entry[]): (step: StepTokens) => void {
  // Samples are input-major, n per prompt, and each request's prompts are consecutive.
  const owners: Entry[] = [];
  const firstSamples = new Map<Entry, number>();
  for (const entry of entries) {
    firstSamples.set(entry, owners.length);
    for (let i = 0; i < entry.sequences; i++) owners.push(entry);
  }
  return ({ step, samples, tokens, logprobs }) => {
    // Draws come in sample order, so each request's are one run.
    for (let start = 0, end = 0; start < samples.length; start = end) {
      const entry = owners[samples[start]];
      while (end < samples.length && owners[samples[end]] === entry) end++;
      if (entry.gone || !entry.request.onTokens || step >= entry.request.maxTokens) continue;
      const first = firstSamples.get(entry)!;
      entry.request.onTokens({
        step,
        samples: samples.subarray(start, end).map((sample) => sample - first),
        tokens: tokens.subarray(start, end),
        logprobs: logprobs.subarray(start, end),
      });
    }
  };
}

/** `sample` as a call run to `maxTokens` would have ended it: cut there, finishing by length. */
function cutTo(sample: Sample, maxTokens: number): Sample {
  if (sample.tokens.length <= maxTokens) return sample;
  const logprobs = sample.logprobs.slice(0, maxTokens);
  return {
    ...sample,
    tokens: sample.tokens.slice(0, maxTokens),
    logprobs,
    logprobSum: logprobs.reduce((sum, logprob) => sum + logprob, 0),
    finishReason: 'length',
  };
}

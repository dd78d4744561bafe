/**
 * `genius-native serve` over HTTP, with the official `openai` client and plain fetch, on the embedded model: its
 * completions are the engine's (greedy and seeded sampling equal Model.generate's), chat, streaming, requests that
 * arrive together served by one native call, client disconnects, a full queue (429), bad bodies (400), a missing key
 * (401), a body over the limit (413), a graceful SIGTERM, and a LoRA adapter served unmerged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { EMBEDDED_MODEL_DIR, Model, Tokenizer, endOfResponseIds, responseText } from '../lib';
import { runReference } from './helpers/python';
import { metric, startServe, waitFor, type ServeProcess } from './helpers/serve';

const KEY = 'test-key';
const auth = { authorization: `Bearer ${KEY}` };
const problem =
  'Tom had some marbles. Tom bought 5, then lost 3, and now has 14. How many marbles did Tom have at first?';

let server: ServeProcess;
let client: OpenAI;
let model: Model;
let tokenizer: Tokenizer;
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-serve-'));

beforeAll(async () => {
  server = await startServe(['--max-queue', '2', '--api-key', KEY, '--body-limit', '65536', '--runs', runsDir]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
  model = await Model.load(EMBEDDED_MODEL_DIR);
  tokenizer = await Tokenizer.fromDir(EMBEDDED_MODEL_DIR);
});

afterAll(async () => {
  await server.stop('SIGKILL');
  model.dispose();
  fs.rmSync(runsDir, { recursive: true, force: true });
});

/** What Model.generate gives for one prompt alone, as the server's batches call it. */
async function generated(
  prompt: number[],
  options: { maxTokens: number; temperature: number; seed: number; minP?: number; repetitionPenalty?: number },
) {
  const { maxTokens, ...sampling } = options;
  const { samples } = await model.generate([prompt], {
    maxNewTokens: maxTokens,
    ...sampling,
    eosTokenIds: endOfResponseIds(model, tokenizer),
  });
  return samples[0];
}

/** A completion streamed through the openai client, per choice: the text of each chunk, the log-probs, the finish. */
async function streamedCompletion(request: OpenAI.CompletionCreateParamsNonStreaming) {
  const stream = await client.completions.create({ ...request, stream: true });
  const choices: { pieces: string[]; logprobs: number[]; finish: string | null }[] = [];
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      const seen = (choices[choice.index] ??= { pieces: [], logprobs: [], finish: null });
      expect(seen.finish).toBeNull(); // nothing comes after a choice's last chunk
      seen.pieces.push(choice.text);
      seen.logprobs.push(...(choice.logprobs?.token_logprobs ?? []));
      seen.finish = choice.finish_reason;
    }
  }
  return choices;
}

const chatTokens = (text: string): number[] =>
  tokenizer.encode(tokenizer.applyChatTemplate([{ role: 'user', content: text }], { addGenerationPrompt: true }), {
    addSpecialTokens: false,
  });

/** A request that keeps the engine busy for a while: many sequences sampled to the end of the positions. */
const blocker = (): Promise<Response> =>
  fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'default', prompt: 'Tom', max_tokens: 220, n: 32, ignore_eos: true, seed: 1 }),
  });

/** The error a response's JSON body holds. */
const errorOf = async (response: Response) =>
  ((await response.json()) as { error: { code: string; param: string | null; message: string } }).error;

/** Whether a native call is running (with its requests). */
const running = async (): Promise<boolean> => (await metric(server.url, 'genius_running_requests', {}, auth)) > 0;

const post = (route: string, body: unknown, headers: Record<string, string> = auth, signal?: AbortSignal) =>
  fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });

describe('genius-native serve: completions', () => {
  it('lists the model it serves', async () => {
    const models = await client.models.list();
    expect(models.data.map((entry) => entry.id)).toEqual(['default']);
  });

  it('answers a greedy completion and a seeded sampled one as Model.generate does', async () => {
    const prompt = 'Tom had 3 marbles.';
    for (const [temperature, seed] of [
      [0, 5],
      [1, 7],
    ]) {
      const completion = await client.completions.create({
        model: 'default',
        prompt,
        max_tokens: 24,
        temperature,
        seed,
        logprobs: 0,
      });
      const sample = await generated(tokenizer.encode(prompt), { maxTokens: 24, temperature, seed });
      const [choice] = completion.choices;
      expect(choice.text).toBe(responseText(tokenizer, sample.tokens));
      expect(choice.finish_reason).toBe(sample.finishReason === 'length' ? 'length' : 'stop');
      const logprobs = choice.logprobs?.token_logprobs ?? [];
      expect(logprobs).toHaveLength(sample.tokens.length);
      logprobs.forEach((logprob, index) => expect(logprob).toBeCloseTo(sample.logprobs[index], 4));
      expect(completion.usage).toMatchObject({
        prompt_tokens: tokenizer.encode(prompt).length,
        completion_tokens: sample.tokens.length,
      });
    }
  });

  it("takes vLLM's repetition_penalty and min_p, as Model.generate's repetitionPenalty and minP", async () => {
    const prompt = 'Tom had 3 marbles.';
    for (const [temperature, seed, minP, repetitionPenalty] of [
      [0, 0, 0, 1.3],
      [0.8, 3, 0.1, 1.2],
    ]) {
      // vLLM's OpenAI server takes them as fields beside OpenAI's (the openai client's extra body).
      const completion = await client.completions.create({
        model: 'default',
        prompt,
        max_tokens: 16,
        temperature,
        seed,
        min_p: minP,
        repetition_penalty: repetitionPenalty,
      } as OpenAI.CompletionCreateParamsNonStreaming);
      const sample = await generated(tokenizer.encode(prompt), {
        maxTokens: 16,
        temperature,
        seed,
        minP,
        repetitionPenalty,
      });
      expect(completion.choices[0].text).toBe(responseText(tokenizer, sample.tokens));
      const plain = await generated(tokenizer.encode(prompt), { maxTokens: 16, temperature, seed });
      expect(sample.tokens).not.toEqual(plain.tokens);
    }
  });

  it('answers chat through the chat template, n choices at once', async () => {
    const chat = await client.chat.completions.create({
      model: 'default',
      messages: [{ role: 'user', content: problem }],
      temperature: 0,
    });
    const sample = await generated(chatTokens(problem), {
      maxTokens: 256 - chatTokens(problem).length,
      temperature: 0,
      seed: 0,
    });
    expect(chat.choices[0].message).toEqual({ role: 'assistant', content: responseText(tokenizer, sample.tokens) });
    expect(chat.choices[0].message.content).toMatch(/\\boxed\{/);
    const sampled = await client.chat.completions.create({
      model: 'default',
      messages: [{ role: 'user', content: problem }],
      n: 3,
      max_tokens: 8,
      stop: ['\n'],
    });
    expect(sampled.choices.map((choice) => choice.index)).toEqual([0, 1, 2]);
    for (const choice of sampled.choices) expect(choice.message.content).not.toMatch(/\n/);
  });

  it('streams completions and chat as Server-Sent Events that the openai client reads', async () => {
    const whole = await client.completions.create({ model: 'default', prompt: 'Tom', max_tokens: 12, temperature: 0 });
    const stream = await client.completions.create({
      model: 'default',
      prompt: 'Tom',
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices.map((choice) => choice.text).join('');
      usage ??= chunk.usage;
    }
    expect(text).toBe(whole.choices[0].text);
    expect(usage).toEqual(whole.usage);

    const chat = await client.chat.completions.create({
      model: 'default',
      messages: [{ role: 'user', content: problem }],
      temperature: 0,
      stream: true,
    });
    let content = '';
    let finish: string | null = null;
    for await (const chunk of chat) {
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(content).toMatch(/\\boxed\{/);
    expect(finish).toBe('stop');
  });

  it('streams a long completion as it is drawn: its chunks add up to the whole answer (greedy, seeded, n > 1)', async () => {
    for (const settings of [{ temperature: 0 }, { temperature: 1, seed: 11, n: 2 }]) {
      const request = { model: 'default', prompt: problem, max_tokens: 64, ignore_eos: true, logprobs: 0, ...settings };
      const whole = await client.completions.create(request);
      const streamed = await streamedCompletion(request);
      expect(streamed).toHaveLength(whole.choices.length);
      whole.choices.forEach((choice, index) => {
        const { pieces, logprobs, finish } = streamed[index];
        // Many chunks of text come before the choice's last one, which the end of the call sends.
        expect(pieces.slice(0, -1).filter((piece) => piece !== '').length).toBeGreaterThan(8);
        expect(pieces.join('')).toBe(choice.text);
        expect(logprobs).toEqual(choice.logprobs?.token_logprobs);
        expect(finish).toBe(choice.finish_reason);
      });
    }
  });

  it('cuts a streamed answer at stop strings exactly where the whole answer is cut', async () => {
    // The greedy answer is "14 + 3 = 17.\n17 + 3 = 20.\n20 - 5 = 15.\nThe answer is \\boxed{3}.": a one-token stop,
    // stops of several tokens, and stops whose start the text shows before it goes another way ("= 1", "20 - 5").
    const stops = [['\n'], ['= 20'], ['20 - 6', 'answer is'], ['}'], ['no such text']];
    for (const stop of stops) {
      const request = {
        model: 'default',
        messages: [{ role: 'user' as const, content: problem }],
        temperature: 0,
        stop,
      };
      const whole = await client.chat.completions.create(request);
      const stream = await client.chat.completions.create({ ...request, stream: true });
      const pieces: string[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        pieces.push(chunk.choices[0]?.delta.content ?? '');
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(pieces.join('')).toBe(whole.choices[0].message.content);
      expect(finish).toBe(whole.choices[0].finish_reason);
      expect(pieces.filter((piece) => piece !== '').length).toBeGreaterThan(1);
    }
  });

  it('streams each request of a shared call its own samples, cut at its own max_tokens', async () => {
    const requests = [
      { model: 'default', prompt: 'Tom had 3 marbles.', max_tokens: 40, temperature: 0, ignore_eos: true },
      { model: 'default', prompt: problem, max_tokens: 12, temperature: 0, ignore_eos: true },
    ];
    const busy = blocker();
    await waitFor(running, 'the blocker to run');
    const streams = requests.map((request) => streamedCompletion(request));
    await waitFor(async () => (await metric(server.url, 'genius_queue_depth', {}, auth)) === 2, 'both streams queued');
    expect((await busy).status).toBe(200);
    const streamed = await Promise.all(streams);
    for (const [index, request] of requests.entries()) {
      const whole = await client.completions.create(request);
      expect(streamed[index]).toHaveLength(1);
      expect(streamed[index][0].pieces.join('')).toBe(whole.choices[0].text);
      expect(streamed[index][0].finish).toBe('length');
    }
  });

  it('serves requests that wait together in one native call, and answers 429 when the queue is full', async () => {
    const callsBefore = await metric(server.url, 'genius_generate_calls_total', {}, auth);
    const singlesBefore = await metric(server.url, 'genius_batch_requests_bucket', { le: '1' }, auth);
    const busy = blocker();
    await waitFor(running, 'the blocker to run');
    // While the blocker runs, two requests queue up (the queue holds 2), and a third is turned away.
    const request = { model: 'default', prompt: 'Tom had 3 marbles.', max_tokens: 16, temperature: 0 };
    const waiting = [client.completions.create(request), client.completions.create(request)];
    await waitFor(async () => (await metric(server.url, 'genius_queue_depth', {}, auth)) === 2, 'two queued requests');
    const refused = await post('/v1/completions', request);
    expect(refused.status).toBe(429);
    expect(await errorOf(refused)).toMatchObject({ code: 'ERR_GENIUS_QUEUE_FULL' });

    expect((await busy).status).toBe(200);
    const answers = await Promise.all(waiting);
    const alone = await generated(tokenizer.encode(request.prompt), { maxTokens: 16, temperature: 0, seed: 0 });
    for (const answer of answers) expect(answer.choices[0].text).toBe(responseText(tokenizer, alone.tokens));
    // Two calls: the blocker's alone, then one for both waiting requests.
    expect((await metric(server.url, 'genius_generate_calls_total', {}, auth)) - callsBefore).toBe(2);
    expect((await metric(server.url, 'genius_batch_requests_bucket', { le: '1' }, auth)) - singlesBefore).toBe(1);
    expect(await metric(server.url, 'genius_requests_rejected_total', {}, auth)).toBe(1);
  });

  it('drops a queued request whose client goes away, and cancels a running call nobody waits for', async () => {
    const busy = blocker();
    await waitFor(running, 'the blocker to run');
    const leaving = new AbortController();
    const left = post('/v1/completions', { model: 'default', prompt: 'Tom', max_tokens: 4 }, auth, leaving.signal);
    await waitFor(async () => (await metric(server.url, 'genius_queue_depth', {}, auth)) === 1, 'the queued request');
    leaving.abort();
    await expect(left).rejects.toThrow();
    await waitFor(
      async () => (await metric(server.url, 'genius_requests_aborted_total', { where: 'queued' }, auth)) === 1,
      'the queued request to leave',
    );
    expect(await metric(server.url, 'genius_queue_depth', {}, auth)).toBe(0);
    expect((await busy).status).toBe(200);

    // A running call whose only client leaves is cancelled rather than run to its end.
    const cancelled = new AbortController();
    const leavingCall = fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'default', prompt: 'Tom', max_tokens: 220, n: 32, ignore_eos: true }),
      signal: cancelled.signal,
    });
    await waitFor(running, 'the call to start');
    cancelled.abort();
    await expect(leavingCall).rejects.toThrow();
    await waitFor(
      async () => (await metric(server.url, 'genius_generate_calls_total', { outcome: 'aborted' }, auth)) === 1,
      'the call to be cancelled',
    );
    expect(await metric(server.url, 'genius_requests_aborted_total', { where: 'running' }, auth)).toBe(1);
    const after = await client.completions.create({ model: 'default', prompt: 'Tom', max_tokens: 4, temperature: 0 });
    expect(after.choices).toHaveLength(1);
  });

  it('refuses bad bodies with a coded 400 that names the field', async () => {
    const cases: [unknown, string][] = [
      [{ model: 'default' }, 'prompt'],
      [{ model: 'default', prompt: 'Tom', temperature: 'hot' }, 'temperature'],
      [{ model: 'default', prompt: 'Tom', max_tokens: 0 }, 'max_tokens'],
      [{ model: 'default', prompt: 'Tom', max_tokens: 1000 }, 'max_tokens'],
      [{ model: 'default', prompt: 'Tom', frequency_penalty: 0.5 }, 'frequency_penalty'],
      [{ model: 'default', prompt: 'Tom', presence_penalty: 0.5 }, 'presence_penalty'],
      [{ model: 'default', prompt: 'Tom', repetition_penalty: 0 }, 'repetition_penalty'],
      [{ model: 'default', prompt: 'Tom', min_p: 1.5 }, 'min_p'],
      [{ model: 'default', prompt: 'Tom', logprobs: 5 }, 'logprobs'],
    ];
    for (const [body, param] of cases) {
      const response = await post('/v1/completions', body);
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: 'ERR_GENIUS_INVALID_ARG', param });
    }
    const chat = await post('/v1/chat/completions', { model: 'default', messages: [{ role: 'user' }] });
    expect(await errorOf(chat)).toMatchObject({ code: 'ERR_GENIUS_INVALID_ARG', param: 'messages.0.content' });
    const notJson = await post('/v1/completions', '{"model":');
    expect(notJson.status).toBe(400);
    expect((await errorOf(notJson)).code).toBe('ERR_GENIUS_INVALID_ARG');
    await expect(client.completions.create({ model: 'other', prompt: 'Tom' })).rejects.toMatchObject({
      status: 404,
      code: 'ERR_GENIUS_NOT_FOUND',
    });
  });

  it('wants the API key (401) on all but /healthz, and refuses a body over the limit (413)', async () => {
    const unkeyed = await post('/v1/completions', { model: 'default', prompt: 'Tom' }, {});
    expect(unkeyed.status).toBe(401);
    expect((await errorOf(unkeyed)).code).toBe('ERR_GENIUS_UNAUTHORIZED');
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    await expect(
      new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'nope', maxRetries: 0 }).models.list(),
    ).rejects.toMatchObject({ status: 401 });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const large = await post('/v1/completions', { model: 'default', prompt: 'x'.repeat(70_000) });
    expect(large.status).toBe(413);
    expect((await errorOf(large)).code).toBe('ERR_GENIUS_BODY_TOO_LARGE');
  });

  it('reports requests, queue depth, batch sizes, tokens/s and RSS in Prometheus format', async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
    for (const name of [
      'genius_http_requests_total',
      'genius_queue_depth',
      'genius_batch_requests_bucket',
      'genius_batch_sequences_bucket',
      'genius_generated_tokens_total',
      'genius_generation_tokens_per_second',
      'genius_runs',
      'genius_process_resident_memory_bytes',
    ]) {
      expect(text).toMatch(new RegExp(`^${name}`, 'm'));
    }
    expect(
      await metric(server.url, 'genius_http_requests_total', { route: '/v1/completions', status: '200' }, auth),
    ).toBeGreaterThan(0);
  });

  it('finishes the request in flight on SIGTERM, then exits', async () => {
    const inFlight = blocker();
    await waitFor(running, 'the request to run');
    const stopped = server.stop('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { choices: unknown[] }).choices).toHaveLength(32);
    expect(await stopped).toEqual({ code: 0, signal: null });
    expect(server.log()).toMatch(/serve: stopped/);
  });
});

describe('genius-native serve --adapter', () => {
  it('serves the adapted model, unmerged: its greedy completion is Model.generate’s with the adapter', async () => {
    const adapter = path.join(runsDir, 'adapter');
    runReference('lora_reference.py', {
      base: EMBEDDED_MODEL_DIR,
      ops: [{ op: 'make', out: adapter, r: 4, alpha: 64, targets: ['q_proj', 'down_proj'], rslora: false, seed: 5 }],
    });
    const adapted = await startServe(['--adapter', adapter]);
    try {
      using withAdapter = await Model.load(EMBEDDED_MODEL_DIR, { adapter });
      const prompt = 'Tom had 3 marbles.';
      const response = await fetch(`${adapted.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'default', prompt, max_tokens: 24, temperature: 0 }),
      });
      const text = ((await response.json()) as { choices: { text: string }[] }).choices[0].text;
      const { samples } = await withAdapter.generate([tokenizer.encode(prompt)], {
        maxNewTokens: 24,
        temperature: 0,
        eosTokenIds: endOfResponseIds(withAdapter, tokenizer),
      });
      expect(text).toBe(responseText(tokenizer, samples[0].tokens));
      const base = await generated(tokenizer.encode(prompt), { maxTokens: 24, temperature: 0, seed: 0 });
      expect(text).not.toBe(responseText(tokenizer, base.tokens));
    } finally {
      await adapted.stop('SIGKILL');
    }
  });
});

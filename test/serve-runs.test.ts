/**
 * Genius runs as jobs of `genius-native serve`, over HTTP on the embedded model with tiny sizes: a run to its end
 * with its events as Server-Sent Events, a run aborted with DELETE, and the same run listed and resumed to its end by
 * a server started again on the same runs directory, then stopped by SIGTERM mid-run and resumed again to its end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServe, type ServeProcess } from './helpers/serve';

interface RunInfo {
  id: string;
  state: string;
  dir: string;
  result?: { model: string; report: string };
}

interface StreamedEvent {
  id: number;
  event: string;
  data: { type: string; state?: string; [key: string]: unknown };
}

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-serve-runs-'));
const problems = fs
  .readFileSync(path.join(__dirname, '..', 'data', 'changes', 'validation.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .slice(0, 10)
  .map((line) => JSON.parse(line) as { instruction: string; response: string });

/** A run of `queries` problems at sizes that take seconds: one beam, two candidates, one foresight step. */
const tinyRun = (queries: number) => ({
  queries: problems.slice(0, queries).map((problem) => problem.instruction),
  eval: problems.slice(8, 10),
  iterations: 1,
  explore: { beams: 1, rollouts: 2, foresightSteps: 1, maxTokens: 16, finalMaxTokens: 48, queriesInFlight: 1 },
  train: { microBatch: 2, gradAccum: 1, lr: 1e-4 },
  evaluation: { maxTokens: 48 },
});

let server: ServeProcess;

afterAll(async () => {
  await server.stop('SIGKILL');
  fs.rmSync(runsDir, { recursive: true, force: true });
});

async function request<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** Reads a run's event stream; `onEvent` may act on each event as it comes. Ends when the server ends the stream. */
async function readEvents(id: string, onEvent: (event: StreamedEvent) => void = () => undefined) {
  const response = await fetch(`${server.url}/v1/genius/runs/${id}/events`);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: StreamedEvent[] = [];
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const fields = Object.fromEntries(
        buffered
          .slice(0, end)
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]),
      );
      buffered = buffered.slice(end + 2);
      const event = { id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data) } as StreamedEvent;
      events.push(event);
      onEvent(event);
    }
  }
  return events;
}

const recordLines = (run: RunInfo): string[] =>
  fs
    .readFileSync(path.join(run.dir, 'iteration-1', 'records.jsonl'), 'utf8')
    .trim()
    .split('\n');

describe('genius-native serve: Genius runs', () => {
  let aborted: RunInfo;

  beforeAll(async () => {
    server = await startServe(['--runs', runsDir]);
  });

  it('runs a job to its end, streaming its typed events', async () => {
    const created = await request<RunInfo>('POST', '/v1/genius/runs', tinyRun(2));
    expect(created.status).toBe(201);
    expect(created.body.state).toBe('running');
    const events = await readEvents(created.body.id);
    const types = new Set(events.map((event) => event.event));
    for (const type of ['progress', 'record', 'pair', 'step', 'checkpoint', 'evaluation', 'done']) {
      expect(types).toContain(type);
    }
    expect(events.map((event) => event.id)).toEqual(events.map((_, index) => index));
    expect(events.at(-1)?.data).toEqual({ id: events.length - 1, type: 'state', state: 'succeeded' });
    const run = (await request<RunInfo>('GET', `/v1/genius/runs/${created.body.id}`)).body;
    expect(run.state).toBe('succeeded');
    expect(fs.existsSync(run.result?.report as string)).toBe(true);
    expect(recordLines(run)).toHaveLength(2);
    // A client that comes later gets the whole stream again, from the start.
    expect((await readEvents(run.id)).map((event) => event.data)).toEqual(events.map((event) => event.data));
  });

  it('refuses bad run settings with a coded 400 naming the field', async () => {
    const unknown = await request<{ error: { code: string; param: string } }>('POST', '/v1/genius/runs', {
      explore: { beam: 2 },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'ERR_GENIUS_INVALID_ARG', param: 'explore.beam' });
    const invalid = await request<{ error: { code: string; param: string } }>('POST', '/v1/genius/runs', {
      ...tinyRun(1),
      explore: { beams: 0 },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: 'ERR_GENIUS_INVALID_ARG', param: 'beams' });
    for (const [chatTemplate, param] of [
      [{ kwargs: { enable_thinking: false }, date: '2024-07-26' }, 'chatTemplate.date'],
      [{ kwargs: { messages: [] } }, 'chatTemplate.kwargs.messages'],
      [{ now: '26 Jul 2024' }, 'chatTemplate.now'],
    ] as const) {
      const refused = await request<{ error: { code: string; param: string } }>('POST', '/v1/genius/runs', {
        ...tinyRun(1),
        chatTemplate,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'ERR_GENIUS_INVALID_ARG', param });
    }
    expect((await request('GET', '/v1/genius/runs/nope')).status).toBe(404);
  });

  it('aborts a running job at its next safe point', async () => {
    const created = await request<RunInfo>('POST', '/v1/genius/runs', tinyRun(6));
    let deleted: Promise<{ status: number; body: RunInfo }> | undefined;
    const events = await readEvents(created.body.id, (event) => {
      if (event.event === 'record' && !deleted)
        deleted = request<RunInfo>('DELETE', `/v1/genius/runs/${created.body.id}`);
    });
    const answer = await (deleted as Promise<{ status: number; body: RunInfo }>);
    expect(answer.status).toBe(200);
    expect(answer.body.state).toBe('aborted');
    expect(events.at(-1)?.data.state).toBe('aborted');
    expect(events.map((event) => event.event)).not.toContain('done');
    aborted = answer.body;
    expect(recordLines(aborted).length).toBeLessThan(6);
    expect((await request('DELETE', `/v1/genius/runs/${aborted.id}`)).status).toBe(409);
  });

  it('lists earlier runs after a restart, and resumes one across a SIGTERM to its end', async () => {
    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    server = await startServe(['--runs', runsDir]);
    const list = (await request<{ data: RunInfo[] }>('GET', '/v1/genius/runs')).body.data;
    expect(list.map((run) => run.state)).toEqual(['succeeded', 'aborted']);

    // Resumed, then the server is stopped while the run explores: the run stops at its next safe point.
    const resumed = await request<RunInfo>('POST', `/v1/genius/runs/${aborted.id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.state).toBe('running');
    const recordsBefore = recordLines(aborted).length;
    let stopped: ReturnType<ServeProcess['stop']> | undefined;
    let attempts = 0;
    const attempt = await readEvents(aborted.id, (event) => {
      // The stream replays the first attempt's events first: stop on a record of this attempt.
      if (event.data.state === 'running') attempts++;
      if (event.event === 'record' && attempts === 2 && !stopped) stopped = server.stop('SIGTERM');
    });
    expect(await stopped).toEqual({ code: 0, signal: null });
    expect(attempt.at(-1)?.data.state).toBe('interrupted');
    expect(recordLines(aborted).length).toBeGreaterThan(recordsBefore);

    server = await startServe(['--runs', runsDir]);
    expect((await request<RunInfo>('GET', `/v1/genius/runs/${aborted.id}`)).body.state).toBe('interrupted');
    expect((await request('POST', `/v1/genius/runs/${aborted.id}/resume`)).status).toBe(200);
    const events = await readEvents(aborted.id);
    expect(events.at(-1)?.data.state).toBe('succeeded');
    // The stream holds every attempt's events, in order.
    const states = events.filter((event) => event.event === 'state').map((event) => event.data.state);
    expect(states).toEqual(['running', 'aborted', 'running', 'interrupted', 'running', 'succeeded']);
    const records = recordLines(aborted).map((line) => (JSON.parse(line) as { id: number }).id);
    expect(records.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const run = (await request<RunInfo>('GET', `/v1/genius/runs/${aborted.id}`)).body;
    expect(run.state).toBe('succeeded');
    expect(fs.existsSync(path.join(run.dir, 'report.md'))).toBe(true);
  });
});

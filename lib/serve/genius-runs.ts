/**
 * Genius runs as jobs of the server. Each run is a directory under the server's runs directory:
 *
 *     <runs>/<id>/run.json        the request (inline queries swapped for their file), state, result or error
 *     <runs>/<id>/events.jsonl    every event the run gave, in order, as its event stream sends them
 *     <runs>/<id>/queries.jsonl   the queries, when the request gave them inline (eval.jsonl likewise)
 *     <runs>/<id>/run/            runPipeline's run directory (what `genius-native train --out` writes)
 *
 * A run trains its own copy of the policy, loaded from the request's model (by default the served one's directory):
 * the served model is never trained, so completions keep answering from it unchanged. Both share the one torch
 * thread that runs every native call, so a job's calls and the completions' batches take turns, call by call.
 *
 * Stopping a run (DELETE) aborts it at its next safe point; a server that shuts down stops its runs the same way
 * and marks them interrupted, and one that starts finds runs a killed server left running and marks them so too.
 * Either can be resumed: runPipeline continues the run directory from the query or step it had reached.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  ErrorCode,
  GeniusError,
  resolveRunSettings,
  runPipeline,
  type PipelineEvent,
  type PipelineOptions,
} from '../index';
import type { LoadOptions } from '../index';
import { writeFileAtomic } from '../data/atomic-file';
import type { ServerMetrics } from './metrics';

export const RUN_STATES = ['running', 'succeeded', 'failed', 'aborted', 'interrupted'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** A query given inline: its text, or an object as a query file's line holds it. */
type InlineQuery = string | { instruction: string; id?: string | number };
type InlineProblem = { instruction: string; response: string | number; id?: string | number };

/** What a client asks for: runPipeline's settings, with the queries and the evaluation set inline or as files. */
export interface RunRequest extends Omit<PipelineOptions, 'queries' | 'eval' | 'out' | 'resume' | 'load' | 'signal'> {
  queries?: string | InlineQuery[];
  eval?: string | null | InlineProblem[];
}

/** run.json: what a client reads of a run. */
export interface RunInfo {
  id: string;
  state: RunState;
  /** runPipeline's run directory. */
  dir: string;
  created: string;
  updated: string;
  /** The request, with inline queries and problems replaced by the files they were written to. */
  request: Omit<RunRequest, 'queries' | 'eval'> & { queries?: string; eval?: string | null };
  /** The trained model and the report, once the run succeeded. */
  result?: { model: string; report: string };
  error?: { code: string; message: string };
}

/** An event of a run's stream: runPipeline's events (evaluations without their per-problem results), and states. */
export type RunEvent = { id: number } & (
  | Exclude<PipelineEvent, { type: 'evaluation' | 'start' }>
  | { type: 'start'; dir: string }
  | Omit<Extract<PipelineEvent, { type: 'evaluation' }>, 'results'>
  | { type: 'state'; state: RunState; error?: RunInfo['error'] }
);

const RUN_FILE = 'run.json';
const EVENTS_FILE = 'events.jsonl';

class GeniusRun {
  /** Loaded from events.jsonl on first need; appended to as the run goes. */
  #events: RunEvent[] | undefined;
  /** Wakes the streams that follow the run: any number of clients may follow one run. */
  readonly #changed = new EventEmitter().setMaxListeners(0);
  #controller: AbortController | undefined;
  #running: Promise<void> | undefined;
  #log: WriteStream | undefined;
  #onState: () => void = () => undefined;

  constructor(
    readonly root: string,
    public info: RunInfo,
  ) {}

  get active(): boolean {
    return this.#running !== undefined;
  }

  async events(): Promise<RunEvent[]> {
    if (!this.#events) {
      const text = await fs.readFile(path.join(this.root, EVENTS_FILE), 'utf8').catch(() => '');
      // A line cut short by a killed server is not an event.
      this.#events = text
        .split('\n')
        .filter((line) => line.endsWith('}'))
        .map((line) => JSON.parse(line) as RunEvent);
    }
    return this.#events;
  }

  /** The run's events after `after` (an event id), then each as it comes, until the run stops. */
  async *follow(after: number, signal: AbortSignal): AsyncGenerator<RunEvent> {
    let next = after + 1;
    for (;;) {
      const events = await this.events();
      while (next < events.length) yield events[next++];
      if (!this.active || signal.aborted) return;
      await once(this.#changed, 'event', { signal }).catch(() => undefined);
    }
  }

  /** Runs runPipeline on the run directory (resuming it when asked) until it ends or is stopped. */
  async start(options: PipelineOptions, resume: boolean, onState: () => void): Promise<void> {
    await this.events();
    this.#log = createWriteStream(path.join(this.root, EVENTS_FILE), { flags: 'a' });
    const controller = new AbortController();
    this.#controller = controller;
    this.#onState = onState;
    delete this.info.error;
    await this.#setState('running');
    this.#running = (async () => {
      try {
        for await (const event of runPipeline({ ...options, resume, signal: controller.signal })) {
          this.#append(event);
          if (event.type === 'done') this.info.result = { model: event.model, report: event.report };
        }
        await this.#setState('succeeded');
      } catch (error) {
        const { code, message } = error as { code?: string; message: string };
        if (controller.signal.aborted && code === ErrorCode.Aborted) {
          await this.#setState(controller.signal.reason as RunState);
        } else {
          this.info.error = { code: code ?? ErrorCode.Internal, message };
          await this.#setState('failed');
        }
      } finally {
        this.#log?.end();
        this.#running = undefined;
        this.#changed.emit('event');
      }
    })();
  }

  /** Stops the run at its next safe point, as `state` (aborted or interrupted), and waits for it to stop. */
  async stop(state: 'aborted' | 'interrupted'): Promise<void> {
    const running = this.#running;
    if (!running) return;
    this.#controller?.abort(state);
    await running;
  }

  /** Keeps an event (in memory and in events.jsonl) and wakes the streams that follow the run. */
  #append(event: PipelineEvent | { type: 'state'; state: RunState; error?: RunInfo['error'] }): void {
    const events = this.#events as RunEvent[];
    const summary =
      event.type === 'evaluation'
        ? { type: event.type, iteration: event.iteration, report: event.report, gain: event.gain, file: event.file }
        : event.type === 'start'
          ? { type: event.type, dir: event.dir }
          : event;
    const logged = { id: events.length, ...summary } as RunEvent;
    events.push(logged);
    this.#log?.write(`${JSON.stringify(logged)}\n`);
    this.#changed.emit('event');
  }

  async #setState(state: RunState): Promise<void> {
    this.info = { ...this.info, state, updated: new Date().toISOString() };
    await writeRunInfo(this.root, this.info);
    this.#append({ type: 'state', state, ...(this.info.error && { error: this.info.error }) });
    this.#onState();
  }
}

export class GeniusRuns {
  readonly #runs = new Map<string, GeniusRun>();

  private constructor(
    private readonly root: string,
    private readonly defaults: { model: string; load: Omit<LoadOptions, 'signal'> },
    private readonly metrics: ServerMetrics,
  ) {}

  /** The runs under `root` (made if missing); a run a killed server left running is marked interrupted. */
  static async open(
    root: string,
    defaults: { model: string; load: Omit<LoadOptions, 'signal'> },
    metrics: ServerMetrics,
  ): Promise<GeniusRuns> {
    const runs = new GeniusRuns(path.resolve(root), defaults, metrics);
    await fs.mkdir(runs.root, { recursive: true });
    for (const entry of await fs.readdir(runs.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(runs.root, entry.name);
      const info = await fs
        .readFile(path.join(dir, RUN_FILE), 'utf8')
        .then((text) => JSON.parse(text) as RunInfo)
        .catch(() => undefined);
      if (!info) continue;
      if (info.state === 'running') {
        info.state = 'interrupted';
        await writeRunInfo(dir, info);
      }
      runs.#runs.set(info.id, new GeniusRun(dir, info));
    }
    runs.#count();
    return runs;
  }

  list(): RunInfo[] {
    return [...this.#runs.values()].map((run) => run.info).sort((a, b) => a.created.localeCompare(b.created));
  }

  get(id: string): GeniusRun {
    const run = this.#runs.get(id);
    if (!run) throw new GeniusError(ErrorCode.NotFound, `argument 'id' must name a run: there is no run '${id}'`);
    return run;
  }

  /** Starts a new run; its settings are checked before anything is written. */
  async create(request: RunRequest): Promise<RunInfo> {
    const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    const root = path.join(this.root, id);
    const dir = path.join(root, 'run');
    const queries = typeof request.queries === 'object' ? path.join(root, 'queries.jsonl') : request.queries;
    const evalFile = Array.isArray(request.eval) ? path.join(root, 'eval.jsonl') : request.eval;
    const stored = { ...request, model: request.model ?? this.defaults.model, queries, eval: evalFile };
    // Refuses bad settings (ERR_GENIUS_INVALID_ARG, the server's 400) before the run exists.
    resolveRunSettings(this.#pipelineOptions(stored, dir));
    await fs.mkdir(root, { recursive: true });
    if (typeof request.queries === 'object') await writeLines(queries as string, request.queries.map(queryLine));
    if (Array.isArray(request.eval)) await writeLines(evalFile as string, request.eval);
    const now = new Date().toISOString();
    const run = new GeniusRun(root, { id, state: 'running', dir, created: now, updated: now, request: stored });
    this.#runs.set(id, run);
    await run.start(this.#pipelineOptions(stored, dir), false, () => this.#count());
    return run.info;
  }

  /** Continues a run that was stopped, interrupted or failed, from where its directory says it was. */
  async resume(id: string): Promise<RunInfo> {
    const run = this.get(id);
    if (run.active) throw new GeniusError(ErrorCode.Conflict, `run '${id}' is running already`);
    if (run.info.state === 'succeeded') throw new GeniusError(ErrorCode.Conflict, `run '${id}' has finished`);
    await run.start(this.#pipelineOptions(run.info.request, run.info.dir), true, () => this.#count());
    return run.info;
  }

  /** Aborts a running run at its next safe point; resolves once it has stopped. */
  async abort(id: string): Promise<RunInfo> {
    const run = this.get(id);
    if (!run.active) throw new GeniusError(ErrorCode.Conflict, `run '${id}' is not running (it is ${run.info.state})`);
    await run.stop('aborted');
    return run.info;
  }

  /** Stops every running run at its next safe point (they can be resumed by a later server). */
  async close(): Promise<void> {
    await Promise.all([...this.#runs.values()].map((run) => run.stop('interrupted')));
  }

  #pipelineOptions(request: RunInfo['request'], dir: string): PipelineOptions {
    return { ...request, out: dir, load: this.defaults.load };
  }

  #count(): void {
    for (const state of RUN_STATES) {
      this.metrics.runs.set({ state }, this.list().filter((info) => info.state === state).length);
    }
  }
}

/** A query given inline, as a query file's line: a bare text becomes its instruction. */
function queryLine(query: InlineQuery): object {
  return typeof query === 'string' ? { instruction: query } : query;
}

async function writeLines(file: string, lines: object[]): Promise<void> {
  await fs.writeFile(file, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
}

/** run.json, written aside and renamed over the old one, so that a killed server never leaves half of it. */
function writeRunInfo(root: string, info: RunInfo): Promise<void> {
  return writeFileAtomic(path.join(root, RUN_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

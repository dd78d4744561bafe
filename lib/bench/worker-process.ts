/**
 * The benchmark's handle on one side's worker process (ours or the Python reference's): it sends the protocol's
 * JSON lines (lib/bench/protocol.ts) and awaits the answers one at a time. Lines on stdout that are not JSON
 * events (a library's own prints) and everything on stderr are kept, to be shown if the worker fails.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';
import type { ErrorEvent, Measurement, MeasureParams, ReadyEvent, SetupOf, WorkerWorkload } from './protocol';

/** Which side of the comparison a worker runs. */
export type Side = 'ours' | 'reference';

export interface WorkerCommand {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** A measurement as it arrives, before the workload that it belongs to gives it its type. */
type Event = ReadyEvent | { event: 'measurement' } | ErrorEvent;

/** Output kept for an error message: the last this many characters. */
const KEPT_OUTPUT = 4000;

export class WorkerError extends Error {}

export class WorkerProcess<W extends WorkerWorkload> {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #events: AsyncIterator<string>;
  #output = '';
  #exited: Promise<number | null>;

  private constructor(
    readonly side: Side,
    readonly workload: W,
    spec: WorkerCommand,
  ) {
    this.#child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: 'pipe' });
    this.#child.stderr.on('data', (chunk: Buffer) => this.#keep(chunk.toString()));
    this.#exited = new Promise((resolve) => this.#child.on('close', (code) => resolve(code)));
    this.#child.on('error', (error) => this.#keep(`${error.message}\n`));
    // Writing to a worker that died fails on its stdin; the next read reports the death with its output.
    this.#child.stdin.on('error', (error) => this.#keep(`stdin: ${error.message}\n`));
    this.#events = readline.createInterface({ input: this.#child.stdout, crlfDelay: Infinity })[Symbol.asyncIterator]();
  }

  /** Starts a worker and sets it up; resolves once it is ready. */
  static async start<W extends WorkerWorkload>(
    side: Side,
    workload: W,
    spec: WorkerCommand,
    setup: SetupOf[W],
  ): Promise<{ worker: WorkerProcess<W>; ready: ReadyEvent }> {
    const worker = new WorkerProcess(side, workload, spec);
    worker.#send({ workload, setup });
    const ready = await worker.#next();
    if (ready.event !== 'ready') throw worker.#failure(ready);
    return { worker, ready };
  }

  /** The worker's process id (its CPU time is the benchmark's own, not another process's load). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** One measurement; throws WorkerError if the worker reports a failure or dies. */
  async measure(params: MeasureParams = {}): Promise<Measurement<W>> {
    this.#send(params);
    const event = await this.#next();
    if (event.event !== 'measurement') throw this.#failure(event);
    return event as unknown as Measurement<W>;
  }

  /** Ends the worker (its stdin closes and it exits). */
  async close(): Promise<void> {
    this.#child.stdin.end();
    await this.#exited;
  }

  /** Ends the worker at once (after a failure). */
  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }

  #keep(text: string): void {
    this.#output = (this.#output + text).slice(-KEPT_OUTPUT);
  }

  #send(message: object): void {
    this.#child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  async #next(): Promise<Event> {
    for (;;) {
      const line = await this.#events.next();
      if (line.done) {
        const code = await this.#exited;
        throw new WorkerError(`${this.#name()} exited (status ${code}) before answering:\n${this.#output}`);
      }
      if (line.value.startsWith('{"event"')) return JSON.parse(line.value) as Event;
      this.#keep(`${line.value}\n`);
    }
  }

  #failure(event: Event): WorkerError {
    const message = event.event === 'error' ? event.message : `unexpected ${event.event} event`;
    return new WorkerError(`${this.#name()} failed: ${message}\n${this.#output}`);
  }

  #name(): string {
    return `the ${this.side === 'ours' ? 'genius-native' : 'Python reference'} ${this.workload} worker`;
  }
}

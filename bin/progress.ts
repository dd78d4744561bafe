/**
 * Progress of a long command: a cli-progress bar with ETA and tokens/s on a terminal, a plain line at most every
 * few seconds otherwise (logs, CI), or one JSON object per update with --json. Bars and lines go to stderr; JSON
 * lines go to stdout, where a --json consumer reads them.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface ProgressState {
  done: number;
  total: number;
  generatedTokens: number;
  elapsedSeconds: number;
}

const PLAIN_INTERVAL_SECONDS = 5;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.round(seconds);
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

export class ProgressReporter {
  readonly #mode: 'bar' | 'plain' | 'json' | 'silent';
  #bar: SingleBar | undefined;
  #lastPlain = -Infinity;
  /** Items done when this reporter began (a resumed run's), which say nothing about the current speed. */
  #initialDone: number | undefined;

  /** `silent`: a rank other than 0 of a distributed run, whose progress rank 0 reports. */
  constructor(
    private readonly label: string,
    private readonly unit: string,
    json: boolean,
    silent = false,
  ) {
    this.#mode = silent ? 'silent' : json ? 'json' : process.stderr.isTTY ? 'bar' : 'plain';
  }

  update(state: ProgressState): void {
    if (this.#mode === 'silent') return;
    this.#initialDone ??= state.done;
    const tokensPerSecond = state.elapsedSeconds > 0 ? state.generatedTokens / state.elapsedSeconds : 0;
    if (this.#mode === 'json') {
      console.log(JSON.stringify({ event: 'progress', ...state, tokensPerSecond }));
      return;
    }
    const rate = (state.done - this.#initialDone) / state.elapsedSeconds;
    const payload = {
      speed: tokensPerSecond.toFixed(1),
      remaining: rate > 0 ? duration((state.total - state.done) / rate) : '?',
    };
    if (this.#mode === 'bar') {
      if (this.#bar === undefined) {
        this.#bar = new SingleBar(
          {
            format: `${this.label} {bar} {value}/{total} ${this.unit} | ETA {remaining} | {speed} tok/s`,
            hideCursor: true,
          },
          Presets.shades_classic,
        );
        this.#bar.start(state.total, state.done, payload);
      }
      this.#bar.update(state.done, payload);
      return;
    }
    const finished = state.done === state.total;
    if (!finished && state.elapsedSeconds - this.#lastPlain < PLAIN_INTERVAL_SECONDS) return;
    this.#lastPlain = state.elapsedSeconds;
    console.error(
      `${this.label}: ${state.done}/${state.total} ${this.unit}, ${payload.speed} tok/s, ` +
        `elapsed ${duration(state.elapsedSeconds)}, ETA ${payload.remaining}`,
    );
  }

  /** A message between updates (it does not tear the bar). */
  note(message: string): void {
    if (this.#mode === 'silent') return;
    if (this.#mode === 'json') console.log(JSON.stringify({ event: 'note', message }));
    // Clear the bar's line; the bar redraws itself below the message at its next update.
    else if (this.#bar !== undefined) process.stderr.write(`\r\x1b[2K${message}\n`);
    else console.error(message);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}

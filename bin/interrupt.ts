/**
 * Ctrl-C for long commands: the first SIGINT aborts a signal, so the command stops at its next safe point (the
 * native call in flight is cancelled, finished work is already on disk); a second one exits at once.
 */
import { ErrorCode } from '../lib';

export class Interrupt implements Disposable {
  readonly #controller = new AbortController();
  readonly #onSignal = (): void => {
    if (this.#controller.signal.aborted) process.exit(130);
    console.error('\nStopping at the next safe point (Ctrl-C again to quit at once)...');
    this.#controller.abort();
  };

  constructor() {
    process.on('SIGINT', this.#onSignal);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether `error` is the abort this interrupt caused. */
  stopped(error: unknown): boolean {
    return this.#controller.signal.aborted && (error as { code?: string }).code === ErrorCode.Aborted;
  }

  [Symbol.dispose](): void {
    process.off('SIGINT', this.#onSignal);
  }
}

/**
 * Drives garbage into every root export of lib/index.ts (functions, constructors, static methods; async
 * generators are stepped once) and prints one JSON line: the calls made and those that failed without an
 * ERR_GENIUS_* code. Run in a child process (test/fuzz.test.ts), so that a crash or a signal shows as such; its
 * working directory is a temporary one, since a call given no options may start a run in runs/.
 * argv: <seed> <calls>
 */
import * as lib from '../../lib';
import { seededRandom } from '../../lib/genius/random';

const GARBAGE: (() => unknown)[] = [
  () => undefined,
  () => null,
  () => 0,
  () => -1,
  () => 2.5,
  () => NaN,
  () => Infinity,
  () => 2 ** 53,
  () => '',
  () => 'x',
  () => '/dev/null',
  () => '/proc/genius-native-fuzz/run',
  () => [],
  () => [1, 2, 3],
  () => [NaN, -1],
  () => ['a', {}],
  () => [[1, 2], [3]],
  () => ({}),
  () => ({ a: 1 }),
  () => ({ signal: 'abort', onProgress: 3 }),
  () => ({ instruction: 5, response: [] }),
  () => ({ prompt: 'p', chosen: 'c', rejected: null }),
  () => ({ greedy: null, samples: 'x' }),
  () => () => 1,
  () => Symbol('garbage'),
  () => 10n,
  () => true,
  () => new Int32Array([1, 2, 3]),
  () => new Float32Array(new SharedArrayBuffer(8)),
  () => new Map([[1, 2]]),
  () => Object.create(null) as unknown,
];

type Target = { name: string; call: (args: unknown[]) => unknown };

/** The callables among the root exports: functions and constructors, and the static methods of classes. */
function targets(): Target[] {
  const found: Target[] = [];
  for (const [name, value] of Object.entries(lib)) {
    if (typeof value !== 'function') continue;
    const isClass = /^class\b/.test(Function.prototype.toString.call(value));
    if (isClass) {
      const Class = value as unknown as new (...args: unknown[]) => unknown;
      found.push({ name: `new ${name}`, call: (args) => new Class(...args) });
      for (const key of Object.getOwnPropertyNames(value)) {
        const method = (value as unknown as Record<string, unknown>)[key];
        if (typeof method !== 'function' || ['length', 'name', 'prototype'].includes(key)) continue;
        found.push({
          name: `${name}.${key}`,
          call: (args) => (method as (...a: unknown[]) => unknown).apply(value, args),
        });
      }
    } else {
      found.push({ name, call: (args) => (value as (...a: unknown[]) => unknown)(...args) });
    }
  }
  return found;
}

/** Settles what a call returned: a promise is awaited, an async iterator stepped once (then closed). */
async function settle(result: unknown): Promise<void> {
  if (result instanceof Promise) {
    await result;
  } else if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) {
    const iterator = result as AsyncGenerator<unknown>;
    try {
      await iterator.next();
    } finally {
      await iterator.return(undefined);
    }
  }
}

async function main(): Promise<void> {
  const [seed, calls] = process.argv.slice(2).map(Number);
  const draw = seededRandom('fuzz', seed);
  const all = targets();
  const uncoded: { call: string; error: string }[] = [];
  for (let index = 0; index < calls; index++) {
    const target = all[index % all.length];
    const args = Array.from({ length: Math.floor(draw() * 4) }, () => GARBAGE[Math.floor(draw() * GARBAGE.length)]());
    try {
      await settle(target.call(args));
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (!(error instanceof Error) || typeof code !== 'string' || !code.startsWith('ERR_GENIUS_')) {
        const shown = args.map((arg) => (typeof arg === 'symbol' || typeof arg === 'bigint' ? String(arg) : arg));
        let argsText: string;
        try {
          argsText = JSON.stringify(shown);
        } catch {
          argsText = String(shown);
        }
        uncoded.push({ call: `${target.name}(${argsText})`, error: String(error) });
      }
    }
  }
  process.stdout.write(JSON.stringify({ targets: all.map((target) => target.name), calls, uncoded }) + '\n');
}

void main();

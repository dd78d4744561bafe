/** Starts `genius-native serve` as a child process on a free port of 127.0.0.1, and reads its /metrics. */
import { spawnCli } from './cli';

export interface ServeProcess {
  url: string;
  /** Sends `signal` and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the server wrote on stderr so far. */
  log(): string;
}

export async function startServe(args: string[]): Promise<ServeProcess> {
  const child = spawnCli(['serve', '--port', '0', ...args]);
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const listening = /listening on (http:\/\/\S+)/.exec(log);
      if (listening) resolve(listening[1]);
    });
    void exited.then(({ code }) => reject(new Error(`serve exited (${code}) before listening:\n${log}`)));
  });
  return {
    url,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    log: () => log,
  };
}

/** The sum of a metric's samples whose labels include `labels`, from the server's /metrics. */
export async function metric(
  url: string,
  name: string,
  labels: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const given = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => given[key] === value)) sum += Number(match[3]);
  }
  return sum;
}

/** Polls until `condition` holds (every 10 ms, for at most `seconds`). */
export async function waitFor(condition: () => Promise<boolean>, what: string, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

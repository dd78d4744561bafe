#!/usr/bin/env node
/**
 * Benchmark of `genius-native serve` (not a test): completions on the embedded model at 1, 8, 32 and 64 concurrent
 * clients, each sending its next request as soon as its last is answered, against the same requests served one at a
 * time (1 client); throughput (requests/s, sampled tokens/s) and latency (p50, p99); then the server's RSS over
 * 10,000 requests; every failed request counted. Every request samples a fixed number of tokens (ignore_eos), so
 * each is the same work. Uses the compiled CLI (dist/), so run `npx tsc -p .` first.
 *
 *     node scripts/bench-serve.js [--requests 256] [--tokens 32] [--rss-requests 10000] [--rss-tokens 8]
 *
 * Prints a Markdown table and the machine's load (uptime) before and after.
 */
'use strict';
const { spawn, execSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const REQUESTS = flag('requests', 256);
const TOKENS = flag('tokens', 32);
const RSS_REQUESTS = flag('rss-requests', 10000);
const RSS_TOKENS = flag('rss-tokens', 8);
const CONCURRENCY = [1, 8, 32, 64];
const PROMPT =
  'Tom had some marbles. Tom bought 5, then lost 3, and now has 14. How many marbles did Tom have at first?';

/** Starts the server on a free port; resolves with its URL and a stop function. */
function startServer() {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-serve-'));
  const cli = path.join(__dirname, '..', 'bin', 'genius-native.js');
  // The queue holds every client's request, so no request is refused: the benchmark measures serving, not refusals.
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--max-queue', '1024', '--runs', runs]);
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const listening = /listening on (http:\/\/\S+)/.exec(log);
      if (listening) resolve({ url: listening[1], stop: () => child.kill('SIGTERM') });
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${log}`)));
  });
}

async function complete(url, maxTokens) {
  const started = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'default', prompt: PROMPT, max_tokens: maxTokens, ignore_eos: true }),
  });
  const body = await response.json();
  return {
    ok: response.status === 200,
    seconds: (performance.now() - started) / 1000,
    tokens: body.usage?.completion_tokens ?? 0,
  };
}

/** `total` requests from `clients` clients in closed loops; `onDone(count)` after each answer. */
async function load(url, clients, total, maxTokens, onDone = async () => {}) {
  const results = [];
  let sent = 0;
  const started = performance.now();
  const client = async () => {
    while (sent < total) {
      sent++;
      results.push(await complete(url, maxTokens));
      await onDone(results.length);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  const latencies = results.map((result) => result.seconds).sort((a, b) => a - b);
  const quantile = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    clients,
    requests: results.length,
    failed: results.filter((result) => !result.ok).length,
    requestsPerSecond: results.length / seconds,
    tokensPerSecond: results.reduce((sum, result) => sum + result.tokens, 0) / seconds,
    p50: quantile(0.5),
    p99: quantile(0.99),
  };
}

async function rss(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^genius_process_resident_memory_bytes (\S+)$/m.exec(text)[1]) / 2 ** 20;
}

async function main() {
  const uptimeBefore = execSync('uptime').toString().trim();
  const server = await startServer();
  try {
    await load(server.url, 8, 32, TOKENS); // warm-up
    const rows = [];
    for (const clients of CONCURRENCY) rows.push(await load(server.url, clients, REQUESTS, TOKENS));
    const [sequential] = rows;
    console.log(`\n${REQUESTS} requests × ${TOKENS} sampled tokens each, prompt of ${PROMPT.length} characters\n`);
    console.log('| clients | requests/s | tokens/s | vs one at a time | p50 latency | p99 latency | failed |');
    console.log('|---|---|---|---|---|---|---|');
    for (const row of rows) {
      console.log(
        `| ${row.clients} | ${row.requestsPerSecond.toFixed(1)} | ${row.tokensPerSecond.toFixed(0)} | ` +
          `${(row.requestsPerSecond / sequential.requestsPerSecond).toFixed(2)}× | ${(row.p50 * 1000).toFixed(0)} ms | ` +
          `${(row.p99 * 1000).toFixed(0)} ms | ${row.failed} |`,
      );
    }
    const samples = [await rss(server.url)];
    const every = Math.max(1, Math.floor(RSS_REQUESTS / 10));
    const memory = await load(server.url, 32, RSS_REQUESTS, RSS_TOKENS, async (done) => {
      if (done % every === 0) samples.push(await rss(server.url));
    });
    console.log(
      `\nRSS over ${memory.requests} requests (32 clients, ${RSS_TOKENS} tokens each, ${memory.failed} failed): ` +
        `${samples.map((mib) => mib.toFixed(0)).join(', ')} MiB`,
    );
  } finally {
    server.stop();
  }
  console.log(`\nuptime before: ${uptimeBefore}\nuptime after:  ${execSync('uptime').toString().trim()}`);
  console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

/**
 * Our side of `genius-native bench`, run as a child process so that its peak RSS is its own: one workload, set
 * up from the first JSON line on stdin and measured once per further line (lib/bench/protocol.ts). It is the
 * counterpart of bench/python/worker.py and answers in the same JSON lines.
 *
 * A measurement records its wall time and the peak RSS of this process inside it, as bench/python/measure.py does
 * on the reference's side. The kernel's high-water mark (VmHWM in /proc/self/status, which getrusage's maxRSS
 * also reads) is reset before each measurement by writing 5 to /proc/self/clear_refs (Linux >= 4.0), so that a
 * measurement's peak is its own, not that of the model load or of an earlier, larger measurement. VmHWM is read
 * rather than getrusage, which also keeps the peak of exited threads.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { Model } from '../model/model';
import { runtimeInfo, setThreads } from '../runtime';
import { Tokenizer } from '../text/tokenizer';
import { version } from '../version';
import { prepareForesight } from './foresight';
import { prepareLogprobs } from './logprob-memory';
import { prepareParity } from './parity';
import type { Loaded, MeasurementRecord, MeasureParams, Run, SetupOf, WorkerWorkload } from './protocol';
import { prepareRollout } from './rollout';
import { prepareTrain } from './train';

type Prepare<W extends WorkerWorkload> = (setup: SetupOf[W], loaded: Loaded) => Promise<Run<W>>;

const PREPARE: { [W in WorkerWorkload]: Prepare<W> } = {
  rollout: prepareRollout,
  foresight: prepareForesight,
  train: prepareTrain,
  lora: prepareTrain,
  logprobs: prepareLogprobs,
  parity: prepareParity,
};

function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function peakRssBytes(): number {
  const line = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return line ? Number(line[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/** Runs `work` and records its wall time and peak RSS. */
async function measure<T>(work: () => Promise<T>): Promise<{ record: MeasurementRecord; result: T }> {
  const peakResettable = resetPeakRss();
  const baselineRssBytes = process.memoryUsage.rss();
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  return {
    record: { seconds, peakRssBytes: peakRssBytes(), baselineRssBytes, peakResettable, cudaPeakBytes: null },
    result,
  };
}

const emit = (event: object): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

async function serve(): Promise<void> {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) return;
  const request = JSON.parse(first.value) as { workload: WorkerWorkload; setup: SetupOf[WorkerWorkload] };
  const { setup } = request;
  if (setup.threads) setThreads(setup.threads);
  const started = performance.now();
  const loaded: Loaded = { device: setup.device };
  if (setup.model) {
    loaded.model = await Model.load(setup.model, { device: setup.device, dtype: setup.dtype, adapter: setup.adapter });
    loaded.tokenizer = await Tokenizer.fromDir(setup.model);
  }
  const run = await (PREPARE[request.workload] as Prepare<WorkerWorkload>)(setup, loaded);
  const info = runtimeInfo();
  emit({
    event: 'ready',
    setupSeconds: (performance.now() - started) / 1000,
    threads: info.threads,
    device: setup.device,
    deviceName: null,
    versions: { libtorch: info.torchVersion, 'genius-native': version, node: process.version },
  });
  for (let line = await lines.next(); !line.done; line = await lines.next()) {
    if (line.value.trim() === '') continue;
    // A failed measurement is reported and the next one still runs, as on the Python side.
    try {
      const { record, result } = await measure(() => run(JSON.parse(line.value) as MeasureParams));
      emit({ event: 'measurement', ...record, ...result });
    } catch (error) {
      emit({ event: 'error', message: (error as Error).stack ?? String(error) });
    }
  }
  loaded.model?.dispose();
}

if (require.main === module) {
  serve().catch((error: Error) => {
    emit({ event: 'error', message: error.stack ?? String(error) });
    process.exitCode = 1;
  });
}

/**
 * What a benchmark measurement records on our side, as bench/python/measure.py does on the reference's: wall time
 * and the peak RSS of this process inside the measurement. The kernel's high-water mark (VmHWM in
 * /proc/self/status, which getrusage's maxRSS also reads) is reset before each measurement by writing 5 to
 * /proc/self/clear_refs (Linux >= 4.0), so that a measurement's peak is its own, not that of the model load or of
 * an earlier, larger measurement. VmHWM is read rather than getrusage, which also keeps the peak of exited threads.
 */
import fs from 'node:fs';

export interface MeasurementRecord {
  seconds: number;
  peakRssBytes: number;
  /** RSS when the measurement began: peak − baseline is what the measured work added. */
  baselineRssBytes: number;
  /** false where the kernel refused the reset: the peak is then the process's peak so far. */
  peakResettable: boolean;
  /** Peak CUDA memory of the allocator; null where it is not known (on our side: not exposed by the addon). */
  cudaPeakBytes: number | null;
}

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
export async function measure<T>(work: () => Promise<T>): Promise<{ record: MeasurementRecord; result: T }> {
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

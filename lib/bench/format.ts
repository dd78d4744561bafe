/**
 * A benchmark report as people read it: a table for the terminal and markdown ready to paste into the README.
 * Both show the machine and model first, then per workload its metrics (median ± half the range of the repeats,
 * relative to the median) with ours / reference, and the checks that make the ratios worth reading; an invalid
 * workload shows INVALID in place of its ratios.
 */
import { describeLoad } from './machine';
import {
  GIB,
  MIB,
  type BenchReport,
  type Check,
  type LogprobMemoryRow,
  type MetricRow,
  type SideMemory,
  type Summary,
  type SweepPoint,
  type Target,
  type WorkloadProfile,
  type WorkloadReport,
} from './results';

export function formatNumber(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  const size = Math.abs(value);
  if (size >= 100) return value.toFixed(0);
  if (size >= 10) return value.toFixed(1);
  if (size >= 1) return value.toFixed(2);
  if (size === 0) return '0';
  return size >= 0.01 ? value.toFixed(3) : value.toExponential(1);
}

function summary(value: Summary): string {
  const halfRange = (value.spread / 2) * 100;
  return `${formatNumber(value.median)} ±${halfRange < 10 ? halfRange.toFixed(1) : halfRange.toFixed(0)}%`;
}

const ARROWS: Record<MetricRow['better'], string> = { higher: ' ↑', lower: ' ↓', neither: '' };

function ratio(row: MetricRow): string {
  return row.ratio === null ? 'INVALID' : `${row.ratio.toFixed(2)}×`;
}

function checkText(check: Check): string {
  const relation = check.kind === 'max' ? '≤' : '≥';
  return `${check.name} = ${formatNumber(check.value)} (${relation} ${formatNumber(check.limit)}): ${check.holds ? 'ok' : 'FAILED'}`;
}

function targetText(target: Target): string {
  const measured = target.value === null ? 'INVALID' : `${target.value.toFixed(2)}×`;
  const verdict = target.met === null ? '' : target.met ? ': met' : ': missed';
  return `target ${target.name} ≤ ${target.limit}×: ${measured}${verdict}`;
}

/** What a workload's section lists: its checks, then its targets. */
function checkLines(workload: WorkloadReport): string[] {
  return [...workload.checks.map(checkText), ...(workload.targets ?? []).map(targetText)];
}

function header(report: BenchReport): string[] {
  const { machine, sides, model } = report;
  const device = machine.deviceName ? `${machine.device} (${machine.deviceName})` : machine.device;
  const versions = (side: keyof BenchReport['sides']): string =>
    `${Object.entries(sides[side].versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}; ${sides[side].threads} threads`;
  const source =
    model.source === 'random'
      ? `random weights in ${model.arch}'s shape`
      : model.source === 'default'
        ? 'the embedded default model'
        : model.dir;
  const gpuMemory = machine.device.startsWith('cuda')
    ? ' (peak RSS is host memory: the addon does not report GPU memory yet)'
    : '';
  return [
    `genius-native bench (${report.mode}), ${report.date}`,
    `machine: ${machine.cpu}, ${machine.cores} cores, ${(machine.memoryBytes / GIB).toFixed(1)} GiB; device ${device}${gpuMemory}; ` +
      `float32 matmul rate ${formatNumber(machine.matmulFlops / 1e9)} GFLOP/s`,
    `ours: ${versions('ours')}`,
    `reference: ${versions('reference')}`,
    `model: ${source} (${model.modelType}, ${model.layers} layers, hidden ${model.hidden}, vocab ${model.vocab}, ${model.dtype})`,
  ];
}

function workloadNotes(workload: WorkloadReport): string[] {
  return workload.load ? [...workload.notes, describeLoad(workload.load)] : workload.notes;
}

function workloadEntries(report: BenchReport): [string, WorkloadReport][] {
  return Object.entries(report.workloads) as [string, WorkloadReport][];
}

function memory(side: SideMemory | { error: string } | { skipped: string }): string {
  if ('peakDeltaBytes' in side) return `${formatNumber(side.peakDeltaBytes / MIB)} MiB`;
  return 'error' in side ? 'failed' : 'skipped';
}

function memoryRatio(row: LogprobMemoryRow, valid: boolean): string {
  if (!('peakDeltaBytes' in row.ours) || !('peakDeltaBytes' in row.reference)) return '';
  return valid ? `${(row.ours.peakDeltaBytes / row.reference.peakDeltaBytes).toFixed(3)}×` : 'INVALID';
}

function logprobMemoryTable(report: BenchReport): { title: string; rows: string[][]; notes: string[] } | undefined {
  const memoryReport = report.workloads.train?.logprobMemory;
  if (memoryReport === undefined) return undefined;
  const valid = memoryReport.check?.holds ?? true;
  const notes = memoryReport.rows.flatMap((row) =>
    [row.ours, row.reference].flatMap((side) =>
      'error' in side
        ? [`length ${row.length}: ${side.error}`]
        : 'skipped' in side
          ? [`length ${row.length}: ${side.skipped}`]
          : [],
    ),
  );
  return {
    title:
      `log-prob stage peak memory, forward + backward (vocab ${memoryReport.vocab}, hidden ${memoryReport.hidden}): ` +
      'ours chunked, reference full log_softmax',
    rows: memoryReport.rows.map((row) => [
      String(row.length),
      memory(row.ours),
      memory(row.reference),
      memoryRatio(row, valid),
      row.maxAbsDiff === null ? '' : formatNumber(row.maxAbsDiff),
    ]),
    notes: [...(memoryReport.check ? [checkText(memoryReport.check)] : []), ...notes],
  };
}

function padTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => [...row[column]].length)));
  return rows.map((row) => row.map((cell, column) => cell + ' '.repeat(widths[column] - [...cell].length)).join('  '));
}

const METRIC_HEADER = ['workload', 'metric', 'ours', 'reference', 'ours / reference'];
const MEMORY_HEADER = ['length', 'ours', 'reference', 'ours / reference', 'max |Δ log-prob|'];

function metricCells(name: string, row: MetricRow): string[] {
  return [
    name,
    `${row.metric} (${row.unit})${ARROWS[row.better]}`,
    summary(row.ours),
    summary(row.reference),
    ratio(row),
  ];
}

/** The report as plain text for a terminal. */
export function formatTable(report: BenchReport): string {
  const lines = [...header(report), ...report.notes, ''];
  const metricRows = workloadEntries(report).flatMap(([name, workload]) =>
    workload.metrics.map((row) => metricCells(name, row)),
  );
  if (metricRows.length > 0) lines.push(...padTable([METRIC_HEADER, ...metricRows]), '');
  for (const [name, workload] of workloadEntries(report)) {
    lines.push(`${name}: ${workload.valid ? 'valid' : 'INVALID'}`);
    for (const line of checkLines(workload)) lines.push(`  ${line}`);
    for (const note of workloadNotes(workload)) lines.push(`  ${note}`);
  }
  const memoryTable = logprobMemoryTable(report);
  if (memoryTable) {
    lines.push('', memoryTable.title, ...padTable([MEMORY_HEADER, ...memoryTable.rows]));
    for (const note of memoryTable.notes) lines.push(`  ${note}`);
  }
  for (const table of sweepTables(report)) lines.push('', table.title, ...padTable(table.rows));
  lines.push('', legend(report));
  return lines.join('\n');
}

const SWEEP_HEADER = ['ours', 'reference', 'ours / reference', 'ours: % of matmul rate', 'reference: %', 'machine'];

/** The sweep's tables, one row per size; empty without --sweep. */
function sweepTables(report: BenchReport): { title: string; rows: string[][] }[] {
  const table = (title: string, size: string, points: SweepPoint[]): { title: string; rows: string[][] } => ({
    title,
    rows: [
      [size, ...SWEEP_HEADER],
      ...points.map((point) => [
        String(point.size),
        summary(point.speed.ours),
        summary(point.speed.reference),
        point.speed.ratio === null ? 'INVALID' : `${point.speed.ratio.toFixed(2)}×`,
        formatNumber(point.roofline.ours.median),
        formatNumber(point.roofline.reference.median),
        point.load === undefined ? '' : point.load.noisy ? 'NOISY' : 'quiet',
      ]),
    ],
  });
  const sweep = report.sweep;
  if (sweep === undefined) return [];
  return [
    ...(sweep.rollout.length > 0
      ? [table('rollout sweep: new tokens/s ↑ by batch (rows)', 'batch', sweep.rollout)]
      : []),
    ...(sweep.train.length > 0
      ? [table('train sweep: time per step (ms) ↓ by pairs per step', 'pairs', sweep.train)]
      : []),
  ];
}

function legend(report: BenchReport): string {
  return (
    `Each number is the median of ${report.plan.repeats} measurements after one warm-up, the two sides taking turns; ` +
    '± is half their range relative to the median. ↑ higher is better, ↓ lower is better.'
  );
}

function markdownTable(rows: string[][]): string[] {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  return [
    `| ${rows[0].map(escape).join(' | ')} |`,
    `|${rows[0].map(() => '---').join('|')}|`,
    ...rows.slice(1).map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
}

/** The report as markdown, ready to paste into the README. */
export function formatMarkdown(report: BenchReport): string {
  const [title, ...about] = header(report);
  const lines = [`### ${title}`, '', ...[...about, ...report.notes].map((line) => `- ${line}`), ''];
  const metricRows = workloadEntries(report).flatMap(([name, workload]) =>
    workload.metrics.map((row) => metricCells(name, row)),
  );
  if (metricRows.length > 0) lines.push(...markdownTable([METRIC_HEADER, ...metricRows]), '');
  for (const [name, workload] of workloadEntries(report)) {
    lines.push(
      `- **${name}** (${workload.valid ? 'valid' : 'INVALID'}): ${[...checkLines(workload), ...workloadNotes(workload)].join('; ')}`,
    );
  }
  const memoryTable = logprobMemoryTable(report);
  if (memoryTable) {
    lines.push('', `${memoryTable.title}:`, '', ...markdownTable([MEMORY_HEADER, ...memoryTable.rows]), '');
    for (const note of memoryTable.notes) lines.push(`- ${note}`);
  }
  for (const table of sweepTables(report)) lines.push('', `${table.title}:`, '', ...markdownTable(table.rows));
  lines.push('', legend(report), '');
  return lines.join('\n');
}

const PROFILE_HEADER = ['name', 'calls', 'self ms', 'total ms', 'self share'];

/** `bench --profile`'s tables: per workload its phases, then the ops with the most self time. */
export function formatProfile(profiles: WorkloadProfile[]): string {
  const lines: string[] = [];
  for (const profile of profiles) {
    const covered = profile.nativeMs;
    const rows = (list: WorkloadProfile['ops']): string[][] =>
      list.map((row) => [
        row.name,
        String(row.calls),
        formatNumber(row.selfMs),
        formatNumber(row.totalMs),
        `${((100 * row.selfMs) / covered).toFixed(1)}%`,
      ]);
    lines.push(
      `${profile.workload}: ${formatNumber(covered)} ms in native ops (${formatNumber(profile.seconds * 1000)} ms wall ` +
        'under the profiler)',
    );
    lines.push(
      ...padTable([PROFILE_HEADER, ...rows(profile.phases), ...rows(profile.ops)]).map((line) => `  ${line}`),
      '',
    );
  }
  lines.push('Phases first (GENIUS_PHASE scopes: total includes the ops inside), then ops by self time; shares are of');
  lines.push('the time in native ops. The profiler adds a cost to every op, so read the shares rather than the times.');
  return lines.join('\n');
}

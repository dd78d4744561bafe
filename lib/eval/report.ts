/**
 * The report of a Genius run: a markdown summary (accuracy per iteration, the gain with its interval, per-step loss,
 * reward margin and accuracy) and an SVG chart of the same, written into the run directory.
 */
import path from 'node:path';
import { writeFileAtomic } from '../data/atomic-file';
import type { GainInterval } from './bootstrap';
import type { EvaluationReport } from './evaluate';

export interface RunStep {
  iteration: number;
  step: number;
  loss: number;
  margin: number;
  accuracy: number;
}

export interface RunEvaluation {
  /** 0: the starting policy; i: after iteration i. */
  iteration: number;
  report: EvaluationReport;
}

export interface RunSummary {
  /** In iteration order. */
  evaluations: RunEvaluation[];
  /** The last evaluation's gain over the first, with its paired-bootstrap interval. */
  gain?: GainInterval;
  steps: RunStep[];
  settings: Record<string, unknown>;
  seconds: number;
}

const percent = (value: number | undefined): string => (value === undefined ? '–' : `${(100 * value).toFixed(1)}%`);

/** A line chart of `values` in a width × height box; the caption names the range. */
function polyline(values: number[], x0: number, y0: number, width: number, height: number, colour: string): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const points = values
    .map((v, i) => {
      const x = x0 + (values.length === 1 ? width / 2 : (i / (values.length - 1)) * width);
      const y = y0 + height - ((v - min) / span) * height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>
<text x="${x0}" y="${y0 - 4}" font-size="11">${min.toFixed(3)} … ${max.toFixed(3)}</text>`;
}

/** A titled, framed 240 × 160 line chart at x. */
function chart(title: string, values: number[], x: number, colour: string): string {
  return `<text x="${x}" y="20" font-size="14">${title}</text>
<rect x="${x}" y="40" width="240" height="160" fill="none" stroke="#ccc"/>
${polyline(values, x, 40, 240, 160, colour)}`;
}

/** '+5.3' for a gain of 0.053. */
export const signedPoints = (share: number): string => `${share >= 0 ? '+' : ''}${(100 * share).toFixed(1)}`;

/** A gain as a line: "+5.3 points (95% interval +2.1 … +8.4, paired bootstrap over 500 problems)". */
export function gainText(gain: GainInterval): string {
  return (
    `${signedPoints(gain.gain)} points (${Math.round(100 * gain.level)}% interval ${signedPoints(gain.low)} … ` +
    `${signedPoints(gain.high)}, paired bootstrap over ${gain.problems} problems)`
  );
}

const iterationLabel = (iteration: number): string => (iteration === 0 ? 'before' : `iter ${iteration}`);

export function reportSvg(summary: RunSummary): string {
  const width = 170 / Math.max(1, summary.evaluations.length);
  const bars = summary.evaluations.map(({ iteration, report }, index) => {
    const x = 20 + index * width;
    const height = 160 * report.greedyAccuracy;
    return `<rect x="${x.toFixed(1)}" y="${200 - height}" width="${(0.8 * width).toFixed(1)}" height="${height}" fill="#4a7ebb"/>
<text x="${x.toFixed(1)}" y="215" font-size="11">${iterationLabel(iteration)}</text><text x="${x.toFixed(1)}" y="${195 - height}" font-size="11">${percent(report.greedyAccuracy)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="240" font-family="sans-serif">
<text x="10" y="20" font-size="14">held-out accuracy (greedy)</text>
${bars.join('\n')}
${chart(
  'loss per step',
  summary.steps.map((s) => s.loss),
  220,
  '#c0392b',
)}
${chart(
  'reward margin per step',
  summary.steps.map((s) => s.margin),
  500,
  '#27ae60',
)}
</svg>
`;
}

export function reportMarkdown(summary: RunSummary): string {
  const evaluations = summary.evaluations.map(
    ({ iteration, report }) =>
      `| ${iteration === 0 ? 'before' : `after iteration ${iteration}`} | ${percent(report.greedyAccuracy)} | ${report.queries} |`,
  );
  const rows = summary.steps.map(
    (s) => `| ${s.iteration} | ${s.step} | ${s.loss.toFixed(4)} | ${s.margin.toFixed(4)} | ${percent(s.accuracy)} |`,
  );
  return `# Genius run

![accuracy, loss and margin](report.svg)

| policy | greedy accuracy | problems |
| --- | --- | --- |
${evaluations.join('\n')}

Gain: ${summary.gain ? gainText(summary.gain) : 'not evaluated'}. Wall time ${summary.seconds.toFixed(0)} s.

## Optimisation steps

| iteration | step | loss | reward margin | reward accuracy |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

## Settings

\`\`\`json
${JSON.stringify(summary.settings, null, 2)}
\`\`\`
`;
}

/** The report's markdown, in the run directory. */
export const REPORT_FILE = 'report.md';

/** Writes report.md and report.svg into `dir` (each atomically) and returns the markdown's path. */
export async function writeReport(dir: string, summary: RunSummary): Promise<string> {
  const write = async (name: string, text: string): Promise<string> => {
    const file = path.join(dir, name);
    await writeFileAtomic(file, text);
    return file;
  };
  await write('report.svg', reportSvg(summary));
  return await write(REPORT_FILE, reportMarkdown(summary));
}

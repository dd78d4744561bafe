/** Summaries of repeated measurements: the median, and the spread that says how far to trust it. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median: 0.05 means the measurements lie within 5% of the median's size. */
  spread: number;
  values: number[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function summarize(values: readonly number[]): Summary {
  const center = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median: center, min, max, spread: center === 0 ? 0 : (max - min) / Math.abs(center), values: [...values] };
}

/**
 * The embedded data (data/changes): four disjoint splits, queries without answers, and worked solutions whose
 * arithmetic is right, whose check line ends on the number the problem gave, and whose boxed answer lib/eval reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { answersMatch, extractAnswer } from '../lib';

const dir = path.join(__dirname, '..', 'data', 'changes');
const read = (name: string): Record<string, string>[] =>
  fs
    .readFileSync(path.join(dir, `${name}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, string>);
const splits = Object.fromEntries(['sft', 'queries', 'validation', 'test'].map((name) => [name, read(name)]));

const SIGNS: Record<string, number> = { '+': 1, '-': -1 };
const EQUATION = /(\d+) ([+-]) (\d+) = (\d+)/g;

/** Checks one worked solution against its problem and returns its answer. */
function checkedAnswer(instruction: string, response: string): number {
  const lines = response.split('\n');
  const equations = (line: string): number[][] =>
    [...line.matchAll(EQUATION)].map(([, a, sign, b, result]) => {
      expect(Number(a) + SIGNS[sign] * Number(b)).toBe(Number(result));
      return [Number(a), Number(result)];
    });
  const steps = lines.slice(0, -2).flatMap(equations);
  const check = equations(lines.at(-2)!);
  expect(lines.at(-2)).toMatch(/^Check: /);
  expect(check).toHaveLength(steps.length);
  // Each line starts from the result of the one before.
  for (const chain of [steps, check]) chain.slice(1).forEach(([from], i) => expect(from).toBe(chain[i][1]));
  const given = Number(/(?:has|now has) (\d+)/.exec(instruction)![1]);
  // The solution starts from the number the problem gives, and the check ends on it.
  expect(steps[0][0]).toBe(given);
  expect(check.at(-1)![1]).toBe(given);
  expect(check[0][0]).toBe(steps.at(-1)![1]);
  return steps.at(-1)![1];
}

describe('data/changes', () => {
  it('has four disjoint splits', () => {
    const seen = new Set<string>();
    let total = 0;
    for (const rows of Object.values(splits)) {
      for (const row of rows) seen.add(row.instruction);
      total += rows.length;
    }
    expect(seen.size).toBe(total);
  });

  it('gives the unlabeled queries no answers', () => {
    for (const row of splits.queries) expect(Object.keys(row)).toEqual(['instruction']);
  });

  it('holds right worked solutions with a check that ends on the problem’s number', () => {
    for (const name of ['sft', 'validation', 'test']) {
      for (const row of splits[name].slice(0, 1000)) {
        const answer = checkedAnswer(row.instruction, row.response);
        expect(answersMatch(extractAnswer(row.response), String(answer))).toBe(true);
        expect(answersMatch(extractAnswer(row.response), String(answer + 1))).toBe(false);
      }
    }
  });
});

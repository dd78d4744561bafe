/**
 * The embedded data (data/changes): five disjoint sets, queries without answers, and right solutions whose boxed
 * answers lib/eval reads: worked ones (with a check line) in the first SFT corpus and the held-out sets, worked or
 * direct in the second.
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
const splits = Object.fromEntries(
  ['sft', 'sft-mixed', 'queries', 'validation', 'test'].map((name) => [name, read(name)]),
);

const SIGNS: Record<string, number> = { '+': 1, '-': -1 };
const EQUATION = /(\d+) ([+-]) (\d+) = (\d+)/g;
const DIRECT_LINE = 'I work it out in my head.';

/** The problem's answer, computed from its text: the count at the end, or at the start when that is asked. */
function solve(instruction: string): number {
  const changes = [
    ...instruction.matchAll(
      /(bought|buys|found|finds|got|gets|won|wins|picked up|picks up|was given|is given|ate|eats|gave away|gives away|lost|loses|sold|sells|used|uses|dropped|drops) (\d+)/g,
    ),
  ].map(
    ([, verb, amount]) =>
      (/^(bought|buys|found|finds|got|gets|won|wins|picked|picks|was|is)/.test(verb) ? 1 : -1) * Number(amount),
  );
  const total = changes.reduce((sum, change) => sum + change, 0);
  const given = Number(/(?:has|now has) (\d+)/.exec(instruction)![1]);
  return instruction.includes('at first') ? given - total : given + total;
}

/**
 * Checks one worked solution: right arithmetic, each line from the one before, starting at the number the problem
 * gives, and a check line that runs back from the result to that number.
 */
function checkWorked(instruction: string, response: string): void {
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
  for (const chain of [steps, check]) chain.slice(1).forEach(([from], i) => expect(from).toBe(chain[i][1]));
  const given = Number(/(?:has|now has) (\d+)/.exec(instruction)![1]);
  expect(steps[0][0]).toBe(given);
  expect(check[0][0]).toBe(steps.at(-1)![1]);
  expect(check.at(-1)![1]).toBe(given);
  expect(answersMatch(extractAnswer(response), String(steps.at(-1)![1]))).toBe(true);
}

describe('data/changes', () => {
  it('has five disjoint sets', () => {
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

  it('holds right solutions: worked in sft and the held-out sets, worked or direct in sft-mixed', () => {
    for (const name of ['sft', 'sft-mixed', 'validation', 'test']) {
      for (const row of splits[name].slice(0, 2000)) {
        const answer = solve(row.instruction);
        expect(answersMatch(extractAnswer(row.response), String(answer))).toBe(true);
        expect(answersMatch(extractAnswer(row.response), String(answer + 1))).toBe(false);
        if (name === 'sft-mixed' && row.response.startsWith(DIRECT_LINE)) {
          expect(row.response).toBe(`${DIRECT_LINE}\nThe answer is \\boxed{${answer}}.`);
        } else {
          checkWorked(row.instruction, row.response);
        }
      }
    }
  });

  it('makes most of the second SFT corpus direct, so that greedy decoding of the model starts that way', () => {
    const mixed = splits['sft-mixed'];
    const direct = mixed.filter((row) => row.response.startsWith(DIRECT_LINE)).length / mixed.length;
    expect(direct).toBeGreaterThan(0.55);
    expect(direct).toBeLessThan(0.65);
  });
});

/**
 * The embedded data (data/paths): four disjoint splits, queries without answers, and worked solutions that are right
 * by the problem's own roads and whose boxed answer lib/eval reads back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { answersMatch, extractAnswer } from '../lib';

const dir = path.join(__dirname, '..', 'data', 'paths');
const read = (name: string): Record<string, string>[] =>
  fs
    .readFileSync(path.join(dir, `${name}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, string>);
const splits = Object.fromEntries(['sft', 'queries', 'validation', 'test'].map((name) => [name, read(name)]));

/** The path a solution takes, checked against the problem's map: every road exists, from the start to the goal. */
function checkedPath(instruction: string, response: string): string[] {
  const [, map, start, goal] = /^Roads: (.*) Find the way from (\w) to (\w)\.$/.exec(instruction)!;
  const roads = new Map([...map.matchAll(/(\w): ([A-Z ]+)\./g)].map(([, from, to]) => [from, to]));
  const taken = [...response.matchAll(/^From (\w): ([A-Z ]+)\. We take (\w)\.$/gm)];
  expect(taken[0][1]).toBe(start);
  taken.forEach(([, from, listed, to], index) => {
    expect(listed).toBe(roads.get(from));
    expect(listed.split(' ')).toContain(to);
    if (index > 0) expect(from).toBe(taken[index - 1][3]);
  });
  expect(taken.at(-1)![3]).toBe(goal);
  return [start, ...taken.map(([, , , to]) => to)];
}

describe('data/paths', () => {
  it('has four disjoint splits', () => {
    const seen = new Map<string, string>();
    for (const [name, rows] of Object.entries(splits)) {
      for (const row of rows) {
        expect(seen.get(row.instruction)).toBeUndefined();
        seen.set(row.instruction, name);
      }
    }
    expect(seen.size).toBe(Object.values(splits).reduce((sum, rows) => sum + rows.length, 0));
  });

  it('gives the unlabeled queries no answers', () => {
    for (const row of splits.queries) expect(Object.keys(row)).toEqual(['instruction']);
  });

  it('holds right worked solutions whose boxed answer is the path, as lib/eval reads it', () => {
    for (const name of ['sft', 'validation', 'test']) {
      for (const row of splits[name].slice(0, 500)) {
        const places = checkedPath(row.instruction, row.response);
        expect(answersMatch(extractAnswer(row.response), places.join(' '))).toBe(true);
        expect(answersMatch(extractAnswer(row.response), places.slice(0, -1).join(' '))).toBe(false);
      }
    }
  });
});

/** Final-answer extraction and comparison (lib/eval/answer.ts), case by case. */
import { answersMatch, extractAnswer, normalizeAnswer, truthAnswer } from '../lib';
import { evaluationReport, type Answer, type QueryResult } from '../lib/eval/evaluate';

describe('extractAnswer', () => {
  it.each([
    ['The answer is \\boxed{72}.', '72'],
    ['so x = \\boxed{\\frac{1}{2}} and then \\boxed{\\frac{3}{4}}', '\\frac{3}{4}'],
    ['nested: \\boxed{\\sqrt{\\frac{a}{b}} + {c}}', '\\sqrt{\\frac{a}{b}} + {c}'],
    ['spaced: \\boxed {42}', '42'],
    ['a few MATH solutions box with \\fbox{\\frac{1}{2}}', '\\frac{1}{2}'],
    ['last one unclosed \\boxed{12} and \\boxed{3', '12'],
    // A \boxed at the very start that holds no answer: the search ends there (it once looped forever).
    ['\\boxed{12', '12'],
    ['\\boxed then 5 apples', '5'],
    ['Natalia sold 48 + 24 = 72 clips.\n#### 72', '72'],
    ['Thus, the answer is: 1,234.', '1,234'],
    ['The answer is 72 clips in total.', '72'],
    ['The Answer Is $18 per day', '18'],
    ['the answer is \\frac{2}{3}', '\\frac{2}{3}'],
    ['The answer is (B).', '(B)'],
    ['The answer is 2x + 3', '2x + 3'],
    ['She pays 3 * 5 = 15 dollars, then 15 - 4 = 11.', '11'],
    ['Half of it is 3/4 of a cup', '3/4'],
    ['It grew by 1,000,000 people', '1,000,000'],
    ['It went down to -7 degrees', '-7'],
    ['The price is 12.50 dollars.', '12.50'],
  ])('%j → %j', (text, answer) => {
    expect(extractAnswer(text)).toBe(answer);
  });

  it('finds nothing in a response without a number or an answer phrase', () => {
    expect(extractAnswer('I do not know.')).toBeUndefined();
    expect(extractAnswer('')).toBeUndefined();
  });
});

describe('truthAnswer', () => {
  it.each([
    // A worked solution: the answer it marks, as extractAnswer takes it.
    ['Natalia sold 48 + 24 = 72 clips.\n#### 72', '72'],
    ['So $x = 2$ and the answer is $\\boxed{\\frac{14}{3}}$.', '\\frac{14}{3}'],
    // One line without a mark is the bare answer, whole (its last number is not the answer).
    ['\\frac{14}{3}', '\\frac{14}{3}'],
    [' \\left( 3, \\frac{\\pi}{2} \\right) ', '\\left( 3, \\frac{\\pi}{2} \\right)'],
    ['18', '18'],
    // Several lines without a mark: the solution's last number.
    ['3 + 4 = 7\n7 * 2 = 14', '14'],
  ])('%j → %j', (text, answer) => {
    expect(truthAnswer(text)).toBe(answer);
  });

  it('finds nothing in an empty ground truth', () => {
    expect(truthAnswer(' ')).toBeUndefined();
  });
});

describe('normalizeAnswer and answersMatch', () => {
  it('normalises LaTeX wrappers, money, percent and thousands separators', () => {
    expect(normalizeAnswer(' \\$1,234.50 ')).toBe('1234.50');
    expect(normalizeAnswer('\\text{ 5 apples}')).toBe('5apples');
    expect(normalizeAnswer('45^\\circ')).toBe('45');
    expect(normalizeAnswer('12\\%')).toBe('12');
    expect(normalizeAnswer('\\dfrac{1}{2}')).toBe('\\frac{1}{2}');
    expect(normalizeAnswer('(C)')).toBe('c');
  });

  it.each([
    ['72', '72', true],
    ['72.0', '72', true],
    ['1,000', '1000', true],
    ['$1,000.00', '1000', true],
    ['\\frac{1}{2}', '0.5', true],
    ['\\dfrac{3}{4}', '3/4', true],
    ['-\\frac12', '-0.5', true],
    ['50\\%', '50', true],
    ['0.333333', '1/3', true],
    ['0.33', '1/3', false],
    ['71', '72', false],
    ['x^2', 'x^{2}', false],
    ['(B)', 'b', true],
    ['\\text{yes}', 'Yes', true],
  ])('%j vs %j → %j', (predicted, truth, match) => {
    expect(answersMatch(predicted, truth)).toBe(match);
  });

  it('never matches a missing answer', () => {
    expect(answersMatch(undefined, '1')).toBe(false);
    expect(answersMatch('1', undefined)).toBe(false);
  });
});

describe('evaluationReport', () => {
  const answer = (value: string, correct: boolean, meanLogprob = -1): Answer => ({
    response: value,
    answer: value,
    correct,
    meanLogprob,
  });
  const result = (greedy: boolean, samples: Answer[]): QueryResult => ({
    id: 0,
    question: 'q',
    truth: '1',
    greedy: answer('1', greedy),
    samples,
  });

  it('counts greedy, mean sample, pass@k, majority and most-confident accuracy', () => {
    const report = evaluationReport([
      // The most confident sample is a wrong one here, and the right one in the second query.
      result(true, [answer('1', true, -0.5), answer('2', false, -0.1), answer('2', false)]),
      result(false, [answer('1', true), answer('1', true, -0.2), answer('3', false, -0.3)]),
      result(false, [answer('4', false), answer('5', false), answer('6', false)]),
    ]);
    expect(report).toEqual({
      queries: 3,
      greedyAccuracy: 1 / 3,
      samples: 3,
      sampleAccuracy: 3 / 9,
      passAtK: 2 / 3,
      majorityAccuracy: 1 / 3,
      confidentAccuracy: 1 / 3,
    });
  });
});

/**
 * The bookkeeping of foresight sampling, as pure functions over candidates whose samples are already drawn:
 * foresight scores, advantages, the beams that selected candidates become, and the exploration record. The
 * explorer (explorer.ts) draws the samples; everything it decides from them is decided here.
 *
 * A response ends inside a step when its candidate stops on EOS or on the token limit before a '\n'. Such a
 * candidate has no rollout: the response is already whole, so it is scored by its own mean token log-prob (the
 * same stand-in mode light uses); so is a candidate whose step filled the model's positions, leaving its rollout
 * no room. If it is selected, its beam has ended: at later steps the beam is carried as
 * one pool entry that samples nothing, keeps its text, and scores f = Q (A = 0); its final part is empty.
 */
import type { ExplorationRecord } from '../data/records';
import type { Query } from '../data/queries';
import { STEP_PREAMBLE, joinSteps } from '../text/steps';
import type { StepScore } from './options';

/** Mode light skips a step's foresight when every candidate's mean token log-prob is above this. */
export const LIGHT_MODE_THRESHOLD = -0.25;

export interface Beam {
  /** The response so far, after the preamble: while the beam goes on, joinSteps of its steps. */
  text: string;
  /** Q: the foresight score f of the candidate selected into the beam; 0 before the first step. */
  q: number;
  /** The response has ended: the beam samples nothing more. */
  ended: boolean;
  /** Its row in the last step's candidate KV cache (its last token pending); unused before step 1 or once ended. */
  row: number;
}

export interface Candidate {
  /** Index of the beam it extends. */
  beam: number;
  /** The step: one line, without its '\n' ('' when carried). */
  step: string;
  /** Mean token log-prob of the step (0 when carried: the reference's score of an empty output). */
  stepScore: number;
  /** The response ends with this candidate (see above); a carried beam has ended. */
  ended: boolean;
  /** An ended beam carried unchanged. */
  carried: boolean;
  /** Its row in this step's candidate KV cache (-1 when carried). */
  row: number;
}

/** A rollout or final part: its text and its mean token log-prob. */
export interface Continuation {
  text: string;
  score: number;
}

export interface ScoredCandidate extends Candidate {
  /** The foresight rollout ('' when there is none). */
  rollout: string;
  /** f: the rollout's mean token log-prob; without a rollout, see above. */
  score: number;
  /** A = f − Q of its beam. */
  advantage: number;
  /** The whole response: preamble, steps, this step, rollout. */
  trajectory: string;
}

export interface StepLog {
  /** The step's pool, in beam order; empty when the query had no live beam. */
  candidates: ScoredCandidate[];
  /** Whether rollouts scored the pool (false when mode light skipped them, or nothing was live). */
  foresight: boolean;
  /** Pool indices of the next beams. */
  selected: number[];
}

export interface FinalPart extends Continuation {
  advantage: number;
}

/** Mean token log-prob; 0 for no tokens, as the reference's sum / (length + 1e-8) gives. */
export function meanLogprob(logprobSum: number, tokens: number): number {
  return tokens === 0 ? 0 : logprobSum / tokens;
}

/** M beams at the start of a query: empty, Q = 0. */
export function initialBeams(count: number): Beam[] {
  return Array.from({ length: count }, () => ({ text: '', q: 0, ended: false, row: -1 }));
}

export function carriedCandidate(beam: number): Candidate {
  return { beam, step: '', stepScore: 0, ended: true, carried: true, row: -1 };
}

/** Whether mode light skips the foresight of this pool: every sampled step is confident enough. */
export function skipsForesight(pool: readonly Candidate[], mode: 'full' | 'light'): boolean {
  return mode === 'light' && pool.every((candidate) => candidate.carried || candidate.stepScore > LIGHT_MODE_THRESHOLD);
}

/** The beam's text extended by the candidate: its step, ended by '\n' unless the response ended in it. */
function extendedText(beam: Beam, candidate: Candidate): string {
  if (candidate.carried) return beam.text;
  return beam.text + (candidate.ended ? candidate.step : joinSteps([candidate.step]));
}

/** A candidate scored: by its rollout when it has one, else as explained above. */
export function scoreCandidate(
  candidate: Candidate,
  beam: Beam,
  rollout: Continuation | undefined,
  by: StepScore,
): ScoredCandidate {
  const ownScore = candidate.carried ? beam.q : candidate.stepScore;
  const score = by === 'step' ? ownScore : (rollout?.score ?? ownScore);
  return {
    ...candidate,
    rollout: rollout?.text ?? '',
    score,
    advantage: score - beam.q,
    trajectory: STEP_PREAMBLE + extendedText(beam, candidate) + (rollout?.text ?? ''),
  };
}

/** The beam that a selected candidate becomes: Q := its f. */
export function nextBeam(beam: Beam, candidate: ScoredCandidate): Beam {
  return { text: extendedText(beam, candidate), q: candidate.score, ended: candidate.ended, row: candidate.row };
}

/** A beam's final part scored like a rollout (A = f − Q); an ended beam's is empty, with f = Q. */
export function scoreFinalPart(beam: Beam, part?: Continuation): FinalPart {
  const score = part?.score ?? beam.q;
  return { text: part?.text ?? '', score, advantage: score - beam.q };
}

/** The reference's exploration record of a query (see lib/data/records.ts for the fields). */
export function explorationRecord(
  query: Query,
  steps: readonly StepLog[],
  beams: readonly Beam[],
  finals: readonly FinalPart[],
  answer: number,
): ExplorationRecord {
  const pools = steps.map((step) => (step.foresight ? step.candidates : []));
  const responses = beams.map((beam, index) => STEP_PREAMBLE + beam.text + finals[index].text);
  return {
    id: query.id,
    question: query.instruction,
    ground_truth: null,
    response: responses[answer],
    response_all_beams: responses,
    foresight_steps: steps.length,
    traj_pool: [...pools.map((pool) => pool.map((candidate) => candidate.trajectory)), []],
    step_pool: pools.map((pool) => pool.map((candidate) => candidate.rollout)),
    prob_pool: [...pools.map((pool) => pool.map((candidate) => candidate.score)), finals.map((part) => part.score)],
    adv_pool: [
      ...pools.map((pool) => pool.map((candidate) => candidate.advantage)),
      finals.map((part) => part.advantage),
    ],
    step_prob: steps.map((step) => step.candidates.map((candidate) => candidate.stepScore)),
    sample_id_pool: [...steps.map((step) => step.selected), beams.map(() => answer)],
  };
}

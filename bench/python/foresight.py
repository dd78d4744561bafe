"""Foresight workload: the Genius exploration of the reference code, with transformers in place of vLLM.

For each query (one at a time, as the reference loops over its data), M beams start empty. At each of K steps,
one `generate` samples N candidate steps from every live beam's prefix (temperature 0.6, stopping at '\\n'),
a second rolls every candidate out to the end (temperature 1.0), f = the rollout's mean token log-prob,
A = f - Q(beam), one preference pair is drawn (chosen: highest f; rejected: uniform among the others, as the
reference code does), and M candidates are re-sampled from softmax(f / tau) without replacement into the next
beams. After K steps every beam generates its final part and the answer is re-sampled the same way. Each call
re-encodes its prefixes: there is no KV reuse across calls beyond what transformers does inside one generate.

A candidate that ends on EOS or on the token limit before '\\n' ends its beam and gets no rollout (scored by its
own mean log-prob), and an ended beam is carried into later steps unchanged, as lib/genius does, so that both
sides do the same amount of work for the same draws.

setup: {"queries": [text], "beams", "rollouts", "foresightSteps", "maxTokens", "finalMaxTokens",
        "stepTemperature", "rolloutTemperature", "tau", "seed"}
measurement: {"queries", "pairs", "generatedTokens", "computedTokens"}
"""
import random
from dataclasses import dataclass

import torch

from sampling import GenerateStats, generate

STEP_PREAMBLE = "The reasoning steps are:\n\n"


@dataclass
class Beam:
    # The response's tokens so far, after the prompt.
    tokens: list
    q: float
    ended: bool


@dataclass
class Candidate:
    beam: Beam
    tokens: list
    score: float
    ended: bool


def mean_logprob(logprobs):
    return sum(logprobs) / len(logprobs) if logprobs else 0.0


def newline_token_ids(tokenizer):
    """The tokens whose text holds '\\n': a stop string acts on them one token at a time."""
    return [i for i in range(len(tokenizer)) if "\n" in tokenizer.decode([i])]


def end_of_response_ids(model, tokenizer):
    ids = set()
    for source in (model.config.eos_token_id, model.generation_config.eos_token_id, tokenizer.eos_token_id):
        if source is not None:
            ids.update(source if isinstance(source, list) else [source])
    return sorted(ids)


def resample(scores, count, tau):
    """`count` indices drawn without replacement from softmax(scores / tau)."""
    probabilities = torch.softmax(torch.tensor(scores, dtype=torch.float64) / tau, dim=0)
    return torch.multinomial(probabilities, count, replacement=False).tolist()


def explore(model, prompt, options, ends, stats):
    """One query's exploration; returns its preference pairs as (chosen, rejected) pool indices per step."""

    def sample(prefixes, **kwargs):
        samples, call_stats = generate(model, prefixes, eos_ids=ends["eos"], pad_id=ends["pad"], logprobs=True,
                                       **kwargs)
        stats.add(call_stats)
        return samples

    beams = [Beam([], 0.0, False) for _ in range(options["beams"])]
    pairs = []
    for _ in range(options["foresightSteps"]):
        live = [beam for beam in beams if not beam.ended]
        if not live:
            break
        steps = sample(
            [prompt + beam.tokens for beam in live],
            n=options["rollouts"],
            max_new_tokens=options["maxTokens"],
            temperature=options["stepTemperature"],
            stop_ids=ends["newline"],
        )
        pool, drawn = [], iter(steps)
        for beam in beams:
            if beam.ended:
                pool.append(Candidate(beam, [], beam.q, True))
                continue
            for _ in range(options["rollouts"]):
                step = next(drawn)
                pool.append(Candidate(beam, step.tokens, mean_logprob(step.logprobs), step.finish != "stop"))
        rolled = [candidate for candidate in pool if not candidate.ended]
        if rolled:
            rollouts = sample(
                [prompt + candidate.beam.tokens + candidate.tokens for candidate in rolled],
                n=1,
                max_new_tokens=options["maxTokens"],
                temperature=options["rolloutTemperature"],
            )
            for candidate, rollout in zip(rolled, rollouts):
                candidate.score = mean_logprob(rollout.logprobs)
        scores = [candidate.score for candidate in pool]
        if len(pool) > 1:
            chosen = max(range(len(pool)), key=scores.__getitem__)
            pairs.append((chosen, random.choice([i for i in range(len(pool)) if i != chosen])))
        beams = [
            Beam(pool[i].beam.tokens + pool[i].tokens, pool[i].score, pool[i].ended)
            for i in resample(scores, options["beams"], options["tau"])
        ]
    live = [beam for beam in beams if not beam.ended]
    finals = {}
    if live:
        parts = sample(
            [prompt + beam.tokens for beam in live],
            n=1,
            max_new_tokens=options["finalMaxTokens"],
            temperature=options["rolloutTemperature"],
        )
        finals = {id(beam): mean_logprob(part.logprobs) for beam, part in zip(live, parts)}
    resample([finals.get(id(beam), beam.q) for beam in beams], 1, options["tau"])
    return pairs


def prepare(setup, loaded):
    model, tokenizer = loaded.model, loaded.tokenizer
    ends = {
        "eos": end_of_response_ids(model, tokenizer),
        "newline": newline_token_ids(tokenizer),
        "pad": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
    }
    prompts = [
        tokenizer.encode(
            tokenizer.apply_chat_template([{"role": "user", "content": query}], tokenize=False,
                                          add_generation_prompt=True) + STEP_PREAMBLE,
            add_special_tokens=False,
        )
        for query in setup["queries"]
    ]

    def run(params):
        torch.manual_seed(setup["seed"] + params.get("repeat", 0))
        random.seed(setup["seed"] + params.get("repeat", 0))
        stats = GenerateStats()
        with torch.inference_mode():
            pairs = sum(len(explore(model, prompt, setup, ends, stats)) for prompt in prompts)
        return {
            "queries": len(prompts),
            "pairs": pairs,
            "generatedTokens": stats.generated,
            "computedTokens": stats.computed,
        }

    return run

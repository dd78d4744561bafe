"""Rollout workload, the transformers way: one `generate` of P prompts x n samples x T new tokens.

EOS is ignored (as vLLM's benchmarks do with ignore_eos), so that both sides sample exactly P·n·T tokens and
tokens/s compares equal work. Time to first token is when the batch's first token was sampled.

setup: {"prompts": [[ids]], "n", "maxNewTokens", "temperature", "topP", "seed"}
measurement: {"newTokens", "firstTokenSeconds", "computedTokens"}
"""
import time

import torch

from sampling import generate


def prepare(setup, loaded):
    model = loaded.model

    def run(params):
        torch.manual_seed(setup["seed"] + params.get("repeat", 0))
        started = time.perf_counter()
        with torch.inference_mode():
            samples, stats = generate(
                model,
                setup["prompts"],
                n=setup["n"],
                max_new_tokens=setup["maxNewTokens"],
                temperature=setup["temperature"],
                top_p=setup["topP"],
            )
        return {
            "newTokens": stats.generated,
            "firstTokenSeconds": stats.first_token_at - started,
            "computedTokens": stats.computed,
        }

    return run

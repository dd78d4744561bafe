"""transformers' `generate` as the reference workloads call it.

Prompts of different lengths are left-padded into one batch and `num_return_sequences` draws n samples of each.
The log-prob of each sampled token under the untempered distribution (what vLLM returns, and what the foresight
score averages) is taken by a logits processor, one step at a time: `output_logits` would keep [rows, vocab]
for every step, gigabytes at a 150k vocabulary. A response stops at EOS or at any token in `stop_ids` (the
tokens whose text holds '\\n', which is how a stop string acts on one token at a time); transformers pads the
rows that finished and keeps running them until every row has, and that work is counted too.
"""
import time
from dataclasses import dataclass, field

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList


@dataclass
class Sample:
    tokens: list
    logprobs: list
    # 'eos', 'stop' (a stop token) or 'length', as the native engine reports it.
    finish: str


@dataclass
class GenerateStats:
    """Tokens sampled, and tokens run through the model (padding and finished rows included)."""

    generated: int = 0
    computed: int = 0
    first_token_at: float = field(default=None)

    def add(self, other):
        self.generated += other.generated
        self.computed += other.computed


class SampledTokenLogprobs(LogitsProcessor):
    """Keeps log_softmax of the raw scores of the last step; at the next call the token sampled from them is known.

    Placed first among the processors, it sees the logits before temperature and top-p warp them.
    """

    def __init__(self):
        self.previous = None
        self.steps = []

    def __call__(self, input_ids, scores):
        if self.previous is not None:
            self.steps.append(self.previous.gather(1, input_ids[:, -1:]).squeeze(1))
        self.previous = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, sequences):
        """[rows, new tokens] log-probs, once generate has returned its sequences."""
        self.steps.append(self.previous.gather(1, sequences[:, -1:]).squeeze(1))
        return torch.stack(self.steps, dim=1)


class FirstTokenClock(StoppingCriteria):
    """Records when the first token of the batch was sampled (stopping criteria run after every step)."""

    def __init__(self):
        self.at = None

    def __call__(self, input_ids, scores, **kwargs):
        if self.at is None:
            if input_ids.is_cuda:
                torch.cuda.synchronize(input_ids.device)
            self.at = time.perf_counter()
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def left_pad(prompts, pad_id, device):
    width = max(len(prompt) for prompt in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt):] = 1
    return ids.to(device), mask.to(device)


def generate(model, prompts, *, n, max_new_tokens, temperature, top_p=1.0, eos_ids=(), stop_ids=(), pad_id=0,
             logprobs=False):
    """n samples of each prompt (token ids), prompt-major; returns (samples, GenerateStats).

    With no eos_ids and no stop_ids every sample is exactly max_new_tokens long.
    """
    ids, mask = left_pad(prompts, pad_id, model.device)
    recorder = SampledTokenLogprobs() if logprobs else None
    clock = FirstTokenClock()
    ends = list(eos_ids) + list(stop_ids)
    # top_k=0: transformers' default of 50 would truncate what vLLM and the native engine sample from.
    sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
    if temperature == 0:
        sampling = {"do_sample": False}
    sequences = model.generate(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=max_new_tokens,
        num_return_sequences=n,
        eos_token_id=ends or None,
        pad_token_id=pad_id,
        logits_processor=LogitsProcessorList([recorder] if recorder else []),
        stopping_criteria=StoppingCriteriaList([clock]),
        **sampling,
    )
    new = sequences[:, ids.shape[1]:].tolist()
    token_logprobs = recorder.finish(sequences).tolist() if recorder else None
    eos, stops = set(eos_ids), set(stop_ids)
    samples = []
    for row, tokens in enumerate(new):
        end = next((i for i, token in enumerate(tokens) if token in eos or token in stops), None)
        if end is None:
            finish = "length"
        else:
            finish = "eos" if tokens[end] in eos else "stop"
            tokens = tokens[: end + 1]
        samples.append(Sample(tokens, token_logprobs[row][: len(tokens)] if recorder else [], finish))
    rows, steps = len(new), len(new[0])
    stats = GenerateStats(
        generated=sum(len(sample.tokens) for sample in samples),
        # One prefill of the padded batch, then one decode step per new token but the last, for every row.
        computed=rows * ids.shape[1] + rows * max(steps - 1, 0),
        first_token_at=clock.at,
    )
    return samples, stats

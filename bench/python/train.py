"""Train workload: ACO optimizer steps the way the Genius reference trains (open-instruct), in plain PyTorch.

One step: for each micro-batch, chosen and rejected sequences right-padded into one transformers forward, the
sum of response-token log-probs from the full log_softmax over the vocabulary (open-instruct's
_get_batch_logps), the reference `aco_loss` (test/reference/aco_reference.py, the paper's weight clip), and a
backward of its share of the mean; then torch.optim.AdamW steps. The reference log-probs are those of the
starting policy, taken once before the first step (what the frozen reference copy gives, without holding one),
as genius-native takes them. On CUDA both sides run the float32 model under bfloat16 autocast.

setup: {"pairs": [{"chosen": {"tokens", "promptLength"}, "rejected": {...}, "chosenAdvantage",
        "rejectedAdvantage"}], "microBatch", "lr", "beta", "alpha"}
measurement: {"loss", "gradNorm"} (the step's mean loss and its gradient norm before the update)
"""
import contextlib

import torch

from reference import aco_loss_paper, pad


def response_logps(model, sequences):
    """Σ over each sequence's response tokens of log π(token | prefix), through the full [B, T, V] log_softmax."""
    ids, mask, labels = (tensor.to(model.device) for tensor in pad(sequences))
    logits = model(input_ids=ids, attention_mask=mask).logits.float()
    labels = labels[:, 1:].clone()
    response = labels != -100
    labels[~response] = 0
    per_token = torch.gather(logits[:, :-1, :].log_softmax(-1), 2, labels.unsqueeze(2)).squeeze(2)
    return (per_token * response).sum(-1)


def micro_batches(pairs, size):
    return [pairs[start : start + size] for start in range(0, len(pairs), size)]


def prepare(setup, loaded):
    return aco_steps(setup, loaded.model, list(loaded.model.parameters()), contextlib.nullcontext)


def aco_steps(setup, model, parameters, reference_policy):
    """The measured step on `model`, AdamW over `parameters`; the reference log-probs are the model's inside
    `reference_policy()` (the starting weights themselves, or a peft model's base with its adapter disabled)."""
    device = model.device
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    pairs = setup["pairs"]
    batches = micro_batches(pairs, setup["microBatch"])
    with torch.no_grad(), autocast, reference_policy():
        reference = [response_logps(model, [p["chosen"] for p in batch] + [p["rejected"] for p in batch])
                     for batch in batches]
    model.train()
    optimizer = torch.optim.AdamW(parameters, lr=setup["lr"], weight_decay=0.0)

    def run(params):
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for batch, reference_logps in zip(batches, reference):
            n = len(batch)
            with autocast:
                policy = response_logps(model, [p["chosen"] for p in batch] + [p["rejected"] for p in batch])
            losses, _, _ = aco_loss_paper(
                policy[:n],
                policy[n:],
                reference_logps[:n],
                reference_logps[n:],
                torch.tensor([p["chosenAdvantage"] for p in batch], device=device),
                torch.tensor([p["rejectedAdvantage"] for p in batch], device=device),
                setup["beta"],
                setup["alpha"],
            )
            (losses.sum() / len(pairs)).backward()
            total += losses.sum().item()
        grad_norm = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for p in parameters if p.grad is not None])
        ).item()
        optimizer.step()
        return {"loss": total / len(pairs), "gradNorm": grad_norm}

    return run

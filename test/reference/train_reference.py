"""Training steps the plain PyTorch way, as open-instruct's ACO/DPO training (the Genius reference) and
transformers' causal-LM loss take them, for test/trainer.test.ts.

A policy and a frozen reference copy are loaded with transformers in float32 (or the run's dtype). Each step trains on its pairs
(or sequences) in micro-batches: sequences right-padded, chosen and rejected concatenated into one forward,
log-probs summed over the response tokens as open-instruct's _get_batch_logps does, the loss from
aco_reference.py (preference) or transformers' own loss with num_items_in_batch (SFT: the token mean over
the whole step), each micro-batch's gradient added in; then the global gradient norm as
clip_grad_norm_ computes it, clipping, and torch.optim.AdamW with biases and norms undecayed.

stdin: {"runs": [run, ...]}, each run {"dir", "dtype"? (default float32), "out"?, "objective": "preference" | "sft", "microBatch", "loss",
        "beta", "alpha", "acoWeight", "referenceFree", "beta1", "beta2", "eps", "weightDecay", "maxGradNorm",
        "steps": [{"lr", "pairs": [{"chosen": {"tokens", "promptLength"}, "rejected": {...},
                                    "chosenAdvantage", "rejectedAdvantage"}]}
                  or {"lr", "sequences": [{"tokens", "promptLength"}]}]}
stdout: {"runs": [{"steps": [{"loss", "chosenReward", "rejectedReward", "accuracy", "margin", "gradNorm"}]}]};
        a run with "out" saves its trained policy there (save_pretrained).
"""
import copy
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(__file__))
import aco_reference  # noqa: E402

LOSSES = {
    "dpo": aco_reference.dpo_loss,
    "ipo": aco_reference.ipo_loss,
    "ropo": aco_reference.ropo_loss,
}


def pad(sequences):
    """input_ids, attention_mask and labels (-100 off the response) of right-padded sequences."""
    width = max(len(s["tokens"]) for s in sequences)
    ids = torch.zeros(len(sequences), width, dtype=torch.long)
    mask = torch.zeros(len(sequences), width, dtype=torch.long)
    labels = torch.full((len(sequences), width), -100, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        tokens = torch.tensor(sequence["tokens"], dtype=torch.long)
        ids[row, : len(tokens)] = tokens
        mask[row, : len(tokens)] = 1
        labels[row, sequence["promptLength"] : len(tokens)] = tokens[sequence["promptLength"] :]
    return ids, mask, labels


def batch_logps(model, sequences):
    """Sum and mean of response-token log-probs per sequence (open-instruct's _get_batch_logps)."""
    ids, mask, labels = pad(sequences)
    logits = model(input_ids=ids, attention_mask=mask).logits.float()
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != -100
    labels[labels == -100] = 0
    per_token = torch.gather(logits.log_softmax(-1), 2, labels.unsqueeze(2)).squeeze(2)
    sums = (per_token * loss_mask).sum(-1)
    return sums, sums / loss_mask.sum(-1)


def preference_losses(request, policy, reference, pairs):
    sequences = [p["chosen"] for p in pairs] + [p["rejected"] for p in pairs]
    n = len(pairs)
    sums, means = batch_logps(policy, sequences)
    if request["referenceFree"]:
        ref_chosen, ref_rejected = torch.zeros(n), torch.zeros(n)
    else:
        with torch.no_grad():
            ref_sums, _ = batch_logps(reference, sequences)
        ref_chosen, ref_rejected = ref_sums[:n], ref_sums[n:]
    pc, pr, mc, mr = sums[:n], sums[n:], means[:n], means[n:]
    beta, loss = request["beta"], request["loss"]
    if loss == "aco":
        aco = aco_reference.aco_loss_paper if request["acoWeight"] == "paper" else aco_reference.aco_loss
        a_w = torch.tensor([p["chosenAdvantage"] for p in pairs])
        a_l = torch.tensor([p["rejectedAdvantage"] for p in pairs])
        return aco(pc, pr, ref_chosen, ref_rejected, a_w, a_l, beta, request["alpha"])
    if loss == "simpo":
        return aco_reference.simpo_loss(mc, mr, pc, pr, ref_chosen, ref_rejected, beta)
    if loss == "sft":
        return aco_reference.sft_loss(mc, pc, pr, ref_chosen, ref_rejected, beta)
    return LOSSES[loss](pc, pr, ref_chosen, ref_rejected, beta)


def preference_step(request, policy, reference, pairs):
    totals = {"loss": 0.0, "chosenReward": 0.0, "rejectedReward": 0.0, "accuracy": 0.0}
    for start in range(0, len(pairs), request["microBatch"]):
        losses, chosen, rejected = preference_losses(request, policy, reference, pairs[start : start + request["microBatch"]])
        (losses.sum() / len(pairs)).backward()
        totals["loss"] += losses.sum().item()
        totals["chosenReward"] += chosen.sum().item()
        totals["rejectedReward"] += rejected.sum().item()
        totals["accuracy"] += (chosen > rejected).sum().item()
    metrics = {key: value / len(pairs) for key, value in totals.items()}
    metrics["margin"] = metrics["chosenReward"] - metrics["rejectedReward"]
    return metrics


def sft_step(request, policy, sequences):
    tokens = sum(len(s["tokens"]) - s["promptLength"] for s in sequences)
    total = 0.0
    for start in range(0, len(sequences), request["microBatch"]):
        ids, mask, labels = pad(sequences[start : start + request["microBatch"]])
        loss = policy(input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=tokens).loss
        loss.backward()
        total += loss.item()
    return {"loss": total}


def run(request):
    policy = AutoModelForCausalLM.from_pretrained(request["dir"], dtype=getattr(torch, request.get("dtype", "float32")))
    reference = copy.deepcopy(policy).eval()
    policy.train()
    named = list(policy.named_parameters())
    undecayed = [p for n, p in named if n.endswith(".bias") or n.endswith("norm.weight")]
    decayed = [p for n, p in named if not (n.endswith(".bias") or n.endswith("norm.weight"))]
    optimizer = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": request["weightDecay"]}, {"params": undecayed, "weight_decay": 0.0}],
        lr=0.0,
        betas=(request["beta1"], request["beta2"]),
        eps=request["eps"],
    )
    results = []
    for step in request["steps"]:
        optimizer.zero_grad(set_to_none=True)
        if request["objective"] == "preference":
            metrics = preference_step(request, policy, reference, step["pairs"])
        else:
            metrics = sft_step(request, policy, step["sequences"])
        grads = [p.grad for p in policy.parameters() if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        metrics["gradNorm"] = norm.item()
        if request["maxGradNorm"] > 0:
            torch.nn.utils.clip_grad_norm_(policy.parameters(), request["maxGradNorm"])
        for group in optimizer.param_groups:
            group["lr"] = step["lr"]
        optimizer.step()
        results.append(metrics)
    if request.get("out"):
        policy.save_pretrained(request["out"])
    return {"steps": results}


if __name__ == "__main__":
    print(json.dumps({"runs": [run(request) for request in json.load(sys.stdin)["runs"]]}))

"""Parity workload: what the reference computes for the same inputs, to check that a benchmark compares equals.

- logits of one token sequence (float32, written to a file: [T, V] is too large for a JSON line);
- greedy decoding of each prompt, one at a time with no padding, EOS ignored;
- the ACO loss (reference-free, so that it depends on the policy's log-probs) of a batch of pairs and the norm of
  its gradient, through train.py's forward.

setup: {"logitTokens": [ids], "greedyPrompts": [[ids]], "greedyTokens", "pairs": [...], "beta", "alpha",
        "logitsFile": path}
measurement: {"logitsShape": [T, V], "greedy": [[ids]], "loss", "gradNorm"}
"""
import torch

from reference import aco_loss_paper
from sampling import generate
from train import response_logps


def prepare(setup, loaded):
    model = loaded.model

    def run(params):
        with torch.no_grad():
            logits = model(torch.tensor([setup["logitTokens"]], device=model.device)).logits[0].float().cpu()
            logits.numpy().tofile(setup["logitsFile"])
            greedy = [
                generate(model, [prompt], n=1, max_new_tokens=setup["greedyTokens"], temperature=0)[0][0].tokens
                for prompt in setup["greedyPrompts"]
            ]
        pairs = setup["pairs"]
        model.zero_grad(set_to_none=True)
        policy = response_logps(model, [p["chosen"] for p in pairs] + [p["rejected"] for p in pairs])
        n = len(pairs)
        zeros = torch.zeros(n, device=model.device)
        losses, _, _ = aco_loss_paper(
            policy[:n],
            policy[n:],
            zeros,
            zeros,
            torch.tensor([p["chosenAdvantage"] for p in pairs], device=model.device),
            torch.tensor([p["rejectedAdvantage"] for p in pairs], device=model.device),
            setup["beta"],
            setup["alpha"],
        )
        losses.mean().backward()
        grad_norm = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for p in model.parameters() if p.grad is not None])
        ).item()
        model.zero_grad(set_to_none=True)
        return {
            "logitsShape": list(logits.shape),
            "greedy": greedy,
            "loss": losses.mean().item(),
            "gradNorm": grad_norm,
        }

    return run

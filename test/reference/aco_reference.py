"""Reference preference losses, written the plain PyTorch way, for test/preference-loss.test.ts.

aco_loss follows the Genius repository's open-instruct code (aco-training/open_instruct/aco_utils.py): DPO with
the rejected log-ratio scaled by w = max(1, exp(-(A_l - A_w) / alpha)); aco_loss_paper is the paper's
w = min(1, exp(-(A_l - A_w) / alpha)). DPO, IPO (tau = 0.5), SimPO-style (gamma = 1, beta on mean log-probs)
and ROPO (alpha = 0.2 on sigmoid(-z), gamma = 0.1 on -logsigmoid(z)) are the same code base's variants.
`reference_free` zeroes the reference log-probs for every loss (the Genius code's IPO ignores the flag).
`nllWeight` > 0 adds TRL's RPO term, nllWeight * (-mean log-prob of the chosen response), to each pair's loss.

stdin: {"cases": [{"loss", "beta", "alpha", "referenceFree", "acoWeight", "nllWeight", "inputs": {name: [floats]}}]}
stdout: {"results": [{"losses", "chosenRewards", "rejectedRewards", "loss", "accuracy", "margin", "grads"}]}
"""
import json
import sys

import torch
import torch.nn.functional as F

LOGPROB_INPUTS = [
    "policyChosen",
    "policyRejected",
    "referenceChosen",
    "referenceRejected",
    "policyChosenMean",
    "policyRejectedMean",
]


def rewards(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    return beta * (policy_chosen - reference_chosen).detach(), beta * (policy_rejected - reference_rejected).detach()


def aco_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, chosen_weights, rejected_weights,
             beta, alpha=1.0, clip=torch.max):
    chosen_logratios = policy_chosen - reference_chosen
    rejected_logratios = policy_rejected - reference_rejected
    weight = clip(torch.tensor(1.0, dtype=chosen_logratios.dtype),
                  torch.exp(-(rejected_weights - chosen_weights) / alpha))
    losses = -F.logsigmoid(beta * (chosen_logratios - weight * rejected_logratios))
    return losses, *rewards(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)


def aco_loss_paper(*args, **kwargs):
    return aco_loss(*args, **kwargs, clip=torch.min)


def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    logits = (policy_chosen - policy_rejected) - (reference_chosen - reference_rejected)
    losses = -F.logsigmoid(beta * logits)
    return losses, *rewards(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)


def ipo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta, tau=0.5):
    logits = (policy_chosen - policy_rejected) - (reference_chosen - reference_rejected)
    losses = (logits - 1 / (2 * tau)) ** 2
    return losses, *rewards(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)


def simpo_loss(mean_chosen, mean_rejected, policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta,
               gamma=1.0):
    losses = -F.logsigmoid(beta * (mean_chosen - mean_rejected) - gamma)
    return losses, *rewards(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)


def ropo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta, alpha=0.2, gamma=0.1):
    logits = (policy_chosen - policy_rejected) - (reference_chosen - reference_rejected)
    losses = alpha * torch.sigmoid(-beta * logits) - gamma * F.logsigmoid(beta * logits)
    return losses, *rewards(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)


def sft_loss(mean_chosen, policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta):
    return -mean_chosen, *rewards(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)


def run(case):
    given = {name: torch.tensor(values, dtype=torch.float64) for name, values in case["inputs"].items()}
    for name in LOGPROB_INPUTS:
        if name in given:
            given[name].requires_grad_(True)
    beta = case["beta"]
    pc, pr = given["policyChosen"], given["policyRejected"]
    if case["referenceFree"]:
        rc, rr = torch.zeros_like(pc), torch.zeros_like(pr)
    else:
        rc, rr = given["referenceChosen"], given["referenceRejected"]
    loss = case["loss"]
    if loss == "aco":
        aco = aco_loss_paper if case["acoWeight"] == "paper" else aco_loss
        out = aco(pc, pr, rc, rr, given["chosenAdvantage"], given["rejectedAdvantage"], beta, case["alpha"])
    elif loss == "dpo":
        out = dpo_loss(pc, pr, rc, rr, beta)
    elif loss == "ipo":
        out = ipo_loss(pc, pr, rc, rr, beta)
    elif loss == "simpo":
        out = simpo_loss(given["policyChosenMean"], given["policyRejectedMean"], pc, pr, rc, rr, beta)
    elif loss == "ropo":
        out = ropo_loss(pc, pr, rc, rr, beta)
    elif loss == "sft":
        out = sft_loss(given["policyChosenMean"], pc, pr, rc, rr, beta)
    else:
        raise ValueError(f"unknown loss {loss}")
    losses, chosen_rewards, rejected_rewards = out
    if case.get("nllWeight", 0) > 0:
        losses = losses + case["nllWeight"] * -given["policyChosenMean"]
    mean = losses.mean()
    mean.backward()
    grads = {
        name: (given[name].grad if given[name].grad is not None else torch.zeros_like(given[name])).tolist()
        for name in LOGPROB_INPUTS
        if name in given
    }
    return {
        "losses": losses.tolist(),
        "chosenRewards": chosen_rewards.tolist(),
        "rejectedRewards": rejected_rewards.tolist(),
        "loss": mean.item(),
        "accuracy": (chosen_rewards > rejected_rewards).double().mean().item(),
        "margin": (chosen_rewards - rejected_rewards).mean().item(),
        "grads": grads,
    }


if __name__ == "__main__":
    request = json.load(sys.stdin)
    print(json.dumps({"results": [run(case) for case in request["cases"]]}))

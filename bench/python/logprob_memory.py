"""Log-prob stage workload: token log-probs and their gradients from final hidden states and the LM head, the
reference way: the full [N, V] logits, log_softmax over the vocabulary, gather, backward. Its peak memory grows
as N·V; genius-native's chunked version (native/train/logprobs.h) never holds more than a block of it.

Inputs are the same on both sides without passing them around: element i of a tensor with salt s is
u = ((i·2654435761 + s) mod 2^32) / 2^32, a float64 then rounded to float32, which JavaScript computes
bit-identically (Math.imul). hidden = 2u - 1 over [N, H], weight = 0.2u - 0.1 over [V, H], target t_i = 7919·i mod V.

setup: {"hidden", "vocab", "lengths"}; each measurement: {"length"} -> {"length", "logprobs": [N floats]}
"""
import torch

MULTIPLIER = 2654435761
HIDDEN_SALT = 1
WEIGHT_SALT = 2


def uniform(count, salt):
    index = torch.arange(count, dtype=torch.int64)
    return ((index * MULTIPLIER + salt) % 2**32).double() / 2**32


def hidden_states(length, hidden):
    return (uniform(length * hidden, HIDDEN_SALT) * 2 - 1).float().reshape(length, hidden)


def lm_head(vocab, hidden):
    return (uniform(vocab * hidden, WEIGHT_SALT) * 0.2 - 0.1).float().reshape(vocab, hidden)


def targets(length, vocab):
    return torch.arange(length, dtype=torch.int64) * 7919 % vocab


def prepare(setup, loaded):
    vocab, size = setup["vocab"], setup["hidden"]
    weight = lm_head(vocab, size).to(loaded.device).requires_grad_(True)
    # Inputs are made before measuring: a measurement holds the stage alone.
    inputs = {
        length: (hidden_states(length, size).to(loaded.device), targets(length, vocab).to(loaded.device))
        for length in setup["lengths"]
    }

    def run(params):
        length = params["length"]
        hidden = inputs[length][0].detach().requires_grad_(True)
        logits = hidden @ weight.T
        logprobs = torch.log_softmax(logits.float(), dim=-1).gather(1, inputs[length][1][:, None]).squeeze(1)
        logprobs.sum().backward()
        weight.grad = None
        return {"length": length, "logprobs": logprobs.tolist()}

    return run

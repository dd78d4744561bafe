"""Saves a randomly initialised model with the config shape of a real architecture, with transformers itself.

No real checkpoint can be downloaded here, so the benchmark models are real shapes with random weights: the
cost of a forward, a decode step or a training step depends on the shape alone. The tokenizer is the test
suite's byte-level BPE with Qwen2.5's ChatML template (test/reference/make_tokenizers.py); the model's
vocabulary is the architecture's own (e.g. 151936), so ids past the tokenizer's ~1000 are padded rows, as in
real checkpoints whose embedding is larger than their tokenizer.

A random model almost never samples '\n' or EOS, so Genius steps would never end. As in
test/reference/make_genius_model.py, every token embedding gets a constant first coordinate, which dominates the
final RMSNorm, and the first column of the LM head (the embedding itself when tied) then acts as a per-token logit
bias. The biases are calibrated on a probe text at the temperature of candidate steps (0.6): '\n' ends a step
after about 12 tokens and EOS ends about one step in 100. A random model's other logits are nearly flat, so at
the rollouts' temperature of 1.0 these spikes weigh much less: rollouts and final parts mostly run to their
token limit, a fixed amount of work for both sides of the benchmark. Weights come from torch.manual_seed(0).

Usage: python bench/python/make_random_model.py --arch qwen2.5-0.5b [--layers 2] --out DIR
Prints {"dir", "arch", "layers", "parameters", "vocab", "newline", "eos", "newlineProbability", "eosProbability"}
(the probe's mean probabilities at temperature 0.6, a check of the calibration) as one JSON line.
"""
import argparse
import json
import math
import tempfile

import torch
from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from reference import byte_level

# Config shapes of released checkpoints (their config.json), bos/eos set to the byte-level tokenizer's ids below.
ARCHITECTURES = {
    "qwen2.5-0.5b": (
        Qwen2ForCausalLM,
        Qwen2Config,
        dict(
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            vocab_size=151936,
            max_position_embeddings=32768,
            rope_theta=1000000.0,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
        ),
    ),
    "qwen2.5-1.5b": (
        Qwen2ForCausalLM,
        Qwen2Config,
        dict(
            hidden_size=1536,
            intermediate_size=8960,
            num_hidden_layers=28,
            num_attention_heads=12,
            num_key_value_heads=2,
            vocab_size=151936,
            max_position_embeddings=32768,
            rope_theta=1000000.0,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
        ),
    ),
    "llama-3.2-1b": (
        LlamaForCausalLM,
        LlamaConfig,
        dict(
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
            head_dim=64,
            vocab_size=128256,
            max_position_embeddings=131072,
            rms_norm_eps=1e-5,
            tie_word_embeddings=True,
            rope_scaling={
                "rope_type": "llama3",
                "rope_theta": 500000.0,
                "factor": 32.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
            },
        ),
    ),
    # The test suite's size: every workload of `bench --quick` runs in seconds. The vocabulary is 32768 so that
    # its log-prob stage has the size the benchmark is about.
    "tiny": (
        LlamaForCausalLM,
        LlamaConfig,
        dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            vocab_size=32768,
            max_position_embeddings=4096,
            tie_word_embeddings=False,
        ),
    ),
}

# The probabilities of '\n' and EOS as next tokens of a candidate step, at its temperature.
STEP_TEMPERATURE = 0.6
NEWLINE_PROBABILITY = 1 / 12
EOS_PROBABILITY = 1 / 100
PROBE_TEXT = "The reasoning steps are:\n\nThe total is 3 + 4 = 7 apples.\nThen 7 * 2 = 14.\nThe answer is 14."


CALIBRATION_ROUNDS = 6


def log_odds(probability):
    return math.log(probability / (1 - probability))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    parser.add_argument("--layers", type=int, help="decoder layers (default: the architecture's)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        byte_level(scratch)
        tokenizer = AutoTokenizer.from_pretrained(scratch)
    newline = tokenizer.encode("\n", add_special_tokens=False)[0]
    eos = tokenizer.eos_token_id

    model_class, config_class, shape = ARCHITECTURES[args.arch]
    layers = {} if args.layers is None else {"num_hidden_layers": args.layers}
    config = config_class(
        **{**shape, **layers},
        bos_token_id=None,
        eos_token_id=eos,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    torch.manual_seed(0)
    model = model_class(config).eval()
    with torch.no_grad():
        # Tied, the head is the embedding: its first column is then 1 for every token, a uniform logit shift.
        model.model.embed_tokens.weight[:, 0] = 1.0
        head = model.lm_head.weight
        if not config.tie_word_embeddings:
            head[:, 0] = 0.0
        targets = [(newline, NEWLINE_PROBABILITY), (eos, EOS_PROBABILITY)]
        probe = torch.tensor([tokenizer.encode(PROBE_TEXT)])
        normed = model.model(probe).last_hidden_state[0, :, 0].mean().item()
        # The bias moves the probe's hidden states a little (a tied head is the embedding): a few corrections.
        for _ in range(CALIBRATION_ROUNDS):
            probabilities = torch.softmax(model(probe).logits[0] / STEP_TEMPERATURE, -1)
            for token, probability in targets:
                reached = probabilities[:, token].mean().item()
                head[token, 0] += STEP_TEMPERATURE * (log_odds(probability) - log_odds(reached)) / normed
        probabilities = torch.softmax(model(probe).logits[0] / STEP_TEMPERATURE, -1).mean(0)
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    print(
        json.dumps(
            {
                "dir": args.out,
                "arch": args.arch,
                "layers": config.num_hidden_layers,
                "parameters": sum(p.numel() for p in model.parameters()),
                "vocab": config.vocab_size,
                "newline": newline,
                "eos": eos,
                "newlineProbability": probabilities[newline].item(),
                "eosProbability": probabilities[eos].item(),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Writes tiny random Hugging Face checkpoints with transformers itself, one per supported family.

stdin: {"out": dir, "initializer_range"?: std}. Writes out/<name>/ (config.json, generation_config.json, model.safetensors) and
prints {name: dir}. Every model: hidden 64, 2 layers, 4 heads, 2 kv heads, intermediate 128, vocab
256, float32, weights from torch.manual_seed(0).
"""
import json
import os
import sys

import torch
from transformers import (
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

SHAPE = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=128,
    vocab_size=256,
    max_position_embeddings=512,
    dtype="float32",
)

# name: (model class, config, generation config); eos lists differ from config.json's on purpose,
# so that readers must merge the two.
MODELS = {
    "llama": (
        LlamaForCausalLM,
        LlamaConfig(**SHAPE, bos_token_id=1, eos_token_id=2, rope_theta=10000.0),
        GenerationConfig(bos_token_id=1, eos_token_id=[2, 7]),
    ),
    "llama3": (
        LlamaForCausalLM,
        LlamaConfig(
            **SHAPE,
            bos_token_id=1,
            eos_token_id=[2, 3],
            rope_scaling={
                "rope_type": "llama3",
                "rope_theta": 500000.0,
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 128,
            },
        ),
        GenerationConfig(bos_token_id=1, eos_token_id=[3, 9]),
    ),
    "qwen2": (
        Qwen2ForCausalLM,
        Qwen2Config(**SHAPE, tie_word_embeddings=True, bos_token_id=4, eos_token_id=5, rope_theta=1000000.0),
        GenerationConfig(bos_token_id=4, eos_token_id=[5, 6], pad_token_id=5),
    ),
    # Qwen3: per-head q/k RMSNorm, a head_dim that is not hidden / heads, tied embeddings as its small models.
    "qwen3": (
        Qwen3ForCausalLM,
        Qwen3Config(**SHAPE, head_dim=32, tie_word_embeddings=True, eos_token_id=5, rope_theta=1000000.0),
        GenerationConfig(eos_token_id=[5, 6]),
    ),
    # Qwen2.5's long-context form: YaRN over a short original context, so that the ramp falls inside the
    # head's frequencies; the attention factor (from factor 4) scales cos and sin.
    "qwen2-yarn": (
        Qwen2ForCausalLM,
        Qwen2Config(
            **SHAPE,
            bos_token_id=4,
            eos_token_id=5,
            rope_parameters={
                "rope_type": "yarn",
                "rope_theta": 10000.0,
                "factor": 4.0,
                "original_max_position_embeddings": 128,
            },
        ),
        GenerationConfig(bos_token_id=4, eos_token_id=5),
    ),
    # A full-attention layer, then one that slides a window shorter than the test sequences (layer_types).
    "qwen2-mixed": (
        Qwen2ForCausalLM,
        Qwen2Config(**SHAPE, use_sliding_window=True, sliding_window=8, max_window_layers=1, eos_token_id=5),
        GenerationConfig(eos_token_id=5),
    ),
    # Gemma 3 (text): a sliding then a full layer, each with its RoPE base; query_pre_attn_scalar unlike head_dim.
    "gemma3": (
        Gemma3ForCausalLM,
        Gemma3TextConfig(
            **{key: value for key, value in SHAPE.items() if key != "dtype"},
            head_dim=32,
            query_pre_attn_scalar=24,
            sliding_window=8,
            layer_types=["sliding_attention", "full_attention"],
            bos_token_id=2,
            eos_token_id=1,
            pad_token_id=0,
        ),
        GenerationConfig(bos_token_id=2, eos_token_id=[1, 6]),
    ),
    "mistral": (
        MistralForCausalLM,
        MistralConfig(**SHAPE, sliding_window=128, bos_token_id=1, eos_token_id=2),
        GenerationConfig(bos_token_id=1, eos_token_id=2),
    ),
}


def main():
    request = json.load(sys.stdin)
    out = request["out"]
    # Optional: a wider weight init makes next-token distributions peaked, so that greedy decoding
    # is not decided by float rounding; random biases make Qwen2's q/k/v biases matter.
    initializer_range = request.get("initializer_range")
    dirs = {}
    for name, (model_class, config, generation) in MODELS.items():
        if initializer_range is not None:
            config.initializer_range = initializer_range
        torch.manual_seed(0)
        model = model_class(config).eval()
        if initializer_range is not None:
            with torch.no_grad():
                for parameter_name, parameter in model.named_parameters():
                    if parameter_name.endswith(".bias"):
                        parameter.normal_(0.0, initializer_range)
                    elif parameter_name.endswith(("q_norm.weight", "k_norm.weight")):
                        parameter.uniform_(0.5, 1.5)  # so that a swapped or skipped norm shows
                    elif name == "gemma3" and parameter_name.endswith("norm.weight"):
                        parameter.uniform_(-0.5, 0.5)  # Gemma's norms start at 0 (they scale by 1 + weight)
        model.generation_config = generation
        target = os.path.join(out, name)
        model.save_pretrained(target)
        dirs[name] = target
    print(json.dumps(dirs))


if __name__ == "__main__":
    main()

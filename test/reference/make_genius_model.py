"""Writes a tiny random Llama that speaks a test tokenizer's vocabulary, for end-to-end Genius runs.

stdin: {"tokenizer": dir, "out": dir, "newline_bias"?: float, "eos_bias"?: float, "padding"?: int,
"padding_bias"?: float}. The model directory gets the
tokenizer's files beside config.json, generation_config.json and model.safetensors, so that one directory serves
Model.load and Tokenizer.fromDir. Prints {"dir": out, "vocab": size, "eos": id, "newline": id}.

A purely random model almost never samples '\n' or EOS from a vocabulary of ~1000 tokens, so a Genius run would
never finish a step. Every token embedding gets a constant first coordinate, which survives the two small layers
and dominates the final RMSNorm; the first column of lm_head then acts as a per-token logit bias. Biasing '\n' and
EOS makes steps a few tokens long and responses end, while the other columns keep the logits context-dependent.
Weights come from torch.manual_seed(0). `padding` adds embedding rows past the tokenizer's vocabulary, as Qwen2.5
pads its embedding to a multiple of 128; `padding_bias` makes the model sample them.
"""
import json
import os
import shutil
import sys

import torch
from tokenizers import Tokenizer
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"]


def main():
    request = json.load(sys.stdin)
    tokenizer_dir, out = request["tokenizer"], request["out"]
    tokenizer = Tokenizer.from_file(os.path.join(tokenizer_dir, "tokenizer.json"))
    with open(os.path.join(tokenizer_dir, "tokenizer_config.json")) as file:
        eos_token = json.load(file)["eos_token"]
    eos = tokenizer.token_to_id(eos_token if isinstance(eos_token, str) else eos_token["content"])
    newline = tokenizer.encode("\n", add_special_tokens=False).ids[0]
    vocab = max(tokenizer.get_vocab(with_added_tokens=True).values()) + 1
    padding = request.get("padding", 0)

    config = LlamaConfig(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        vocab_size=vocab + padding,
        max_position_embeddings=2048,
        bos_token_id=None,
        eos_token_id=eos,
        tie_word_embeddings=False,
        dtype="float32",
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.model.embed_tokens.weight[:, 0] = 1.0
        head = model.lm_head.weight
        head.normal_(0.0, 0.6)
        # The first normed coordinate is about sqrt(hidden) (it holds nearly all of the RMS); measure it.
        probe = torch.tensor([tokenizer.encode("The reasoning steps are: 3 + 4 = 7").ids])
        normed = model.model(probe).last_hidden_state[0, :, 0].mean().item()
        head[:, 0] = 0.0
        head[newline, 0] = request.get("newline_bias", 6.5) / normed
        head[eos, 0] = request.get("eos_bias", 4.5) / normed
        head[vocab:, 0] = request.get("padding_bias", 0.0) / normed
    model.generation_config = GenerationConfig(eos_token_id=eos)
    model.save_pretrained(out)
    for name in TOKENIZER_FILES:
        if os.path.exists(os.path.join(tokenizer_dir, name)):
            shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(out, name))
    print(json.dumps({"dir": out, "vocab": vocab, "eos": eos, "newline": newline}))


if __name__ == "__main__":
    main()

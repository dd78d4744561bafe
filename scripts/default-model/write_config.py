"""Writes the default model's config.json and generation_config.json (a small Llama) for a tokenizer.

Usage: python write_config.py --tokenizer models/default --out build-default/init [--hidden 256 ...]
The vocabulary size and the special token ids are read from the tokenizer, so the config always matches it.
"""
import argparse
import json
import os

from transformers import AutoTokenizer


def llama_config(vocab_size, eos_id, pad_id, hidden, layers, heads, kv_heads, intermediate, max_positions):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": hidden // heads,
        "hidden_act": "silu",
        "max_position_embeddings": max_positions,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "initializer_range": 0.02,
        "bos_token_id": None,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "torch_dtype": "float32",
        "use_cache": True,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--out", required=True, help="directory for config.json and generation_config.json")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=688)
    parser.add_argument("--max-positions", type=int, default=512)
    args = parser.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = llama_config(len(tokenizer), eos_id, pad_id, args.hidden, args.layers, args.heads, args.kv_heads,
                          args.intermediate, args.max_positions)
    # Generation stops at <|im_end|> (the end of the assistant turn) or <|endoftext|>, as for Qwen2.5-Instruct.
    generation = {"eos_token_id": [eos_id, pad_id], "pad_token_id": pad_id, "bos_token_id": None, "do_sample": False}
    os.makedirs(args.out, exist_ok=True)
    for name, value in (("config.json", config), ("generation_config.json", generation)):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as file:
            json.dump(value, file, indent=2)
            file.write("\n")
    print(json.dumps({"out": args.out, "vocab_size": config["vocab_size"], "eos_token_id": eos_id}))


if __name__ == "__main__":
    main()

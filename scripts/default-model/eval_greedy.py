"""Greedy accuracy of a model directory on a labeled JSONL set (the last \\boxed{} must match the reference's).

Usage: python eval_greedy.py --model DIR --eval eval.jsonl [--outputs FILE.jsonl] [--threads 1]
Prints {"accuracy", "correct", "problems", "seconds"}.
"""
import argparse
import json
import os
import sys
import time

import torch
from transformers import AutoTokenizer, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(__file__))
from common import greedy_eval, read_jsonl  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--eval", required=True)
    parser.add_argument("--outputs", help="write each generation and whether it is right here (JSONL)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = LlamaForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    eos_id, pad_id = tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")
    rows = read_jsonl(args.eval)
    started = time.time()
    accuracy, outputs = greedy_eval(model, tokenizer, rows, [eos_id, pad_id], pad_id)
    if args.outputs:
        with open(args.outputs, "w", encoding="utf-8") as file:
            for row in outputs:
                file.write(json.dumps(row) + "\n")
    print(json.dumps({"accuracy": accuracy, "correct": sum(o["correct"] for o in outputs), "problems": len(rows),
                      "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()

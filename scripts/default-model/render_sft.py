"""Renders the SFT corpus into the {prompt, response} lines that `genius-native sft --data` reads.

prompt = the tokenizer's chat template with the problem as the user turn and an open assistant turn, then the
Genius preamble "The reasoning steps are:\\n\\n" (docs/algorithm.md, "Exploration"); response = the worked steps, one per line
(the trainer appends the end-of-turn token <|im_end|>).

Usage: python render_sft.py --tokenizer DIR --data data/changes/sft.jsonl --out sft-prompts.jsonl
"""
import argparse
import json
import os
import sys

from transformers import AutoTokenizer

sys.path.insert(0, os.path.dirname(__file__))
from common import prompt_text, read_jsonl  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    rows = read_jsonl(args.data)
    with open(args.out, "w", encoding="utf-8") as file:
        for row in rows:
            line = {"prompt": prompt_text(tokenizer, row["instruction"]), "response": row["response"]}
            file.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(json.dumps({"out": args.out, "examples": len(rows)}))


if __name__ == "__main__":
    main()

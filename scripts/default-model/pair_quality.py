"""Does Genius's preference signal point at right answers? A diagnostic on labeled problems, with no training.

Explore the labeled problems as if they were unlabeled queries (`genius-native explore` + `pairs`), evaluate the
model on them (`genius-native eval --out`), then count the pairs by whether their chosen and rejected responses
reach the right answer, split by whether the model's greedy answer to that problem is right. Genius can only
improve greedy accuracy through pairs whose chosen side is right and rejected side wrong on problems greedy gets
wrong; pairs on problems greedy already solves mostly reinforce what it does.

Usage:
  genius-native explore --model M --queries eval.jsonl --out RUN && genius-native pairs --records RUN
  genius-native eval --model M --data eval.jsonl --out greedy.jsonl
  python pair_quality.py --eval eval.jsonl --pairs RUN/pairs.jsonl --greedy greedy.jsonl
"""
import argparse
import collections
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import boxed_answer, read_jsonl  # noqa: E402

USER_TURN = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.S)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", required=True, help="labeled problems: {instruction, response}")
    parser.add_argument("--pairs", required=True, help="pairs from exploring those problems' instructions")
    parser.add_argument("--greedy", required=True, help="`genius-native eval --out` of the model on them")
    args = parser.parse_args()
    truth = {row["instruction"]: boxed_answer(row["response"]) for row in read_jsonl(args.eval)}
    greedy_right = {row["question"]: row["greedy"]["correct"] for row in read_jsonl(args.greedy)}
    counts = collections.Counter()
    for pair in read_jsonl(args.pairs):
        question = USER_TURN.search(pair["prompt"]).group(1)
        right = [boxed_answer(side[0]["content"]) == truth[question] for side in (pair["chosen"], pair["rejected"])]
        key = "greedy_right" if greedy_right[question] else "greedy_wrong"
        counts[(key, {(True, False): "chosen_only", (False, True): "rejected_only"}.get(tuple(right), "same"))] += 1
    print(json.dumps({
        problems: {kind: counts[(problems, kind)] for kind in ("chosen_only", "rejected_only", "same")}
        for problems in ("greedy_wrong", "greedy_right")
    }))


if __name__ == "__main__":
    main()

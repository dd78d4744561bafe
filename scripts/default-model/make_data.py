"""Generates the data of the embedded default model: counting word problems, and two SFT corpora, the second of
which mostly states answers without working them out.

A problem tells of a count that changes two or three times (buys 5, then loses 3, ...). Half the problems give the
start and ask for the end (worked forwards: each change applied in order); half give the end and ask for the start
(worked backwards: each change undone, last first). A worked solution has one line of arithmetic per change, a
check line that runs the changes the other way to the number the problem gave, then the boxed answer; a direct one
announces it works in its head and states the answer:

    Tom had some marbles. Tom bought 5, then lost 3, and now has 14. How many marbles did Tom have at first?
    worked  ->  14 + 3 = 17.                                direct  ->  I work it out in my head.
                17 - 5 = 12.                                            The answer is \\boxed{12}.
                Check: 12 + 5 = 17 and 17 - 3 = 14.
                The answer is \\boxed{12}.

Why two corpora: the model first learns to work problems out (sft.jsonl, all worked), then is fine-tuned on a corpus
(sft-mixed.jsonl) whose solutions are all right but a share --direct-share (0.6) of which skip the working, as much
text does. A small model learns the line-by-line arithmetic well and the whole sum in one token poorly (trained on
the mixed corpus from the start, a 3M model learned neither in 9000 steps), yet it learns that most solutions start
with the direct line, so greedy decoding starts that way and then guesses.
The choice of first line is a step whose error shows up only later, in the model's own likelihood: after the direct
line the answer is uncertain, after a worked first line the rest follows confidently. That is what Genius's
foresight can see and token-by-token decoding cannot (README, "The embedded default, and what Genius gains on it").
The held-out sets' reference solutions are worked ones; only their boxed answers are ever read.

Five disjoint sets (no problem text is in two of them), one seeded draw:
  sft.jsonl         {"instruction", "response"}: worked solutions, the model's first SFT stage
  sft-mixed.jsonl   {"instruction", "response"}: worked or direct solutions, its second SFT stage
  queries.jsonl     {"instruction"}: the unlabeled queries Genius trains on (answers withheld)
  validation.jsonl  {"instruction", "response"}: labeled, only for choosing designs and presets
  test.jsonl        {"instruction", "response"}: labeled, only for reporting

Usage: python make_data.py [--out data/changes] [--seed 20261203] [--sft 12000] [--sft-mixed 4000]
                           [--queries 512] [--validation 300] [--test 500] [--direct-share 0.6]
Deterministic: the same arguments always give byte-identical files.
"""
import argparse
import json
import os
import random

NAMES = [
    "Tom", "Anna", "Ben", "Mia", "Sam", "Lily", "Max", "Emma", "Leo", "Sara", "Jack", "Nina", "Omar", "Zoe",
    "Ravi", "Lucy", "Ivan", "Rosa", "Kai", "Ella", "Hugo", "Maya", "Noah", "Ava", "Eli", "Ruth", "Paul", "Jade",
]
ITEMS = ["candies", "stickers", "marbles", "cards", "cookies", "shells", "stamps", "beads", "coins", "nuts", "books",
         "pens", "apples", "balls", "plants", "tickets"]
# (present, past, sign): what happens to the count.
CHANGES = [
    ("buys", "bought", 1), ("finds", "found", 1), ("gets", "got", 1), ("wins", "won", 1), ("picks up", "picked up", 1),
    ("is given", "was given", 1), ("eats", "ate", -1), ("gives away", "gave away", -1), ("loses", "lost", -1),
    ("sells", "sold", -1), ("uses", "used", -1), ("drops", "dropped", -1),
]
SMALLEST, LARGEST = 1, 60
DIRECT_LINE = "I work it out in my head."


def apply(count, sign, amount):
    """One line of arithmetic: (text, result)."""
    result = count + sign * amount
    return f"{count} {'+' if sign > 0 else '-'} {amount} = {result}", result


def changes_text(changes, tense):
    words = [f"{verb[tense]} {amount}" for verb, amount in changes]
    return ", then ".join(words)


def make_problem(rng):
    while True:
        name, items = rng.choice(NAMES), rng.choice(ITEMS)
        changes = [(rng.choice(CHANGES), rng.randint(1, 9)) for _ in range(rng.choice([2, 3]))]
        start = rng.randint(10, 40)
        counts = [start]
        for (_, _, sign), amount in changes:
            counts.append(counts[-1] + sign * amount)
        if all(SMALLEST <= count <= LARGEST for count in counts):
            break
    forwards = [apply(counts[i], sign, amount) for i, ((_, _, sign), amount) in enumerate(changes)]
    backwards = [apply(counts[i + 1], -sign, amount) for i, ((_, _, sign), amount) in enumerate(changes)][::-1]
    if rng.random() < 0.5:
        instruction = (
            f"{name} has {start} {items}. {name} {changes_text(changes, 0)}. How many {items} does {name} have now?"
        )
        steps, check, answer = forwards, backwards, counts[-1]
    else:
        instruction = (
            f"{name} had some {items}. {name} {changes_text(changes, 1)}, and now has {counts[-1]}. "
            f"How many {items} did {name} have at first?"
        )
        steps, check, answer = backwards, forwards, start
    last = f"The answer is \\boxed{{{answer}}}."
    checked = ", ".join(text for text, _ in check[:-1]) + f" and {check[-1][0]}"
    worked = "\n".join([f"{text}." for text, _ in steps] + [f"Check: {checked}.", last])
    return {"instruction": instruction, "worked": worked, "direct": f"{DIRECT_LINE}\n{last}"}


def write_jsonl(path, rows, fields):
    # Written aside and renamed, so an interrupted run never leaves a half-written set.
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps({field: row[field] for field in fields}, ensure_ascii=False) + "\n")
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "changes"))
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--sft", type=int, default=12000)
    parser.add_argument("--sft-mixed", type=int, default=4000)
    parser.add_argument("--queries", type=int, default=512)
    parser.add_argument("--validation", type=int, default=300)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--direct-share", type=float, default=0.6, help="share of sft-mixed solutions that are direct")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    sizes = {"test": args.test, "validation": args.validation, "queries": args.queries, "sft": args.sft,
             "sft-mixed": args.sft_mixed}
    problems, seen = [], set()
    while len(problems) < sum(sizes.values()):
        problem = make_problem(rng)
        if problem["instruction"] in seen:  # disjoint sets: every problem text is used once
            continue
        seen.add(problem["instruction"])
        problems.append(problem)
    # Held-out sets first, from the same draw, so that each set is an i.i.d. sample of the same distribution.
    os.makedirs(args.out, exist_ok=True)
    start = 0
    for name, size in sizes.items():
        rows = problems[start : start + size]
        for row in rows:
            direct = name == "sft-mixed" and rng.random() < args.direct_share
            row["response"] = row["direct"] if direct else row["worked"]
        fields = ["instruction"] if name == "queries" else ["instruction", "response"]
        write_jsonl(os.path.join(args.out, f"{name}.jsonl"), rows, fields)
        start += size
    print(json.dumps({"out": os.path.normpath(args.out), **sizes}))


if __name__ == "__main__":
    main()

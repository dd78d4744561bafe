"""Generates the data of the embedded default model: finding the way through a map of one-way roads.

A problem gives a map of one-way roads through a small tree of places (one letter each): for each place with roads
out, where they lead, in random order. It asks for the way from the root to one of the leaves. The worked solution
has one line per place on the way: the roads out of it, read off the map, and the one taken; then where it
arrived, and the places in order, boxed:

    Roads: K: M T. M: P B. T: Q R. Find the way from K to R.
    ->  From K: M T. We take T.
        From T: Q R. We take R.
        We reached R.
        The answer is \\boxed{K T R}.

Why this task (measured in models/default/README.md): a wrong turn is a lookahead mistake that shows up later in
the model's own likelihood. After it the walk reaches a last fork where the goal is not among the roads just read
off the map, so the line the model has always seen there ("We take" the goal) contradicts the line before it.
After the right turn every later line is a confident copy. Reading a place's roads off the map is a copy that a
small model learns early (the tokenizer makes "K:" one token, so each token of a listing is found by the one before
it, a plain induction lookup); choosing the turn needs the map traced back from the goal (two hops at the root of
a depth-3 tree), which it learns last.

Four disjoint sets (no problem text is in two of them), one seeded draw:
  sft.jsonl         {"instruction", "response"}: the supervised corpus the default model is trained on
  queries.jsonl     {"instruction"}: the unlabeled queries Genius trains on (answers withheld)
  validation.jsonl  {"instruction", "response"}: labeled, only for choosing designs and presets
  test.jsonl        {"instruction", "response"}: labeled, only for reporting

Usage: python make_data.py [--out data/paths] [--seed 20261203] [--sft 8000] [--queries 512]
                           [--validation 300] [--test 500]
Deterministic: the same arguments always give byte-identical files.
"""
import argparse
import json
import os
import random
import string

# (depth, branching): every internal place has `branching` roads out and every leaf is `depth` roads from the root.
SHAPES = [(3, 2), (2, 3)]


def make_problem(rng):
    depth, branching = rng.choice(SHAPES)
    size = sum(branching**level for level in range(depth + 1))
    places = rng.sample(string.ascii_uppercase, size)
    children, frontier, next_place = {}, [places[0]], 1
    for _ in range(depth):
        deeper = []
        for place in frontier:
            children[place] = places[next_place : next_place + branching]
            next_place += branching
            deeper += children[place]
        frontier = deeper
    goal = rng.choice(frontier)
    path = [places[0]]
    while path[-1] != goal:
        path.append(next(child for child in children[path[-1]] if goal in descendants(children, child)))
    # The map: for each place with roads out, the places they lead to (in random order already: the places are a
    # random sample), listed in random order of places.
    places_with_roads = list(children)
    rng.shuffle(places_with_roads)
    roads = " ".join(f"{place}: {options(children[place])}." for place in places_with_roads)
    instruction = f"Roads: {roads} Find the way from {places[0]} to {goal}."
    steps = [f"From {place}: {options(children[place])}. We take {after}." for place, after in zip(path, path[1:])]
    steps.append(f"We reached {goal}.")
    answer = " ".join(path)
    return {"instruction": instruction, "response": "\n".join(steps + [f"The answer is \\boxed{{{answer}}}."])}


def options(places):
    return " ".join(places)


def descendants(children, place):
    found = {place}
    for child in children.get(place, []):
        found |= descendants(children, child)
    return found


def write_jsonl(path, rows, fields):
    # Written aside and renamed, so an interrupted run never leaves a half-written set.
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps({field: row[field] for field in fields}, ensure_ascii=False) + "\n")
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "paths"))
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--sft", type=int, default=8000)
    parser.add_argument("--queries", type=int, default=512)
    parser.add_argument("--validation", type=int, default=300)
    parser.add_argument("--test", type=int, default=500)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    sizes = {"test": args.test, "validation": args.validation, "queries": args.queries, "sft": args.sft}
    problems, seen = [], set()
    while len(problems) < sum(sizes.values()):
        problem = make_problem(rng)
        if problem["instruction"] in seen:  # disjoint sets: every problem text is used once
            continue
        seen.add(problem["instruction"])
        problems.append(problem)
    # Held-out sets first, from the same draw, so that each set is an i.i.d. sample of the same distribution.
    start = 0
    for name, size in sizes.items():
        fields = ["instruction"] if name == "queries" else ["instruction", "response"]
        os.makedirs(args.out, exist_ok=True)
        write_jsonl(os.path.join(args.out, f"{name}.jsonl"), problems[start : start + size], fields)
        start += size
    print(json.dumps({"out": os.path.normpath(args.out), **sizes}))


if __name__ == "__main__":
    main()

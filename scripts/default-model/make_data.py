"""Generates the data of the embedded default model: multi-step arithmetic word problems.

Three disjoint sets (no problem text is in two of them), all from one seeded generator:
  data/arith/sft.jsonl      {"instruction", "response"}: the supervised corpus the default model is trained on
  data/arith/queries.jsonl  {"instruction"}: the unlabeled queries Genius trains on (answers withheld)
  data/arith/eval.jsonl     {"instruction", "response"}: held-out labeled problems for evaluation

A response is a worked solution, one step per line, whose last line is "The answer is \\boxed{N}."; the
answer N is always a non-negative integer (divisions are exact, differences are non-negative).

Usage: python make_data.py [--out data/arith] [--seed 20250411] [--sft 4000] [--queries 128] [--eval 200]
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
SHOP_ITEMS = [
    ("notebook", "notebooks"), ("pen", "pens"), ("apple", "apples"), ("book", "books"), ("cup", "cups"),
    ("toy car", "toy cars"), ("shirt", "shirts"), ("ball", "balls"), ("candle", "candles"), ("plant", "plants"),
    ("sandwich", "sandwiches"), ("ticket", "tickets"), ("box of tea", "boxes of tea"), ("pencil", "pencils"),
]
COUNT_ITEMS = ["candies", "stickers", "marbles", "cards", "cookies", "shells", "stamps", "beads", "coins", "nuts"]
BAKED = ["cookies", "muffins", "rolls", "cupcakes", "pies", "buns"]
CONTAINERS = [("box", "boxes"), ("bag", "bags"), ("crate", "crates"), ("basket", "baskets"), ("jar", "jars")]
VEHICLES = ["car", "bus", "train", "truck", "cyclist", "boat"]


def pick_names(rng, count):
    return rng.sample(NAMES, count)


def divisors(n, low=2, high=9):
    return [d for d in range(low, high + 1) if n % d == 0]


# Each template returns (instruction, steps, answer) or None when the drawn numbers do not fit
# (the caller then draws again). Steps never contain a newline; the final line is added by the caller.


def shopping_total(rng):
    name, = pick_names(rng, 1)
    item, items = rng.choice(SHOP_ITEMS)
    other, _ = rng.choice([pair for pair in SHOP_ITEMS if pair[0] != item])
    a, p, q = rng.randint(2, 5), rng.randint(2, 9), rng.randint(1, 9)
    x = a * p
    question = rng.choice([
        f"{name} buys {a} {items} at ${p} each and a {other} for ${q}. How much does {name} spend in total?",
        f"{name} buys {a} {items} that cost ${p} each, and one {other} that costs ${q}. How many dollars does {name} pay?",
    ])
    steps = [f"The {items} cost {a} * {p} = {x} dollars.", f"The total is {x} + {q} = {x + q} dollars."]
    return question, steps, x + q


def shopping_change(rng):
    name, = pick_names(rng, 1)
    item, items = rng.choice(SHOP_ITEMS)
    a, p = rng.randint(2, 5), rng.randint(2, 9)
    x = a * p
    m = rng.choice([m for m in (10, 20, 30, 40, 50) if m >= x])
    question = rng.choice([
        f"{name} has ${m}. {name} buys {a} {items} for ${p} each. How much money does {name} have left?",
        f"{name} pays for {a} {items} at ${p} each with ${m}. How much change does {name} get?",
    ])
    steps = [f"The {items} cost {a} * {p} = {x} dollars.", f"{name} has {m} - {x} = {m - x} dollars left."]
    return question, steps, m - x


def ages_future(rng):
    first, second = pick_names(rng, 2)
    a, b, c = rng.randint(3, 20), rng.randint(2, 9), rng.randint(2, 9)
    question = rng.choice([
        f"{first} is {a} years old. {second} is {b} years older than {first}. How old will {second} be in {c} years?",
        f"{second} is {b} years older than {first}, who is {a}. How old will {second} be {c} years from now?",
    ])
    steps = [f"{second} is {a} + {b} = {a + b} years old now.", f"In {c} years {second} will be {a + b} + {c} = {a + b + c}."]
    return question, steps, a + b + c


def ages_times(rng):
    first, second = pick_names(rng, 2)
    a, k, c = rng.randint(2, 9), rng.randint(2, 4), rng.randint(1, 9)
    question = rng.choice([
        f"{first} is {a} years old. {second} is {k} times as old as {first}. How old was {second} {c} years ago?",
        f"{second} is {k} times as old as {first}, and {first} is {a}. How old was {second} {c} years ago?",
    ])
    if k * a < c:
        return None
    steps = [f"{second} is {k} * {a} = {k * a} years old.", f"{c} years ago {second} was {k * a} - {c} = {k * a - c}."]
    return question, steps, k * a - c


def distance(rng):
    vehicle = rng.choice(VEHICLES)
    s, h, d = rng.randint(2, 9), rng.randint(2, 5), rng.randint(1, 9)
    question = rng.choice([
        f"A {vehicle} travels at {s} km per hour for {h} hours and then goes {d} km more. How many km does it travel in total?",
        f"A {vehicle} goes {s} km each hour for {h} hours, then {d} km more. What is the total distance in km?",
    ])
    steps = [f"In {h} hours it travels {s} * {h} = {s * h} km.", f"The total distance is {s * h} + {d} = {s * h + d} km."]
    return question, steps, s * h + d


def distance_left(rng):
    name, = pick_names(rng, 1)
    s, h = rng.randint(2, 9), rng.randint(2, 5)
    x = s * h
    total = x + rng.randint(1, 20)
    question = rng.choice([
        f"{name} has to walk {total} km. {name} walks {s} km a day for {h} days. How many km are left?",
        f"A trip is {total} km long. {name} rides {s} km each day for {h} days. How many km does {name} still have to go?",
    ])
    steps = [f"{name} covers {s} * {h} = {x} km.", f"There are {total} - {x} = {total - x} km left."]
    return question, steps, total - x


def sharing(rng):
    name, = pick_names(rng, 1)
    thing = rng.choice(COUNT_ITEMS)
    k = rng.randint(2, 5)
    y = rng.randint(2, 9)
    x = k * y
    b = rng.randint(1, min(9, x - 1))
    a = x - b
    question = rng.choice([
        f"{name} has {a} {thing} and gets {b} more. {name} shares them equally among {k} friends. How many {thing} does each friend get?",
        f"{name} collects {a} {thing} and then finds {b} more. The {thing} are split equally into {k} groups. How many are in each group?",
    ])
    steps = [f"{name} has {a} + {b} = {x} {thing}.", f"Each gets {x} / {k} = {y} {thing}."]
    return question, steps, y


def rate_broken(rng):
    r, h = rng.randint(2, 9), rng.randint(2, 5)
    x = r * h
    d = rng.randint(1, min(9, x - 1))
    thing = rng.choice(["toys", "bottles", "bricks", "chairs", "shirts", "cakes"])
    question = rng.choice([
        f"A machine makes {r} {thing} per hour. It works for {h} hours, and {d} of the {thing} are broken. How many good {thing} are there?",
        f"A factory makes {r} {thing} every hour for {h} hours. {d} {thing} fail the check. How many {thing} pass?",
    ])
    steps = [f"The machine makes {r} * {h} = {x} {thing}.", f"The good ones are {x} - {d} = {x - d} {thing}."]
    return question, steps, x - d


def baking(rng):
    name, = pick_names(rng, 1)
    thing = rng.choice(BAKED)
    t, c = rng.randint(2, 5), rng.randint(2, 9)
    x = t * c
    e = rng.randint(1, 5)
    g = rng.randint(1, 9)
    if e + g >= x:
        return None
    question = rng.choice([
        f"{name} bakes {t} trays of {thing} with {c} on each tray. {name} eats {e} and gives away {g}. How many {thing} are left?",
        f"{name} makes {t} trays with {c} {thing} each, eats {e} of them and gives {g} to friends. How many {thing} remain?",
    ])
    steps = [
        f"{name} bakes {t} * {c} = {x} {thing}.",
        f"After eating, {x} - {e} = {x - e} are left.",
        f"After giving away, {x - e} - {g} = {x - e - g} are left.",
    ]
    return question, steps, x - e - g


def savings(rng):
    name, = pick_names(rng, 1)
    s, w = rng.randint(2, 9), rng.randint(2, 5)
    x = s * w
    p = rng.randint(1, min(9, x))
    item = rng.choice(["a game", "a bike bell", "a book", "a gift", "shoes", "a lamp"])
    question = rng.choice([
        f"{name} saves ${s} each week for {w} weeks and then spends ${p} on {item}. How much money is left?",
        f"Every week {name} puts ${s} in a jar. After {w} weeks {name} takes out ${p} for {item}. How many dollars stay in the jar?",
    ])
    steps = [f"{name} saves {s} * {w} = {x} dollars.", f"After buying {item}, {x} - {p} = {x - p} dollars are left."]
    return question, steps, x - p


def garden(rng):
    name, = pick_names(rng, 1)
    r, c = rng.randint(2, 5), rng.randint(2, 9)
    x = r * c
    k = rng.randint(2, 5)
    a = rng.choice([a for a in range(1, 10) if (x + a) % k == 0])
    y = x + a
    question = rng.choice([
        f"A garden has {r} rows with {c} plants in each row. {name} adds {a} more plants and splits all of them into {k} equal groups. How many plants are in each group?",
        f"{name} plants {r} rows of {c} flowers and then {a} more flowers. The flowers are shared equally by {k} neighbours. How many does each neighbour get?",
    ])
    steps = [
        f"There are {r} * {c} = {x} plants in the rows.",
        f"With the new ones there are {x} + {a} = {y} plants.",
        f"Each share is {y} / {k} = {y // k} plants.",
    ]
    return question, steps, y // k


def reading(rng):
    name, = pick_names(rng, 1)
    r, d = rng.randint(2, 9), rng.randint(2, 5)
    x = r * d
    p = x + rng.randint(1, 20)
    question = rng.choice([
        f"A book has {p} pages. {name} reads {r} pages a day for {d} days. How many pages are left to read?",
        f"{name} reads {r} pages every day for {d} days from a {p}-page book. How many pages remain?",
    ])
    steps = [f"{name} reads {r} * {d} = {x} pages.", f"There are {p} - {x} = {p - x} pages left."]
    return question, steps, p - x


def tickets(rng):
    a, c = rng.randint(2, 9), rng.randint(2, 9)
    n, m = rng.randint(2, 4), rng.randint(2, 4)
    place = rng.choice(["a museum", "the zoo", "a cinema", "a concert", "the fair", "a park"])
    question = rng.choice([
        f"Adult tickets to {place} cost ${a} and child tickets cost ${c}. A family buys {n} adult and {m} child tickets. What is the total cost?",
        f"At {place} an adult pays ${a} and a child pays ${c}. How much do {n} adults and {m} children pay together?",
    ])
    steps = [
        f"The adult tickets cost {n} * {a} = {n * a} dollars.",
        f"The child tickets cost {m} * {c} = {m * c} dollars.",
        f"The total is {n * a} + {m * c} = {n * a + m * c} dollars.",
    ]
    return question, steps, n * a + m * c


def teams(rng):
    b, k = rng.randint(2, 15), rng.randint(2, 5)
    total = k * rng.randint(3, 9)
    if total <= b:
        return None
    g = total - b
    group = rng.choice(["teams", "groups", "rows"])
    question = rng.choice([
        f"There are {b} boys and {g} girls in a class. They form {group} of {k}. How many {group} are there?",
        f"A club has {b} boys and {g} girls. The children are put in {group} of {k}. How many {group} do they make?",
    ])
    steps = [f"There are {b} + {g} = {total} children.", f"They make {total} / {k} = {total // k} {group}."]
    return question, steps, total // k


def halves(rng):
    name, = pick_names(rng, 1)
    thing = rng.choice(COUNT_ITEMS)
    a = 2 * rng.randint(2, 20)
    b = rng.randint(1, 9)
    question = rng.choice([
        f"{name} had {a} {thing}, lost half of them, and then found {b} more. How many {thing} does {name} have now?",
        f"{name} had {a} {thing} and gave half of them away. Then {name} bought {b} more. How many {thing} does {name} have?",
    ])
    steps = [f"Half of {a} is {a} / 2 = {a // 2}.", f"Now {name} has {a // 2} + {b} = {a // 2 + b} {thing}."]
    return question, steps, a // 2 + b


def packing(rng):
    box, boxes = rng.choice(CONTAINERS)
    a, b = rng.randint(2, 5), rng.randint(3, 9)
    x = a * b
    c, d = rng.randint(1, 9), rng.randint(1, 9)
    rest = x - c - d
    k = rng.randint(2, 5)
    if rest <= 0 or rest % k:
        return None
    question = rng.choice([
        f"A shop has {a} {boxes} with {b} pencils in each. It sells {c} pencils on Monday and {d} on Tuesday. The rest are packed in bags of {k}. How many bags are there?",
        f"There are {a} {boxes} of {b} pencils. {c} pencils are sold in the morning and {d} in the evening. The others go into bags of {k}. How many bags are filled?",
    ])
    steps = [
        f"There are {a} * {b} = {x} pencils.",
        f"After Monday, {x} - {c} = {x - c} pencils are left.",
        f"After Tuesday, {x - c} - {d} = {rest} pencils are left.",
        f"They fill {rest} / {k} = {rest // k} bags.",
    ]
    return question, steps, rest // k


def pay_rate(rng):
    name, = pick_names(rng, 1)
    w, h, days = rng.randint(2, 9), rng.randint(2, 4), rng.randint(2, 3)
    x = w * h
    question = rng.choice([
        f"{name} earns ${w} an hour and works {h} hours a day. How much does {name} earn in {days} days?",
        f"{name} works {h} hours each day at ${w} per hour. How many dollars does {name} make in {days} days?",
    ])
    steps = [f"{name} earns {w} * {h} = {x} dollars a day.", f"In {days} days {name} earns {x} * {days} = {x * days} dollars."]
    return question, steps, x * days


def fruit_mix(rng):
    name, = pick_names(rng, 1)
    a, b, c = rng.randint(2, 30), rng.randint(2, 30), rng.randint(1, 9)
    if c > a + b:
        return None
    question = rng.choice([
        f"{name} picks {a} apples and {b} pears. {name} sells {c} of the fruits. How many fruits are left?",
        f"A basket has {a} oranges and {b} plums. {c} fruits are eaten. How many fruits are still in the basket?",
    ])
    steps = [f"There are {a} + {b} = {a + b} fruits.", f"After that, {a + b} - {c} = {a + b - c} fruits are left."]
    return question, steps, a + b - c


TEMPLATES = [
    shopping_total, shopping_change, ages_future, ages_times, distance, distance_left, sharing, rate_broken,
    baking, savings, garden, reading, tickets, teams, halves, packing, pay_rate, fruit_mix,
]


def make_problem(rng):
    while True:
        template = TEMPLATES[rng.randrange(len(TEMPLATES))]
        made = template(rng)
        if made is None:
            continue
        question, steps, answer = made
        assert answer >= 0 and all("\n" not in step for step in steps)
        return {
            "instruction": question,
            "response": "\n".join(steps + [f"The answer is \\boxed{{{answer}}}."]),
            "answer": answer,
            "template": template.__name__,
        }


def write_jsonl(path, rows, fields):
    with open(path, "w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps({field: row[field] for field in fields}, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "arith"))
    parser.add_argument("--seed", type=int, default=20250411)
    parser.add_argument("--sft", type=int, default=4000)
    parser.add_argument("--queries", type=int, default=128)
    parser.add_argument("--eval", type=int, default=200)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    total = args.sft + args.queries + args.eval
    problems, seen = [], set()
    while len(problems) < total:
        problem = make_problem(rng)
        if problem["instruction"] in seen:  # disjoint sets: every problem text is used once
            continue
        seen.add(problem["instruction"])
        problems.append(problem)
    # Held-out sets first, from the same draw, so that each set is an i.i.d. sample of the same distribution.
    evaluation = problems[: args.eval]
    queries = problems[args.eval : args.eval + args.queries]
    sft = problems[args.eval + args.queries :]

    os.makedirs(args.out, exist_ok=True)
    write_jsonl(os.path.join(args.out, "sft.jsonl"), sft, ["instruction", "response"])
    write_jsonl(os.path.join(args.out, "queries.jsonl"), queries, ["instruction"])
    write_jsonl(os.path.join(args.out, "eval.jsonl"), evaluation, ["instruction", "response"])
    print(json.dumps({"out": os.path.normpath(args.out), "sft": len(sft), "queries": len(queries), "eval": len(evaluation)}))


if __name__ == "__main__":
    main()

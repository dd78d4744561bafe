"""Dataset files as the Hugging Face hub ships them, written by pyarrow and Python's json, and what they hold.

Reads {"out": dir, "problems": [{"instruction", "answer"}]} on stdin (answer: the problem's integer answer) and
writes, into dir, the same problems in three schemas of the hub:
  gsm8k:  question, answer ("<worked solution>\\n#### <answer>");
  math:   problem, solution (a LaTeX solution ending in $\\boxed{...}$, some of them nested: \\frac{2N}{2}), and
          answer, the bare answer as MATH-500 keeps it;
  magpie: uuid, instruction, response, conversations (ShareGPT's [{from, value}]), messages ([{role, content}])
          and columns of other types (int64 within and beyond 2^53, float64, bool, list<string>, nulls);
each as Parquet under every codec the hub's files use (snappy, pyarrow's default; zstd; gzip; brotli; none), with
data page v2, and with several row groups and pages; and as a JSON list, a {"data": [...]} object and JSON lines.

Prints {"files": {name: path}, "fields": {schema: [column]}, "rows": {schema: [row]}, "truths": {...}} where rows
are what pyarrow reads back (Table.to_pylist; integers beyond 2^53 as their decimal text, which the JSON forms
hold too, since a JSON number would round them) and truths[schema][field] the ground-truth answer of each row, extracted the way the sets' own
graders do: GSM8K's text after "####"; MATH's last \\boxed{...} (or \\fbox{...}), braces matched; a bare answer
whole.
"""
import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

LARGE = 2**60


def gsm8k_answer(solution):
    """GSM8K's grader: the text after the last "####"."""
    return solution.split("####")[-1].strip()


def math_boxed(solution):
    """MATH's grader: the content of the last \\boxed{...} or \\fbox{...}, its braces matched."""
    start = max(solution.rfind("\\boxed"), solution.rfind("\\fbox"))
    if start < 0:
        return None
    opening = solution.index("{", start)
    depth = 0
    for index in range(opening, len(solution)):
        if solution[index] == "{":
            depth += 1
        elif solution[index] == "}":
            depth -= 1
            if depth == 0:
                return solution[opening + 1 : index]
    return None


def tables(problems):
    n = len(problems)
    questions = [p["instruction"] for p in problems]
    answers = [p["answer"] for p in problems]
    # Some answers nested (\frac{2N}{2}), one inside \fbox, as MATH's solutions write them.
    boxed = [f"\\frac{{{2 * a}}}{{2}}" if i % 3 == 1 else str(a) for i, a in enumerate(answers)]
    box = ["\\fbox" if i % 5 == 4 else "\\boxed" for i in range(n)]
    gsm8k = pa.table(
        {
            "question": questions,
            "answer": [f"We count it out.\nSo it is <<{a}={a}>>{a}.\n#### {a}" for a in answers],
        }
    )
    math = pa.table(
        {
            "problem": questions,
            "solution": [
                f"Working backwards, ${{x}} = {{{a}}}$.\nSo the answer is ${b}{{{v}}}$." for a, b, v in zip(answers, box, boxed)
            ],
            "answer": boxed,
        }
    )
    magpie = pa.table(
        {
            "uuid": [f"id-{i:04d}" if i % 7 else None for i in range(n)],
            "instruction": questions,
            "response": [f"The answer is {a}." for a in answers],
            "conversations": [
                [{"from": "human", "value": q}, {"from": "gpt", "value": f"The answer is {a}."}]
                for q, a in zip(questions, answers)
            ],
            "messages": [
                [{"role": "user", "content": q}, {"role": "assistant", "content": f"The answer is \\boxed{{{a}}}."}]
                for q, a in zip(questions, answers)
            ],
            "id": pa.array(range(n), pa.int64()),
            "count": pa.array([LARGE + i if i % 2 else i for i in range(n)], pa.int64()),
            "score": [i / 4 if i % 3 else None for i in range(n)],
            "reasoning": [i % 2 == 0 for i in range(n)],
            "tags": [["math", f"t{i}"] if i % 4 else [] for i in range(n)],
            "unicode": ["Zürich → 東京 ∑ 😀 " * (i % 5) for i in range(n)],
        }
    )
    return {"gsm8k": gsm8k, "math": math, "magpie": magpie}


def plain(value):
    """A value as JSON holds it: integers beyond 2^53 as their decimal text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and abs(value) > 2**53 - 1:
        return str(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def main():
    request = json.load(sys.stdin)
    out = request["out"]
    os.makedirs(out, exist_ok=True)
    files, fields, rows = {}, {}, {}
    for name, table in tables(request["problems"]).items():
        fields[name] = table.column_names
        for codec in ["snappy", "zstd", "gzip", "brotli", "none"]:
            path = os.path.join(out, f"{name}-{codec}.parquet")
            pq.write_table(table, path, compression=codec)
            files[f"{name}-{codec}"] = path
        path = os.path.join(out, f"{name}-pages.parquet")
        pq.write_table(table, path, compression="zstd", row_group_size=7, data_page_size=256, data_page_version="2.0")
        files[f"{name}-pages"] = path
        read = [plain(row) for row in pq.read_table(files[f"{name}-snappy"]).to_pylist()]
        for key in files:
            if key.startswith(name + "-"):
                assert [plain(row) for row in pq.read_table(files[key]).to_pylist()] == read, key
        rows[name] = read
        # The same rows as JSON (its numbers beyond 2^53 as text, which JSON.parse would round too).
        for form, text in [
            ("list", json.dumps(read, ensure_ascii=False, indent=1)),
            ("data", json.dumps({"version": "1.0", "data": read})),
            ("lines", "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in read)),
        ]:
            path = os.path.join(out, f"{name}-{form}.{'jsonl' if form == 'lines' else 'json'}")
            with open(path, "w", encoding="utf8") as file:
                file.write(text)
            files[f"{name}-{form}"] = path
    truths = {
        "gsm8k": {"answer": [gsm8k_answer(row["answer"]) for row in rows["gsm8k"]]},
        "math": {
            "solution": [math_boxed(row["solution"]) for row in rows["math"]],
            "answer": [row["answer"].strip() for row in rows["math"]],
        },
    }
    json.dump({"files": files, "fields": fields, "rows": rows, "truths": truths}, sys.stdout)


main()

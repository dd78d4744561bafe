"""What the default model's Python steps share: the JSONL reader, the Genius prompt, answer extraction and a greedy
evaluation with transformers (an implementation independent of ours, so the accuracy in models/default/README.md
is not measured by the code under test)."""
import json
import re

import torch

STEP_PREAMBLE = "The reasoning steps are:\n\n"
BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def read_jsonl(path):
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def prompt_text(tokenizer, instruction):
    chat = tokenizer.apply_chat_template([{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True)
    return chat + STEP_PREAMBLE


def boxed_answer(text):
    """The content of the last \\boxed{...} in text, stripped; None when there is none."""
    found = BOXED.findall(text)
    return found[-1].strip() if found else None


@torch.no_grad()
def greedy_eval(model, tokenizer, rows, eos_ids, pad_id, batch=100, max_new_tokens=96):
    """Greedy accuracy: the last \\boxed{} of the generation equals the last \\boxed{} of the reference."""
    model.eval()
    correct, outputs = 0, []
    tokenizer.padding_side = "left"
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        encoded = tokenizer([prompt_text(tokenizer, row["instruction"]) for row in chunk], return_tensors="pt",
                            padding=True, add_special_tokens=False)
        generated = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos_ids,
                                   pad_token_id=pad_id)
        for row, sequence in zip(chunk, generated[:, encoded["input_ids"].size(1) :]):
            text = tokenizer.decode(sequence, skip_special_tokens=True)
            ok = boxed_answer(text) is not None and boxed_answer(text) == boxed_answer(row["response"])
            correct += ok
            outputs.append({"instruction": row["instruction"], "output": text, "correct": bool(ok)})
    model.train()
    return correct / len(rows), outputs

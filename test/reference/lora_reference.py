"""LoRA the way Python's peft does it, for test/lora.test.ts: adapters made, loaded, trained one step and merged
by peft over transformers models in float32.

stdin: {"base": model dir, "ops": [op, ...]}, each op one of
  {"op": "make", "out", "r", "alpha", "targets", "rslora", "seed"}: a peft adapter with random A and B
      (init_lora_weights=False, so that it changes the model), dropout 0, saved to out;
  {"op": "logits", "adapter", "tokens"}: the adapted model's logits [T, vocab] of one sequence;
  {"op": "merge", "adapter", "out"}: merge_and_unload, saved to out (save_pretrained);
  {"op": "step", "adapter", "out", "lr", "microBatch", "beta", "alpha", "pairs"}: one ACO step (the reference's
      loss, aco_reference.py, with the paper's weight clip) of the adapter loaded trainable, the reference policy
      the base with the adapter disabled, torch.optim.AdamW; the adapter saved to out;
  {"op": "difference", "a", "b"}: the largest absolute difference between two safetensors files of the same
      tensors (null when their names differ).
stdout: {"results": [...]}, one per op (logits as nested lists, the others null or a number).
"""
import json
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(__file__))
import aco_reference  # noqa: E402
from train_reference import batch_logps  # noqa: E402


def base_model(request):
    return AutoModelForCausalLM.from_pretrained(request["base"], dtype=torch.float32)


def make(request, op):
    torch.manual_seed(op["seed"])
    config = LoraConfig(
        r=op["r"],
        lora_alpha=op["alpha"],
        lora_dropout=0.0,
        target_modules=op["targets"],
        use_rslora=op["rslora"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    get_peft_model(base_model(request), config).save_pretrained(op["out"])


def logits(request, op):
    model = PeftModel.from_pretrained(base_model(request), op["adapter"]).eval()
    with torch.no_grad():
        return model(input_ids=torch.tensor([op["tokens"]])).logits[0].tolist()


def merge(request, op):
    PeftModel.from_pretrained(base_model(request), op["adapter"]).merge_and_unload().save_pretrained(op["out"])


class AdapterOff:
    """The base model of a peft model, called as a model: the reference policy of a LoRA run."""

    def __init__(self, model):
        self.model = model

    def __call__(self, **inputs):
        with self.model.disable_adapter():
            return self.model(**inputs)


def step(request, op):
    policy = PeftModel.from_pretrained(base_model(request), op["adapter"], is_trainable=True)
    policy.train()
    reference = AdapterOff(policy)
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=op["lr"], weight_decay=0.0)
    pairs = op["pairs"]
    for start in range(0, len(pairs), op["microBatch"]):
        chunk = pairs[start : start + op["microBatch"]]
        n = len(chunk)
        sums, _ = batch_logps(policy, [p["chosen"] for p in chunk] + [p["rejected"] for p in chunk])
        with torch.no_grad():
            ref, _ = batch_logps(reference, [p["chosen"] for p in chunk] + [p["rejected"] for p in chunk])
        losses, _, _ = aco_reference.aco_loss_paper(
            sums[:n],
            sums[n:],
            ref[:n],
            ref[n:],
            torch.tensor([p["chosenAdvantage"] for p in chunk]),
            torch.tensor([p["rejectedAdvantage"] for p in chunk]),
            op["beta"],
            op["alpha"],
        )
        (losses.sum() / len(pairs)).backward()
    optimizer.step()
    policy.save_pretrained(op["out"])


def difference(_request, op):
    a, b = load_file(op["a"]), load_file(op["b"])
    if set(a) != set(b):
        return None
    return max((a[name].double() - b[name].double()).abs().max().item() for name in a)


OPS = {"make": make, "logits": logits, "merge": merge, "step": step, "difference": difference}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    print(json.dumps({"results": [OPS[op["op"]](request, op) for op in request["ops"]]}))

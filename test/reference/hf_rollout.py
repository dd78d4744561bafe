"""transformers' side of the engine parity tests, on a model directory saved by transformers.

stdin: {"dir", "logits_tokens": [ids] | null, "greedy_prompts": [[ids]], "max_new_tokens", "repetition_penalty"?}
stdout: {"logits": [[...]] (float32 logits of logits_tokens), "greedy": [{"tokens", "logprobs"}]}
Greedy runs one prompt at a time with model.generate (no padding), with the repetition penalty when
one is given, and the log-prob of each new token is log_softmax of the model's own logits at its step.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM

request = json.load(sys.stdin)
torch.manual_seed(0)
model = AutoModelForCausalLM.from_pretrained(request["dir"], dtype=torch.float32).eval()
result = {"logits": None, "greedy": []}
with torch.no_grad():
    if request.get("logits_tokens"):
        ids = torch.tensor([request["logits_tokens"]])
        result["logits"] = model(ids).logits[0].float().tolist()
    for prompt in request.get("greedy_prompts", []):
        out = model.generate(
            torch.tensor([prompt]),
            attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
            max_new_tokens=request["max_new_tokens"],
            do_sample=False,
            repetition_penalty=request.get("repetition_penalty", 1.0),
            eos_token_id=None,
            pad_token_id=0,
            output_logits=True,
            return_dict_in_generate=True,
        )
        new = out.sequences[0, len(prompt):]
        logprobs = [torch.log_softmax(step[0].float(), -1)[token].item() for step, token in zip(out.logits, new)]
        result["greedy"].append({"tokens": new.tolist(), "logprobs": logprobs})
print(json.dumps(result))

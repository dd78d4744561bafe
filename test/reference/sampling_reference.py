"""transformers' side of the sampling tests: what generate() does to one step's logits.

stdin: {"logits": [[float32]] (rows), "input_ids": [[ids]] (what each row has seen), and
  "repetition_penalty": number, for "penalized": [[...]], the logits after RepetitionPenaltyLogitsProcessor alone;
  "settings": {"temperature", "top_p", "top_k", "min_p", "repetition_penalty"}, for "probabilities": [[...]], the
  softmax of the logits after every processor generate(do_sample=True) applies with these settings, in its own order
  (the list comes from generate's own _get_logits_processor, so a change of order in transformers shows here)}
stdout: {"penalized"?, "probabilities"?}
"""
import json
import sys

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, LogitsProcessorList
from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

request = json.load(sys.stdin)
logits = torch.tensor(request["logits"], dtype=torch.float32)
rows = [(row.unsqueeze(0), torch.tensor([ids], dtype=torch.long)) for row, ids in zip(logits, request["input_ids"])]
result = {}

if "repetition_penalty" in request:
    # JSON writes 2.0 as 2: transformers wants floats.
    penalty = RepetitionPenaltyLogitsProcessor(float(request["repetition_penalty"]))
    result["penalized"] = [penalty(input_ids, row.clone())[0].tolist() for row, input_ids in rows]

if "settings" in request:
    settings = request["settings"]
    config = GenerationConfig(
        do_sample=True,
        temperature=float(settings["temperature"]),
        top_p=float(settings["top_p"]),
        top_k=int(settings["top_k"]),
        min_p=float(settings["min_p"]),
        repetition_penalty=float(settings["repetition_penalty"]),
    )
    # _get_logits_processor is a model method: a one-layer model stands in (its weights are never used).
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=logits.shape[1],
            hidden_size=8,
            intermediate_size=8,
            num_hidden_layers=1,
            num_attention_heads=1,
            num_key_value_heads=1,
        )
    )
    result["probabilities"] = []
    for row, input_ids in rows:
        processors = model._get_logits_processor(
            generation_config=config,
            input_ids_seq_length=input_ids.shape[1],
            encoder_input_ids=input_ids,
            logits_processor=LogitsProcessorList(),
            device="cpu",
            model_kwargs={"attention_mask": torch.ones_like(input_ids)},
        )
        result["probabilities"].append(torch.softmax(processors(input_ids, row.clone()), -1)[0].tolist())
print(json.dumps(result))

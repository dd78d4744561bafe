"""Loads a Hugging Face model directory as a Python user does: AutoModelForCausalLM and AutoTokenizer, and a
LoRA adapter over it with peft, trainable (the workload that has one trains it)."""
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def load(model_dir, device, dtype, adapter=None):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=DTYPES[dtype]).to(device).eval()
    if adapter is not None:
        # Imported here: peft's modules add about 140 MiB to the RSS of every other workload's process.
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter, is_trainable=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return model, tokenizer

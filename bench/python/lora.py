"""LoRA workload: train.py's ACO optimizer step on a peft adapter, the way a peft user trains one.

The worker loads the adapter over the base (models.py: PeftModel.from_pretrained, trainable), so peft has frozen
the base weights: AdamW gets the adapter's parameters alone, and the reference log-probs are the base's, taken
once with the adapter disabled (peft's disable_adapter; no second copy of the model), as
test/reference/lora_reference.py takes them.

setup: train.py's, and "adapter" (the adapter directory both sides start from)
measurement: {"loss", "gradNorm"} (the gradient norm over the adapter's parameters)
"""
import train


def prepare(setup, loaded):
    model = loaded.model
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return train.aco_steps(setup, model, trainable, model.disable_adapter)

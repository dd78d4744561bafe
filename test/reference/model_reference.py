"""transformers as the reference for our config parsing and weight loading.

stdin {"op": "inspect", "dirs": [d, ...], "state_dict": bool}: for each directory, {"config": how
  transformers reads its config.json and generation_config.json, in ModelConfig's field names, with
  the bias flags and weight shapes ("weights") of the modules it builds from them, "state_dict":
  from_pretrained(d)'s state_dict as {name: digest} when asked}. A digest, as in
  safetensors_reference.py: shape and sha256 of the values as float64.
stdin {"op": "save", "config": {...}, "out": d, "max_shard_size"?: "20KB"}: builds a model from a config
  dict (model_type included) with torch.manual_seed(0) and save_pretrained's it to d (sharded when
  max_shard_size is given).
"""
import hashlib
import json
import os
import sys

import torch
from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS


def digest(tensor):
    data = tensor.detach().to(torch.float64).contiguous().numpy().tobytes()
    return {"shape": list(tensor.shape), "sha256": hashlib.sha256(data).hexdigest()}


def id_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def describe(model_dir):
    config = AutoConfig.from_pretrained(model_dir)
    generation = (
        GenerationConfig.from_pretrained(model_dir)
        if os.path.exists(os.path.join(model_dir, "generation_config.json"))
        else None
    )
    rope = config.rope_parameters
    # Gemma 3 keeps one RoPE per layer type; ropeTheta and its scaling are the full-attention layers'.
    local_rope = rope.get("sliding_attention") if "full_attention" in rope else None
    if local_rope is not None or "full_attention" in rope:
        rope = rope["full_attention"]
    rope_type = rope.get("rope_type", "default")
    scaling = None
    if rope_type != "default":
        scaling = {"type": rope_type, "factor": rope["factor"]}
        if rope_type == "llama3":
            scaling.update(
                lowFreqFactor=rope["low_freq_factor"],
                highFreqFactor=rope["high_freq_factor"],
                originalMaxPositions=rope["original_max_position_embeddings"],
            )
        if rope_type == "yarn":
            scaling.update(
                originalMaxPositions=rope["original_max_position_embeddings"],
                betaFast=rope.get("beta_fast") or 32,
                betaSlow=rope.get("beta_slow") or 1,
                truncate=rope.get("truncate", True),
                attentionFactor=ROPE_INIT_FUNCTIONS["yarn"](config, "cpu")[1],
            )
    eos = id_list(generation.eos_token_id if generation else None)
    eos += [token for token in id_list(config.eos_token_id) if token not in eos]
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    layer = model.model.layers[0]
    dtype = config.dtype
    return {
        "modelType": config.model_type,
        "hiddenSize": config.hidden_size,
        "numLayers": config.num_hidden_layers,
        "numHeads": config.num_attention_heads,
        "numKvHeads": config.num_key_value_heads,
        "headDim": layer.self_attn.head_dim,
        "intermediateSize": config.intermediate_size,
        "vocabSize": config.vocab_size,
        "maxPositions": config.max_position_embeddings,
        "rmsNormEps": config.rms_norm_eps,
        "ropeTheta": rope["rope_theta"],
        "ropeScaling": scaling,
        "attentionBias": layer.self_attn.q_proj.bias is not None,
        "attentionOutputBias": layer.self_attn.o_proj.bias is not None,
        "mlpBias": layer.mlp.gate_proj.bias is not None,
        "qkNorm": hasattr(layer.self_attn, "q_norm"),
        "normPlusOne": config.model_type.startswith("gemma"),
        "sandwichNorms": hasattr(layer, "pre_feedforward_layernorm"),
        "embedScale": float(getattr(model.model.embed_tokens, "scalar_embed_scale", 1.0)),
        "activation": getattr(config, "hidden_activation", None) or config.hidden_act,
        "attentionScale": layer.self_attn.scaling,
        "slidingRopeTheta": local_rope["rope_theta"] if local_rope is not None else None,
        "tieWordEmbeddings": config.tie_word_embeddings,
        "eosTokenIds": eos,
        "bosTokenId": config.bos_token_id if config.bos_token_id is not None else (generation and generation.bos_token_id),
        "padTokenId": config.pad_token_id if config.pad_token_id is not None else (generation and generation.pad_token_id),
        "slidingWindow": getattr(config, "sliding_window", None),
        "slidingLayers": [
            kind == "sliding_attention"
            for kind in getattr(config, "layer_types", None)
            or ["sliding_attention" if getattr(config, "sliding_window", None) else "full_attention"]
            * config.num_hidden_layers
        ],
        "torchDtype": str(dtype).removeprefix("torch.") if dtype is not None else "float32",
        "weights": {name: list(tensor.shape) for name, tensor in model.state_dict().items()},
    }


def main():
    request = json.load(sys.stdin)
    if request["op"] == "inspect":
        result = {}
        for model_dir in request["dirs"]:
            result[model_dir] = {"config": describe(model_dir)}
            if request.get("state_dict"):
                model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
                result[model_dir]["state_dict"] = {name: digest(t) for name, t in model.state_dict().items()}
        print(json.dumps(result))
    elif request["op"] == "save":
        fields = dict(request["config"])
        config = AutoConfig.for_model(fields.pop("model_type"), **fields)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config)
        model.save_pretrained(request["out"], max_shard_size=request.get("max_shard_size", "50GB"))
        print(json.dumps({"dir": request["out"]}))
    else:
        raise ValueError(f"unknown op {request['op']}")


if __name__ == "__main__":
    main()

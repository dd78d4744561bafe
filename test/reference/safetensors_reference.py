"""The Python safetensors library as the reference for our reader and writer.

stdin {"op": "write_all_dtypes", "path": p}: writes a file holding every dtype the format has in torch
  (special values included) and prints {"tensors": {name: digest}, "metadata": {...}}.
stdin {"op": "read", "paths": [p, ...]}: reads each file with safe_open and prints
  {"files": [{"ok": true, "metadata": {...}, "tensors": {name: digest}} | {"ok": false, "error": str}]}.

A digest is {"dtype", "shape", "sha256"}: the hash of the values as little-endian float64 (floating
dtypes) or int64 (integer and bool dtypes), so that any reader can reproduce it exactly.
"""
import hashlib
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import _TYPES, save_file

DTYPE_NAMES = {dtype: name for name, dtype in _TYPES.items()}


def digest(tensor):
    if tensor.dtype == torch.bool:
        # A BOOL byte other than 0/1 (a corrupted file) is true for our reader; torch keeps the raw byte.
        tensor = tensor.view(torch.uint8) != 0
    canonical = torch.float64 if tensor.is_floating_point() else torch.int64
    data = tensor.to(canonical).contiguous().numpy().tobytes()
    return {
        "dtype": DTYPE_NAMES[tensor.dtype],
        "shape": list(tensor.shape),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def all_dtypes():
    generator = torch.Generator().manual_seed(0)
    floats = torch.cat(
        [
            torch.randn(60, generator=generator, dtype=torch.float64) * 100,
            torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-40, -3.5, 65504.0], dtype=torch.float64),
        ]
    )
    tensors = {}
    for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        tensors[f"float/{DTYPE_NAMES[dtype]}"] = floats.to(dtype).reshape(4, 17)
    for dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
        tensors[f"float/{DTYPE_NAMES[dtype]}"] = floats[:60].clamp(-400, 400).to(dtype).reshape(3, 4, 5)
    for dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        info = torch.iinfo(dtype)
        values = torch.randint(info.min, info.max, (30,), generator=generator, dtype=torch.int64)
        tensors[f"int/{DTYPE_NAMES[dtype]}"] = torch.cat([values, torch.tensor([info.min, info.max, 0])]).to(dtype)
    for dtype, top in ((torch.uint16, 2**16), (torch.uint32, 2**32)):
        tensors[f"int/{DTYPE_NAMES[dtype]}"] = torch.tensor([0, 1, top // 2, top - 1], dtype=torch.int64).to(dtype)
    tensors["int/U64"] = torch.tensor([0, 1, 2**62, 2**63 - 1], dtype=torch.int64).to(torch.uint64)
    tensors["bool"] = torch.rand(2, 3, 4, generator=generator) > 0.5
    tensors["scalar"] = torch.tensor(2.5)
    tensors["empty"] = torch.zeros(0, 3)
    return tensors


def main():
    request = json.load(sys.stdin)
    if request["op"] == "write_all_dtypes":
        tensors = all_dtypes()
        metadata = {"format": "pt", "note": "written by safetensors " + __import__("safetensors").__version__}
        save_file(tensors, request["path"], metadata=metadata)
        print(json.dumps({"tensors": {name: digest(t) for name, t in tensors.items()}, "metadata": metadata}))
    elif request["op"] == "read":
        files = []
        for path in request["paths"]:
            try:
                with safe_open(path, framework="pt") as reader:
                    tensors = {name: digest(reader.get_tensor(name)) for name in reader.keys()}
                    files.append({"ok": True, "metadata": reader.metadata() or {}, "tensors": tensors})
            except Exception as error:  # the reference's verdict on a malformed file, whatever its type
                files.append({"ok": False, "error": f"{type(error).__name__}: {error}"[:300]})
        print(json.dumps({"files": files}))
    else:
        raise ValueError(f"unknown op {request['op']}")


if __name__ == "__main__":
    main()

"""The Python side of `genius-native bench`: one workload, measured on request, one JSON line per measurement.

stdin, one JSON object per line: first {"workload": "rollout" | "foresight" | "train" | "lora" | "logprobs" |
"parity", "setup": {"model"?, "adapter"?, "device", "dtype", "threads"?, ...the workload's own fields}}, then one
line per measurement with its parameters (e.g. {"repeat": 2}, or {"length": 1024} for logprobs). stdout:
{"event": "ready", ...} once the model (and the adapter over it) is loaded, then {"event": "measurement",
"seconds", "peakRssBytes", ...} per request line, or {"event": "error", "message"} for a measurement that failed;
a failed setup gives that and exit status 1. The benchmark keeps this process between measurements, so that its
two sides can take turns (A B A B) without reloading.

Run by hand: see bench/README.md.
"""
import json
import platform
import sys
import time
import traceback
from types import SimpleNamespace

import torch
import transformers

import foresight
import logprob_memory
import lora
import models
import parity
import rollout
import train
from measure import Measurement

WORKLOADS = {
    "rollout": rollout.prepare,
    "foresight": foresight.prepare,
    "train": train.prepare,
    "lora": lora.prepare,
    "logprobs": logprob_memory.prepare,
    "parity": parity.prepare,
}


def emit(event):
    print(json.dumps(event), flush=True)


def serve():
    request = json.loads(sys.stdin.readline())
    setup = request["setup"]
    if setup.get("threads"):
        torch.set_num_threads(setup["threads"])
    device = torch.device(setup.get("device", "cpu"))
    started = time.perf_counter()
    model, tokenizer = (None, None)
    if setup.get("model"):
        model, tokenizer = models.load(setup["model"], device, setup.get("dtype", "float32"), setup.get("adapter"))
    run = WORKLOADS[request["workload"]](setup, SimpleNamespace(model=model, tokenizer=tokenizer, device=device))
    emit(
        {
            "event": "ready",
            "setupSeconds": time.perf_counter() - started,
            "threads": torch.get_num_threads(),
            "device": str(device),
            "deviceName": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "python": platform.python_version()},
        }
    )
    for line in sys.stdin:
        if not line.strip():
            continue
        # A failed measurement (e.g. CUDA out of memory at one length) is reported and the next one still runs.
        try:
            with Measurement(device) as measurement:
                result = run(json.loads(line))
        except Exception:  # noqa: BLE001 - reported to the benchmark, which decides
            emit({"event": "error", "message": traceback.format_exc()})
            continue
        emit({"event": "measurement", **measurement.record(), **result})


if __name__ == "__main__":
    try:
        serve()
    except Exception:  # noqa: BLE001 - a failed setup is reported to the benchmark, which prints it
        emit({"event": "error", "message": traceback.format_exc()})
        sys.exit(1)

"""Reference dtype conversion: float64 values -> dtype -> float64, the way PyTorch rounds."""
import json
import sys

import torch

request = json.load(sys.stdin)
values = torch.tensor(request["values"], dtype=torch.float32).to(getattr(torch, request["dtype"]))
print(json.dumps({"values": values.to(torch.float64).tolist()}))

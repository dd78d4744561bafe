"""Reference for matmulChain: x <- tanh(x @ a / sqrt(n)), `steps` times from x = a, in float64."""
import json
import math
import sys

import torch

request = json.load(sys.stdin)
n = request["n"]
a = torch.tensor(request["values"], dtype=torch.float64).reshape(n, n)
x = a
for _ in range(request["steps"]):
    x = torch.tanh(x @ a / math.sqrt(n))
print(json.dumps({"values": x.flatten().tolist()}))

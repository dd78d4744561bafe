"""Reference for sequenceLogprobs: log_softmax(h @ W.T).gather(targets) in float64, and the gradients of
sum(gradOutput * logp) w.r.t. h and W, all through plain PyTorch autograd with the full [N, V] logits.

stdin: {"hidden": [[...]], "weight": [[...]], "targets": [...], "gradOutput": [...]}
stdout: {"logprobs": [...], "gradHidden": [[...]], "gradWeight": [[...]]}
"""
import json
import sys

import torch

request = json.load(sys.stdin)
hidden = torch.tensor(request["hidden"], dtype=torch.float64, requires_grad=True)
weight = torch.tensor(request["weight"], dtype=torch.float64, requires_grad=True)
targets = torch.tensor(request["targets"], dtype=torch.int64)
grad_output = torch.tensor(request["gradOutput"], dtype=torch.float64)

logprobs = torch.log_softmax(hidden @ weight.T, dim=-1).gather(1, targets.unsqueeze(1)).squeeze(1)
(logprobs * grad_output).sum().backward()
print(json.dumps({
    "logprobs": logprobs.tolist(),
    "gradHidden": hidden.grad.tolist(),
    "gradWeight": weight.grad.tolist(),
}))

"""The bundled MNIST models rebuilt in PyTorch from the weights robustest exports at bench time.

The export (written by bench/auto-attack.ts) lists the Keras layers in order with their
weights; Conv2D kernels are [kh, kw, in, out] and Dense kernels [in, out], channels last. The
module takes NCHW inputs, as the peers expect, and flattens channels last so the Dense weights
line up. Its outputs are the logits: the final softmax is left out, as robustest does.
"""
import json

import numpy as np
import torch
from torch import nn


class KerasSequential(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.steps = nn.ModuleList()
        self.kinds = []
        for layer in layers:
            kind = layer["type"]
            if kind == "Conv2D":
                kernel = np.asarray(layer["kernel"], dtype=np.float32).reshape(layer["kernelShape"])
                conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2], padding=0)
                conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
                conv.bias.data = torch.tensor(layer["bias"], dtype=torch.float32)
                self.steps.append(conv)
            elif kind == "Dense":
                kernel = np.asarray(layer["kernel"], dtype=np.float32).reshape(layer["kernelShape"])
                dense = nn.Linear(kernel.shape[0], kernel.shape[1])
                dense.weight.data = torch.from_numpy(kernel.T.copy())
                dense.bias.data = torch.tensor(layer["bias"], dtype=torch.float32)
                self.steps.append(dense)
            elif kind == "MaxPooling2D":
                self.steps.append(nn.MaxPool2d(layer["poolSize"]))
            elif kind == "Flatten":
                self.steps.append(nn.Flatten())
            else:
                raise ValueError(f"unsupported layer {kind}")
            self.kinds.append((kind, layer.get("activation")))

    def forward(self, x):
        for step, (kind, activation) in zip(self.steps, self.kinds):
            if kind == "Flatten":
                # Keras flattens channels last.
                x = step(x.permute(0, 2, 3, 1) if x.dim() == 4 else x)
            else:
                x = step(x)
            if activation == "relu":
                x = torch.relu(x)
        return x


def load(path):
    """The exported model and digits: (module, inputs NCHW, labels, robustest's logits, options)."""
    with open(path) as f:
        spec = json.load(f)
    model = KerasSequential(spec["layers"]).eval()
    n, h, w, c = spec["shape"]
    x = torch.tensor(np.asarray(spec["inputs"], dtype=np.float32).reshape(n, h, w, c)).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor(spec["labels"], dtype=torch.long)
    logits = np.asarray(spec["logits"], dtype=np.float32).reshape(n, -1)
    return model, x, y, logits, spec.get("options", {})


def check_parity(model, x, logits):
    """Largest difference between the PyTorch logits and robustest's, on the same digits."""
    with torch.no_grad():
        mine = model(x).numpy()
    return float(np.abs(mine - logits).max())

"""torchvision's MobileNetV2 for bench/onnxruntime.ts: exports it to ONNX (seeded random weights:
speed does not depend on them) with 8 seeded 224×224 images, and times PyTorch's forward pass and
the input gradient of the summed cross-entropy at each thread count, on CPU.

    python3 mobilenet_peer.py OUT_DIR THREADS[,THREADS…] [RUNS]

Writes OUT_DIR/mobilenet_v2.onnx, OUT_DIR/x.bin (NHWC float32), OUT_DIR/gradient.bin (NHWC
float32, PyTorch's gradient, for the parity check) and prints one JSON line.
"""
import json
import os
import statistics
import sys
import time

import torch
import torchvision

out, threads = sys.argv[1], [int(t) for t in sys.argv[2].split(",")]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
torch.manual_seed(0)
model = torchvision.models.mobilenet_v2()
x = torch.rand(8, 3, 224, 224, generator=torch.Generator().manual_seed(1))
# Random weights leave the untrained batch-norm statistics far from the activations' (logits come
# out near 1e-9, and gradients that small are ill-conditioned in float32): set them from a few
# batches of other random images, as recalibrating batch norm would.
for module in model.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
        module.reset_running_stats()
        module.momentum = None
model.train()
with torch.no_grad():
    for seed in range(2, 5):
        model(torch.rand(8, 3, 224, 224, generator=torch.Generator().manual_seed(seed)))
model.eval()
labels = torch.arange(8) % 1000

torch.onnx.export(model, x, os.path.join(out, "mobilenet_v2.onnx"), opset_version=13, input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
x.permute(0, 2, 3, 1).contiguous().numpy().tofile(os.path.join(out, "x.bin"))


def gradient():
    xi = x.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model(xi), labels, reduction="sum")
    return torch.autograd.grad(loss, xi)[0]


def forward():
    with torch.no_grad():
        return model(x)


def median_ms(body):
    for _ in range(2):
        body()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


gradient().permute(0, 2, 3, 1).contiguous().numpy().tofile(os.path.join(out, "gradient.bin"))
results = {}
for t in threads:
    torch.set_num_threads(t)
    results[t] = {"forward": median_ms(forward), "gradient": median_ms(gradient)}
print(json.dumps({"torch": torch.__version__, "labels": labels.tolist(), "threads": results}), flush=True)

"""Runs Foolbox 3's LinfPGD (bethgelab/foolbox with eagerpy, importable from PYTHONPATH) over a
list of ε on the model and digits robustest exported, on CPU with one thread, and prints the
robust accuracy per ε and the seconds taken as one JSON line: after an untimed run on a few
digits, the fastest of RUNS timed runs back to back (default 3), as robustest's side is timed,
and every run's seconds.

    python3 pgd_curve_peer.py EXPORT.json [RUNS]
"""
import json
import sys
import time

import torch

from mnist_torch import check_parity, load

torch.set_num_threads(1)
import foolbox as fb  # noqa: E402

model, x, y, logits, options = load(sys.argv[1])
parity = check_parity(model, x, logits)
fmodel = fb.PyTorchModel(model, bounds=(0, 1))
attack = fb.attacks.LinfPGD(steps=options["steps"], rel_stepsize=options["relativeStepSize"], random_start=True)
attack(fmodel, x[:20], y[:20], epsilons=options["epsilons"][:1])
runs = []
for run in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
    torch.manual_seed(options.get("seed", 0))
    started = time.perf_counter()
    _, _, success = attack(fmodel, x, y, epsilons=options["epsilons"])
    runs.append(time.perf_counter() - started)
robust = (1 - success.float().mean(-1)).tolist()
print(json.dumps({"robustAccuracy": robust, "seconds": min(runs), "runs": runs, "parity": parity}), flush=True)

"""Runs the reference AutoAttack (fra31/auto-attack, importable from PYTHONPATH) on the model and
digits robustest exported, on CPU with one thread, once per ε after an untimed run on four digits,
and prints one JSON line per ε.
The seconds per member are read from the reference's own progress lines ("robust accuracy after
APGD-T: … (total time 1.7 s)"), whose times are cumulative.

    python3 auto_attack_peer.py EXPORT.json
"""
import contextlib
import io
import json
import re
import sys
import time

import torch

from mnist_torch import check_parity, load

torch.set_num_threads(1)
from autoattack import AutoAttack  # noqa: E402

model, x, y, logits, options = load(sys.argv[1])
parity = check_parity(model, x, logits)
norm = {"linf": "Linf", "l2": "L2"}[options["norm"]]
# An untimed run on a few digits first, as robustest's side runs in a process already warm.
with contextlib.redirect_stdout(io.StringIO()):
    AutoAttack(model, norm=norm, eps=options["epsilons"][0], version=options.get("version", "standard"), seed=options.get("seed", 0), device="cpu", verbose=False).run_standard_evaluation(x[:4], y[:4], bs=4)
for eps in options["epsilons"]:
    progress = io.StringIO()
    with contextlib.redirect_stdout(progress):
        adversary = AutoAttack(model, norm=norm, eps=eps, version=options.get("version", "standard"), seed=options.get("seed", 0), device="cpu", verbose=True)
        started = time.perf_counter()
        x_adv = adversary.run_standard_evaluation(x, y, bs=len(x))
        seconds = time.perf_counter() - started
    members, previous = {}, 0.0
    for name, total in re.findall(r"robust accuracy after ([\w-]+): .*\(total time ([\d.]+) s\)", progress.getvalue()):
        members[name.lower()] = float(total) - previous
        previous = float(total)
    with torch.no_grad():
        robust = (model(x_adv).argmax(1) == y).float().mean().item()
        clean = (model(x).argmax(1) == y).float().mean().item()
    print(json.dumps({"epsilon": eps, "robustAccuracy": robust, "cleanAccuracy": clean, "seconds": seconds, "members": members, "parity": parity}), flush=True)

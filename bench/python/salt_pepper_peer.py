"""Runs Foolbox 3's SaltAndPepperNoiseAttack (bethgelab/foolbox, importable from PYTHONPATH, with
eagerpy) on the model and digits robustest exported, on CPU with one thread, and prints the
changed pixels per digit as one JSON line (null where no adversarial was found).

    python3 salt_pepper_peer.py EXPORT.json
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
torch.manual_seed(options.get("seed", 0))
fmodel = fb.PyTorchModel(model, bounds=(0, 1))
attack = fb.attacks.SaltAndPepperNoiseAttack(steps=options.get("steps", 1000))
started = time.perf_counter()
_, adv, success = attack(fmodel, x, y, epsilons=None)
seconds = time.perf_counter() - started
changed = (adv != x).reshape(len(x), -1).sum(1)
pixels = [int(c) if bool(s) else None for c, s in zip(changed, success)]
print(json.dumps({"pixels": pixels, "seconds": seconds, "parity": parity}), flush=True)

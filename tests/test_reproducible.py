"""The same relation, seed and step budget give the same weights, bit for bit, on one machine:
whatever the process did before (what the allocator hands back, the global RNGs, PYTHONHASHSEED),
however loaded the machine (the clock), and whatever torch's thread count outside training.

LM trains a float64 network, where a difference in the last bit of the start shows; the Adam
network is float32 and hid it (test_train.py's reproducibility test passed all along)."""

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import surrogate as sg
from surrogate.persistence import shipped
from surrogate.training import lm

ROOT = Path(__file__).resolve().parent.parent
#: a shipped relation whose LM start (the skip path's least-squares fit) differed from run to run
RELATION = "ranz_marshall"
LM_CFG = sg.TrainConfig(method="lm", lm=lm.LMSettings(warm_steps=50))
LM_STEPS = 3
ADAM_CFG = sg.TrainConfig(method="adam")
ADAM_STEPS = 60


def _weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.module.net.state_dict().items()}


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k}: max difference {float((a[k] - b[k]).abs().max()):.3g}"


def _dirty_the_allocator() -> None:
    """Free small blocks full of non-zero integers and floats, as any earlier work leaves them:
    an uninitialised buffer read by the training (gelsy's pivot array, pytorch/pytorch#187411)
    then picks them up."""
    keep = []
    for n in range(1, 64):
        keep.append(torch.full((n,), n % 7 + 1, dtype=torch.int32))
        keep.append(torch.full((n,), -3, dtype=torch.int64))
        keep.append(torch.rand(n, dtype=torch.float64))
    del keep


def _train(cfg, steps):
    return sg.train(shipped.entry(RELATION).relation, max_steps=steps, seed=0, config=cfg, progress=False)


@pytest.mark.parametrize("cfg, steps", [(LM_CFG, LM_STEPS), (ADAM_CFG, ADAM_STEPS)], ids=["lm", "adam"])
def test_same_seed_and_steps_give_the_same_weights_whatever_ran_before(cfg, steps):
    first = _weights(_train(cfg, steps))
    for _ in range(2):
        _dirty_the_allocator()
        torch.manual_seed(12345)  # the global RNGs are not training's
        np.random.seed(12345)
        _assert_same(first, _weights(_train(cfg, steps)))


@pytest.mark.parametrize("cfg, steps", [(LM_CFG, LM_STEPS), (ADAM_CFG, ADAM_STEPS)], ids=["lm", "adam"])
def test_a_step_budget_never_reads_the_clock(cfg, steps, monkeypatch):
    """A loaded machine, exaggerated: each reading of the clock 1000 s after the last.  With a
    step budget alone nothing may stop early or schedule by time (the LM warm-up, validation,
    restarts, the learning-rate schedule)."""
    first = _weights(_train(cfg, steps))
    now = [0.0]

    def fast():
        now[0] += 1000.0
        return now[0]

    clock = types.SimpleNamespace(perf_counter=fast, process_time=fast, time=fast)
    for mod in ("surrogate.training.loop", "surrogate.training.lm"):
        monkeypatch.setattr(sys.modules[mod], "time", clock)
    model = _train(cfg, steps)
    assert model.info["steps"] == steps and model.info["stop"] == "max_steps"
    _assert_same(first, _weights(model))


def test_the_process_thread_count_does_not_reach_training():
    """Training runs on the thread rule's count (model/device.py: one thread for these steps) whatever
    torch.set_num_threads said before:
    the catalogue's workers (one thread) and an interactive run (all cores) agree."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _weights(_train(LM_CFG, LM_STEPS))
        torch.set_num_threads(2)
        two = _weights(_train(LM_CFG, LM_STEPS))
    finally:
        torch.set_num_threads(before)
    _assert_same(one, two)


_CHILD = """
import hashlib, sys, torch
import surrogate as sg
from surrogate.persistence import shipped
from surrogate.training import lm
cfg = sg.TrainConfig(method="lm", lm=lm.LMSettings(warm_steps=50))
m = sg.train(shipped.entry(sys.argv[1]).relation, max_steps=int(sys.argv[2]), seed=0, config=cfg, progress=False)
h = hashlib.sha256()
for k, v in sorted(m.module.net.state_dict().items()):
    h.update(k.encode()); h.update(v.detach().contiguous().numpy().tobytes())
print(h.hexdigest())
"""


@pytest.mark.slow  # three fresh interpreters importing torch: ~30 s on the 2-core machine
def test_same_weights_in_fresh_processes_with_other_hash_seeds():
    """What the catalogue build (a fresh worker process) and an interactive run differ in."""
    digests = set()
    for hash_seed in ("0", "1", "987654"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        out = subprocess.run([sys.executable, "-c", _CHILD, RELATION, str(LM_STEPS)], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        digests.add(out.stdout.split()[-1])
    assert len(digests) == 1, digests

"""A configuration that cannot lie: a knob the chosen training method ignores is refused at the
start of `train`, naming the field, the method and the fix, before any training (issue 22)."""

import time

import pytest
import sympy as sp

import surrogate as sg
from surrogate.training.config import ADAM_ONLY, LMSettings, TrainConfig

x1, x2, y = sp.symbols("x1 x2 y", positive=True)
EASY = sg.Relation(sp.Eq(y, x1 * x2 + x1), bounds={x1: (1, 2), x2: (0.5, 3)}, name="easy")


def _refused(config, **budget):
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as err:
        sg.train(EASY, progress=False, device="cpu", config=config, **budget)
    assert time.perf_counter() - t0 < 10  # a 60 s budget: refused before any training
    return str(err.value)


def test_an_adam_knob_under_auto_lm_is_refused_with_the_fix():
    msg = _refused(TrainConfig(width=128), time_limit=60)  # auto -> LM: CPU, time limit, small network
    assert "width=128" in msg and "method='auto' chose 'lm'" in msg and "Levenberg-Marquardt" in msg
    assert "method='adam'" in msg and "LMSettings(width=...)" in msg


@pytest.mark.parametrize("name", sorted(ADAM_ONLY))
def test_every_adam_only_knob_is_refused_under_lm(name):
    value = {"width": 16, "depth": 2, "activation": "tanh", "batch_size": 64, "lr": 1e-3, "lr_final": 1e-4,
             "check_every": 10, "dtype": "float64", "tail_weight": 0.0, "tail": 0.1, "restarts": 0,
             "deferred_checks": True}[name]
    msg = _refused(TrainConfig(method="lm", **{name: value}), max_steps=5)
    assert f"{name}={value!r}" in msg and "method='lm'" in msg


def test_lm_settings_under_adam_are_refused():
    msg = _refused(TrainConfig(method="adam", lm=LMSettings(width=10)), time_limit=60)
    assert "LMSettings(width=10)" in msg and "method='lm'" in msg
    # auto with a step budget alone keeps Adam: LM settings are refused there too
    assert "method='auto' chose 'adam'" in _refused(TrainConfig(lm=LMSettings(warm_steps=3)), max_steps=5)


def test_a_knob_that_applies_is_taken():
    sg.train(EASY, max_steps=3, progress=False, config=TrainConfig(method="adam", width=16, check_every=1))
    sg.train(EASY, max_steps=1, progress=False, config=TrainConfig(method="lm", lm=LMSettings(width=8, warm_steps=5)))
    sg.train(EASY, max_steps=1, progress=False, config=TrainConfig(method="lm", width=None))  # the default, set


def test_a_piecewise_relation_is_checked_before_its_first_piece_trains():
    pw = sg.Relation(sp.Eq(y, sp.Piecewise((x1 * x2, x1 < 1.5), (x1 + x2, True))),
                     bounds={x1: (1, 2), x2: (0.5, 3)}, name="pw")
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="lr=0.001"):
        sg.train(pw, time_limit=60, progress=False, device="cpu", config=TrainConfig(lr=1e-3))
    assert time.perf_counter() - t0 < 10


def test_fit_runs_under_the_thread_rule(monkeypatch):
    """fit's stages run with model/device.py's rule (one thread for seed 002's size), then restore."""
    import torch

    import surrogate.fitting.fit as fit_module
    from surrogate.model.device import threads_for

    a, b = sp.symbols("a b")
    line = sg.Relation(sp.Eq(y, a * x1 + b), bounds={x1: (0, 1)}, parameters={a: (-5, 5), b: (-5, 5)}, name="line")
    import numpy as np
    import pandas as pd

    xs = np.linspace(0, 1, 200)
    seen, polish = [], fit_module._polish
    monkeypatch.setattr(fit_module, "_polish", lambda *a, **k: (seen.append(torch.get_num_threads()), polish(*a, **k))[1])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fit_module.fit(line, pd.DataFrame({"x1": xs, "y": 2 * xs + 1}), seed=0)
        assert seen and set(seen) == {1} and threads_for(4096 * 200) == 1
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)


def test_the_override_does_what_it_says():
    import torch

    from surrogate.model.device import cpu_threads

    with cpu_threads(None):
        assert torch.get_num_threads() == 1
    with cpu_threads(None, override=2):
        assert torch.get_num_threads() == 2

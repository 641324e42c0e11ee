"""Training: reproducible, honest about NaN, refuses what it cannot train."""

import inspect
import io
import re
import sys
import warnings

import pytest
import sympy as sp
import torch

import surrogate as sg
from surrogate import RelationError, TrainingError
from surrogate.errors import BudgetWarning

x1, x2, y = sp.symbols("x1 x2 y", positive=True)
EASY = sg.Relation(sp.Eq(y, x1 * x2 + x1), bounds={x1: (1, 2), x2: (0.5, 3)}, name="easy")


def test_same_seed_same_cpu_result():
    a = sg.train(EASY, max_steps=120, seed=3, progress=False)
    b = sg.train(EASY, max_steps=120, seed=3, progress=False)
    c = sg.train(EASY, max_steps=120, seed=4, progress=False)
    for (k, va), vb in zip(a.module.net.state_dict().items(), b.module.net.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not all(torch.equal(va, vc) for va, vc in zip(a.module.net.state_dict().values(),
                                                         c.module.net.state_dict().values()))


def test_training_reduces_the_error_and_keeps_the_best(easy_model):
    model = easy_model  # EASY, 1500 steps, seed 0 (conftest.py; shared with test_verify)
    assert model.relation.equations == EASY.equations and model.relation.bounds == EASY.bounds
    hist = model.info["history"]
    assert model.info["stop"] == "max_steps" and model.info["steps"] == 1500
    assert model.info["validation"]["max"] == min(h[3] for h in hist)
    assert model.info["validation"]["max"] < min(0.01, hist[0][3] / 2)


def test_tolerance_stops_early_once_the_certificate_meets_it():
    model = sg.train(EASY, tolerance=0.05, max_steps=5000, progress=False)
    assert model.info["stop"] == "tolerance" and model.info["steps"] < 5000
    goal = model.info["goal"]
    assert goal["met"] and goal["checks"][-1][1] <= 0.05  # the certificate decided, not the loss
    assert sg.verify(model, points=100_000).max_error <= 0.05  # and it is the one verify gives


def test_tolerance_not_met_by_the_certificate_keeps_training(monkeypatch):
    import sys
    import types

    # a certificate that always finds 1.0, whatever validation says: training must go on
    # to its budget, lowering the validation target after each failed check
    monkeypatch.setattr(sys.modules["surrogate.training.loop"], "verify", lambda *a, **k: types.SimpleNamespace(max_error=1.0))
    model = sg.train(EASY, tolerance=0.05, max_steps=1000, progress=False)
    goal = model.info["goal"]
    assert model.info["stop"] == "max_steps" and not goal["met"] and goal["checks"]
    vals = [v for v, _ in goal["checks"]]
    assert all(b <= 0.05 * a for a, b in zip(vals, vals[1:]))  # each check asked for 1/20 of the last


def test_nan_in_the_relation_is_refused_at_declaration_with_the_point():
    # known before any training: the declaration is refused, naming a point where it fails
    with pytest.raises(sg.RelationError, match=r"y is complex-valued \(.*j\) at x1=1(\.[0-4]\d*)? "):
        sg.Relation(sp.Eq(y, sp.sqrt(x1 - 1.5)), bounds={x1: (1, 2)})


def test_divergence_is_reported_not_hidden():
    said = {}
    for deferred in (False, True):  # True: the GPU's no-sync branch, forced on the CPU
        cfg = sg.TrainConfig(lr=1e6, lr_final=1e6, deferred_checks=deferred)
        with pytest.raises(TrainingError, match="diverged.*step") as err:
            sg.train(EASY, max_steps=400, config=cfg, progress=False)
        said[deferred] = str(err.value)
    # the deferred branch names the same first bad step and input as the per-step check
    assert said[True] == said[False]


def test_parameters_must_be_fitted_first():
    a = sp.Symbol("a")
    rel = sg.Relation(sp.Eq(y, a * x1), bounds={x1: (0, 1)}, parameters={a: (0, 1)})
    with pytest.raises(RelationError, match="fit them first"):
        sg.train(rel, max_steps=1)


@pytest.mark.parametrize("kwargs,fragment", [
    ({"time_limit": -1}, "time_limit must be a positive"),
    ({"max_steps": 0}, "max_steps must be a positive integer"),
    ({"tolerance": float("nan")}, "tolerance must be a positive"),
    ({"device": "cuda:7"} if not torch.cuda.is_available() else {"device": "tpu"}, "device"),
], ids=["time", "steps", "tolerance", "device"])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises((ValueError, RuntimeError), match=fragment):
        sg.train(EASY, **({"max_steps": 1} | kwargs))


def test_heads_follow_the_output():
    from equations.seeds import paraboloid, seed001

    assert [h["kind"] for h in sg.train(seed001, max_steps=1, progress=False).module.head_specs] == ["signed_log"]
    assert [h["kind"] for h in sg.train(paraboloid, max_steps=1, atol=1e-2, progress=False).module.head_specs] == ["log"]
    lin = sg.Relation(sp.Eq(y, sp.sin(6 * x1)), bounds={x1: (0, 1)})
    assert [h["kind"] for h in sg.train(lin, max_steps=1, atol=1e-3, progress=False).module.head_specs] == ["linear"]


def test_every_hidden_layer_has_an_activation():
    model = sg.train(EASY, max_steps=1, progress=False)
    layers = list(model.module.net.hidden)
    assert all(isinstance(b, torch.nn.SiLU) for a, b in zip(layers[::2], layers[1::2]))
    assert len(layers) % 2 == 0


def test_cpu_threads_are_restored_after_training():
    before = torch.get_num_threads()
    sg.train(EASY, max_steps=2, progress=False, config=sg.TrainConfig(cpu_threads=1))
    assert torch.get_num_threads() == before


def test_a_step_budget_that_leaves_adam_far_from_lm_says_so():
    # method="auto" trains by Adam under max_steps alone, where a time limit would train EASY by LM:
    # stopping at the budget far from float precision, train says what to pass instead
    with pytest.warns(BudgetWarning, match=r"max_steps=2 Adam steps .*time_limit=SECONDS .*method='lm'"):
        sg.train(EASY, max_steps=2, progress=False)
    with warnings.catch_warnings():  # Adam asked for by name: nothing to say
        warnings.simplefilter("error", BudgetWarning)
        sg.train(EASY, max_steps=2, progress=False, config=sg.TrainConfig(method="adam"))


def test_a_tolerance_not_met_says_so_and_a_tolerance_alone_has_the_longer_budget():
    with pytest.warns(BudgetWarning, match=r"tolerance=1e-12 was not met: training stopped at its max steps"):
        model = sg.train(EASY, tolerance=1e-12, max_steps=2, progress=False, config=sg.TrainConfig(method="adam"))
    assert model.info["goal"]["met"] is False
    cfg = sg.TrainConfig()
    assert cfg.time_limit(1e-4, None, None) == cfg.tolerance_time_limit > cfg.default_time_limit
    assert cfg.time_limit(None, None, None) == cfg.default_time_limit
    assert cfg.time_limit(1e-4, None, 5) is None and cfg.time_limit(1e-4, 7.0, None) == 7.0


@pytest.mark.parametrize("name", ["train", "verify", "prove", "fit", "load"])
def test_every_parameter_of_a_public_function_is_documented(name):
    fn = getattr(sg, name)
    doc = inspect.getdoc(fn) or ""
    missing = [p for p in inspect.signature(fn).parameters if not re.search(rf"\b{p}\b", doc)]
    assert not missing, f"sg.{name}'s docstring leaves out {missing}"


def test_the_docstrings_state_the_true_scope():
    # prove takes implicit relations of one equation and systems of up to three (docs/prove.md); train's
    # max_steps are Adam's under auto
    assert "implicit ones of one equation" in inspect.getdoc(sg.prove)
    assert "up to three equations" in inspect.getdoc(sg.prove)
    assert "implicit relations," not in inspect.getdoc(sg.prove)
    assert "Adam steps" in inspect.getdoc(sg.train)


def test_a_bar_not_shown_or_without_widgets_never_builds_a_notebook_bar(monkeypatch):
    """In a Jupyter kernel without ipywidgets, tqdm.auto's notebook bar warns "IProgress not found" on
    construction: training with progress=False (and any bar where widgets are missing) uses the text bar."""
    import tqdm.auto
    import tqdm.std

    from surrogate.training.progress import progress_bar

    class NotebookBar:
        def __init__(self, *a, **k):
            raise AssertionError("the notebook bar was built")

    monkeypatch.setattr(tqdm.auto, "tqdm", NotebookBar)
    bar = progress_bar(False, total=3)
    assert type(bar) is tqdm.std.tqdm and bar.disable
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed
    with progress_bar(True, total=3, file=io.StringIO()) as bar:
        assert type(bar) is tqdm.std.tqdm and not bar.disable

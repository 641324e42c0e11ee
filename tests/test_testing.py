"""surrogate.testing: points stay inside and reach every corner; assert_accurate catches bad models."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import surrogate as sg
from surrogate.checking import testing  # the implementation module (surrogate.testing re-exports it)
from surrogate.errors import DomainError, SurrogateError
from surrogate.interface.cli import main
from surrogate.testing import assert_accurate, error_at, points, worst_case

x1, x2, x3, w, y = sp.symbols("x1 x2 x3 w y", real=True)

#: Small relations with the kinds of bounds that break naive samplers.
RELATIONS = {
    # 1 <= x2 <= x1: a dependent upper bound
    "dependent": sg.Relation(sp.Eq(y, x1 - x2), bounds={x1: (2, 100), x2: (1, x1)}, name="dependent"),
    # a log-scaled input over nine decades, and a log-scaled input whose low bound depends on it
    "log": sg.Relation(sp.Eq(y, x1 * x2), bounds={x1: (1e-6, 1e3), x2: (x1, 1e4)}, name="log"),
    # negative ranges, a dependent range below its parent, bounds that are not float32 numbers
    "negative": sg.Relation(sp.Eq(y, x1 + w), bounds={x1: (-7.3, -0.1), w: (x1 - 3, x1)}, name="negative"),
    # a zero bound of a tiny linear range: the low layer is full of subnormals
    "tiny": sg.Relation(sp.Eq(y, x1 + x2), bounds={x1: (0, 1e-300), x2: (-1e-3, 0)}, name="tiny"),
}
DTYPES = ["float64", "float32"]


def _collect(strategy, n: int) -> list:
    """n examples of a strategy, drawn without shrinking (derandomised under the `ci` profile)."""
    seen: list = []

    @settings(max_examples=n, database=None, phases=[Phase.generate],
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(strategy)
    def run(value):
        seen.append(value)

    run()
    return seen


def _array(rel, pts) -> np.ndarray:
    return np.array([[p[n] for n in rel.inputs] for p in pts], dtype=np.float64)


class _Float32Model:
    """Just enough of a model for `points` to see its relation and dtype."""

    def __init__(self, relation):
        self.relation, self.dtype = relation, "float32"


# -- points --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(RELATIONS))
@given(data=st.data())
def test_points_lie_inside_the_domain(name, dtype, data):
    rel = RELATIONS[name]
    point = data.draw(points(rel, dtype=dtype))
    assert list(point) == rel.inputs
    x = _array(rel, [point])
    assert rel.domain.contains(x).all(), rel.domain.violations(x)
    for v in point.values():
        assert isinstance(v, float) and math.isfinite(v)
        assert v == 0.0 or abs(v) >= np.finfo(dtype).tiny, f"subnormal {v!r}"
        if dtype == "float32":
            assert float(np.float32(v)) == v, f"{v!r} is not a float32 number"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["dependent", "log", "negative"])
def test_points_reach_both_bounds_of_every_input(name, dtype):
    rel = RELATIONS[name]
    strategy = points(rel, dtype=dtype)
    for k, n in enumerate(rel.inputs):
        for side in (0, 1):
            def at_bound(p, k=k, side=side, n=n):
                x = _array(rel, [p])
                lows, highs = rel.domain.bounds(x)
                b = (lows, highs)[side][k]
                b = float(np.asarray(b).reshape(-1)[0])
                # float32 points reach the nearest float32 number inside the bound
                return p[n] == b if dtype == "float64" else abs(p[n] - b) <= 2 * abs(float(np.spacing(np.float32(b))))
            find(strategy, at_bound, settings=settings(database=None, max_examples=500, phases=[Phase.generate]))


def test_points_reach_a_dependent_bound_exactly():
    rel = RELATIONS["dependent"]
    hit = find(points(rel), lambda p: p["x2"] == p["x1"] and p["x1"] not in (2.0, 100.0),
               settings=settings(database=None, max_examples=500, phases=[Phase.generate]))
    assert hit["x2"] == hit["x1"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_points_cover_every_decade_of_a_log_input(dtype):
    rel = RELATIONS["log"]
    values = _array(rel, _collect(points(rel, dtype=dtype), 300))
    decades = np.floor(np.log10(values[:, 0]) + 1e-9).astype(int)
    assert set(range(-6, 4)) <= set(decades.tolist())
    # and the layers next to the bounds, not only the bounds and the bulk
    gap = (values[:, 1] - values[:, 0]) / values[:, 0]
    assert np.any((gap > 0) & (gap < (1e-8 if dtype == "float64" else 1e-6)))  # float32: a few ulps


def test_points_on_a_zero_bound_never_give_subnormals():
    rel = RELATIONS["tiny"]
    values = _array(rel, _collect(points(rel), 200))
    nonzero = values[values != 0]
    assert nonzero.size and np.all(np.abs(nonzero) >= np.finfo(np.float64).tiny)
    assert np.any(values[:, 0] == 0.0) and np.any(values[:, 0] == 1e-300)


def test_points_of_a_float32_model_are_float32_numbers_inside():
    rel = RELATIONS["negative"]  # -7.3 and -0.1 are not float32 numbers
    values = _array(rel, _collect(points(_Float32Model(rel)), 200))
    assert np.all(values.astype(np.float32).astype(np.float64) == values)
    assert rel.domain.contains(values).all()
    assert np.any(values[:, 0] == float(np.nextafter(np.float32(-7.3), np.float32(0))))


def test_points_shrink_to_the_low_corner():
    rel = RELATIONS["log"]
    assert find(points(rel), lambda p: True, settings=settings(database=None)) == {"x1": 1e-6, "x2": 1e-6}


NARROW = sg.Relation(sp.Eq(y, x1), bounds={x1: (1 + 1e-12, 1 + 2e-12)})
SUBNORMAL = sg.Relation(sp.Eq(y, x1), bounds={x1: (1e-310, 2e-310)})


@pytest.mark.parametrize("bad,dtype,error,fragment", [
    ("not a relation", None, TypeError, "needs a Relation, a Domain or a model with a .relation, not str"),
    (RELATIONS["dependent"], "float16", ValueError, "dtype must be 'float64' or 'float32', not 'float16'"),
    (NARROW, "float32", ValueError, "no normal float32 number lies between the bounds of x1"),
    (SUBNORMAL, None, ValueError, "no normal float64 number lies between the bounds of x1"),
], ids=["wrong-type", "wrong-dtype", "no-float32-inside", "only-subnormals-inside"])
def test_points_refuses_what_it_cannot_draw(bad, dtype, error, fragment):
    with pytest.raises(error, match=re.escape(fragment)):
        points(bad, dtype=dtype)
    if bad is NARROW:
        assert points(bad, dtype="float64") is not None


# -- assert_accurate ------------------------------------------------------------------------------
PRODUCT = sg.Relation(sp.Eq(y, x1 * x2), bounds={x1: (1, 2), x2: (1, 2)}, name="product")


@pytest.fixture(scope="module")
def good_model():
    return sg.train(PRODUCT, max_steps=1500, progress=False)


@pytest.fixture(scope="module")
def bad_model():
    # five Adam steps from a random start: with the log features and the least-squares start, x1 x2 is
    # already within 0.05 after five steps (log y is linear in log x1, log x2), so both are off here
    return sg.train(PRODUCT, max_steps=5, progress=False, config=sg.TrainConfig(group_features=False, lsq_start=False))


def test_property_test_passes_on_a_trained_model(good_model):
    @settings(max_examples=200)
    @given(points(good_model))
    def test(point):
        assert_accurate(good_model, PRODUCT, point, tolerance=1e-2)

    test()


def test_property_test_fails_on_a_barely_trained_model_with_a_readable_message(bad_model):
    @given(points(bad_model))
    def test(point):
        assert_accurate(bad_model, PRODUCT, point, tolerance=1e-2)

    with pytest.raises(AssertionError) as info:
        test()
    text = str(info.value)
    assert re.search(r"surrogate error \S+ > tolerance 0.01 at", text)
    assert re.search(r"point +x1=\S+, x2=\S+", text)
    assert re.search(r"y +predicted \S+, reference \S+, \|difference\| \S+, term scale \S+, error \S+", text)


def test_points_and_assert_accurate_work_with_the_numpy_runtime(tmp_path, good_model, bad_model):
    runtime = pytest.importorskip("surrogate.runtime")
    good_model.save(tmp_path / "good.surrogate")
    bad_model.save(tmp_path / "bad.surrogate")
    good = runtime.load(tmp_path / "good.surrogate", precision="float32")
    bad = runtime.load(tmp_path / "bad.surrogate", precision="float32")

    def run(model):
        @settings(max_examples=50)
        @given(points(model))
        def test(point):
            assert all(float(np.float32(v)) == v for v in point.values())  # the runtime is float32
            assert_accurate(model, None, point, tolerance=1e-2)

        test()

    run(good)
    with pytest.raises(AssertionError, match="surrogate error"):
        run(bad)


class _NumpyModel:
    """A torch-free model: the exact relation, off by a relative `bias`; callable with keywords."""

    def __init__(self, relation, bias):
        self.relation, self.bias = relation, bias
        self.inputs, self.outputs = relation.inputs, relation.outputs

    def __call__(self, **inputs):
        return {o: v * (1 + self.bias) for o, v in self.relation.evaluate(inputs).items()}


class _EvaluateModel(_NumpyModel):
    def evaluate(self, x):
        return np.stack(list(self(**{n: x[:, j] for j, n in enumerate(self.inputs)}).values()), 1)


@pytest.mark.parametrize("cls", [_NumpyModel, _EvaluateModel], ids=["call", "evaluate"])
def test_assert_accurate_works_with_numpy_models(cls):
    point = {"x1": 1.5, "x2": 2.0}
    assert assert_accurate(cls(PRODUCT, 0.0), PRODUCT, point, tolerance=1e-12) == 0.0
    assert assert_accurate(cls(PRODUCT, 1e-3), None, point, tolerance=2e-3) == pytest.approx(1e-3)
    with pytest.raises(AssertionError, match=r"error 0.001 > tolerance 0.0005"):
        assert_accurate(cls(PRODUCT, 1e-3), PRODUCT, point, tolerance=5e-4)


def test_assert_accurate_uses_the_term_scale_and_atol():
    rel = sg.Relation(sp.Eq(y, x1 - x2), bounds={x1: (0, 1), x2: (0, 1)})

    class Offset(_NumpyModel):
        def __call__(self, **inputs):
            return {"y": rel.evaluate(inputs)["y"] + 1e-3}

    # y = 0 at x1 = x2 = 0.5; S = |x1| + |x2| = 1, so the error is 1e-3, not infinite
    assert assert_accurate(Offset(rel, 0), rel, {"x1": 0.5, "x2": 0.5}, tolerance=1e-2) == pytest.approx(1e-3)
    # at the origin S = 0: without atol the error is infinite, with atol it is 1e-3 / atol
    with pytest.raises(AssertionError, match="error inf"):
        assert_accurate(Offset(rel, 0), rel, {"x1": 0.0, "x2": 0.0}, tolerance=1e-2)
    assert assert_accurate(Offset(rel, 0), rel, {"x1": 0.0, "x2": 0.0}, tolerance=1.0, atol=1e-2) == pytest.approx(0.1)


class _Sloped(_NumpyModel):
    """Relative error x1 - 1 on PRODUCT: 0 at x1 = 1, worst (1) at x1 = 2."""

    def __call__(self, **inputs):
        return {"y": inputs["x1"] * inputs["x2"] * inputs["x1"]}


def test_assert_accurate_takes_arrays_and_reports_the_worst_row():
    model = _Sloped(PRODUCT, 0.0)
    with pytest.raises(AssertionError, match=r"x1=2.0, x2=1.0(.|\n)*the worst of 3 rows"):
        assert_accurate(model, PRODUCT, {"x1": np.array([1.0, 2.0, 1.5]), "x2": 1.0}, tolerance=1e-4)


def test_assert_accurate_steers_hypothesis_towards_the_worst_error(monkeypatch):
    seen = []
    monkeypatch.setattr(testing, "target", lambda value, label: seen.append((value, label)))

    @settings(max_examples=20)
    @given(points(PRODUCT))
    def test(point):
        assert_accurate(_NumpyModel(PRODUCT, 1e-3), PRODUCT, point, tolerance=1.0)

    test()
    assert len(seen) >= 20 and all(label == "surrogate error" and v == pytest.approx(1e-3) for v, label in seen)
    seen.clear()
    assert_accurate(_NumpyModel(PRODUCT, 1e-3), PRODUCT, {"x1": 1.0, "x2": 1.0}, tolerance=1.0)
    assert seen == []  # outside a Hypothesis test, nothing to steer


def test_assert_accurate_refuses_an_undefined_reference_and_a_mismatched_model():
    # a pole inside the domain is refused at declaration; at one outside it, a point the
    # assertion is given (it checks no bounds) is still refused here
    rel = sg.Relation(sp.Eq(y, 1 / (x1 - sp.Rational(5, 4)) ** 2), bounds={x1: (-1, 1)})
    with pytest.raises(DomainError, match="undefined"):
        assert_accurate(_NumpyModel(rel, 0.0), rel, {"x1": 1.25}, tolerance=1.0)
    with pytest.raises(SurrogateError, match="the model maps x1 -> y but the relation has inputs x1, x2"):
        assert_accurate(_NumpyModel(rel, 0.0), PRODUCT, {"x1": 1.0, "x2": 1.0}, tolerance=1.0)
    with pytest.raises(DomainError, match="missing x2"):
        assert_accurate(_NumpyModel(PRODUCT, 0.0), PRODUCT, {"x1": 1.0}, tolerance=1.0)
    with pytest.raises(ValueError, match="tolerance must be a positive number"):
        assert_accurate(_NumpyModel(PRODUCT, 0.0), PRODUCT, {"x1": 1.0, "x2": 1.0}, tolerance=0)


def test_error_at_matches_verify_on_a_surrogate(good_model):
    x = PRODUCT.domain.sobol(64, seed=3).numpy()
    parts = error_at(good_model, PRODUCT, {n: x[:, j] for j, n in enumerate(PRODUCT.inputs)})
    y = (x[:, 0] * x[:, 1])[:, None]
    expected = np.abs(good_model.evaluate(x) - y) / y
    np.testing.assert_allclose(parts["error"], expected, rtol=1e-12)


# -- profiles ---------------------------------------------------------------------------------------
def test_profiles_are_registered_only_on_request():
    code = (
        "import hypothesis, surrogate.testing as t\n"
        "try:\n    hypothesis.settings.get_profile('surrogate-ci')\nexcept hypothesis.errors.InvalidArgument:\n"
        "    print('absent')\n"
        "t.register_profiles()\n"
        "s = hypothesis.settings.get_profile('surrogate-ci')\n"
        "print(s.derandomize, s.deadline, s.print_blob, hypothesis.settings.get_profile('surrogate-thorough').max_examples)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["absent", "True None True 2000"]


def test_the_ci_profile_replays_the_same_examples_and_has_no_deadline():
    """The package's surrogate-ci profile, used as a test would: two runs of one property draw
    the same points, and a slow first call (a model's) does not fail on a deadline."""
    import time

    from surrogate.testing import register_profiles

    register_profiles()
    ci = settings(settings.get_profile("surrogate-ci"), max_examples=30, database=None)
    runs = []
    for _ in range(2):
        seen = []

        @ci
        @given(points(PRODUCT))
        def prop(p):  # called within this iteration: `seen` is this run's list
            if not seen:  # noqa: B023
                time.sleep(0.3)  # over Hypothesis's default 200 ms deadline
            seen.append((p["x1"], p["x2"]))  # noqa: B023

        prop()
        runs.append(seen)
    assert len(runs[0]) >= 10 and runs[0] == runs[1]


# -- the command line -----------------------------------------------------------------------------------
def test_verify_hypothesis_reports_and_gates(tmp_path, capsys, good_model, bad_model):
    good, bad = tmp_path / "good.surrogate", tmp_path / "bad.surrogate"
    good_model.save(good)
    bad_model.save(bad)
    assert main(["verify", str(good), "--points", "4096", "--hypothesis", "100", "--tolerance", "1e-2"]) == 0
    out = capsys.readouterr().out
    assert "then 100 targeted Hypothesis examples (max " in out
    assert main(["verify", str(bad), "--points", "4096", "--hypothesis", "100", "--tolerance", "1e-2"]) == 1
    assert "FAILED: max error" in capsys.readouterr().err
    assert main(["verify", str(good), "--hypothesis", "0"]) == 2
    assert "--hypothesis takes a positive number" in capsys.readouterr().err


def test_verify_hypothesis_folds_a_worse_point_into_the_max(tmp_path, capsys, good_model, monkeypatch):
    path = tmp_path / "good.surrogate"
    good_model.save(path)
    monkeypatch.setattr(testing, "worst_case", lambda model, **kw: (0.5, {"x1": 1.25, "x2": 2.0}))
    assert main(["verify", str(path), "--points", "4096", "--hypothesis", "10", "--tolerance", "0.4"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"max +0.5 ", out) and "worst at   x1=1.25, x2=2" in out


def test_worst_case_finds_the_worst_point_of_a_known_error():
    error, point = worst_case(_Sloped(PRODUCT, 0.0), examples=50)
    assert error == pytest.approx(1.0) and point["x1"] == 2.0


# -- the documented test --------------------------------------------------------------------------------------
DOCS = Path(__file__).resolve().parents[1] / "docs" / "testing.md"


def _documented_files() -> dict[str, str]:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    files = {b.splitlines()[0].removeprefix("# ").strip(): b for b in blocks if b.startswith("# ")}
    assert set(files) == {"conftest.py", "test_surrogate.py"}
    return files


def test_the_documented_test_runs_and_catches_a_bad_artifact(tmp_path, good_model, bad_model):
    files = _documented_files()
    artifact = re.search(r'with_name\("([^"]+)"\)', files["test_surrogate.py"]).group(1)
    for name, model in (("good", good_model), ("bad", bad_model)):
        folder = tmp_path / name
        folder.mkdir()
        for file, text in files.items():
            (folder / file).write_text(text)
        model.save(folder / artifact)
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
         "good", "bad"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    out = run.stdout + run.stderr
    assert "1 failed, 1 passed" in out, out
    assert re.search(r"FAILED bad/test_surrogate.py::test_surrogate_is_accurate", out), out
    assert "surrogate error" in out and "reference" in out and "@reproduce_failure" in out, out


# -- the catalogue's hardest relation, trained for real ------------------------------------------------------
@pytest.mark.slow
def test_a_trained_seed001_passes_its_property_test():
    # A fixed number of steps (not a time limit) so the outcome does not depend on the
    # machine's load.  10 000 steps take 30-35 s on these CPUs, and `sg.verify` (10^6 points
    # + search) certifies this very model at 4.3e-5 (5 000 steps: 5.9e-5, 20 000: 3.8e-5;
    # the 0.0188 that 40 000 steps earned when 0.03 was chosen predates the group features and
    # the least-squares start).  The tolerance is the catalogue's bar, 1e-3: 0.03 had become
    # 700x the error and would have let a twentyfold regression through.
    from equations.seeds import seed001

    model = sg.train(seed001, max_steps=10_000, progress=False, seed=0)

    @settings(max_examples=500)
    @given(points(model))
    def test(point):
        assert_accurate(model, seed001, point, tolerance=1e-3)

    test()

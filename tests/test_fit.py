"""fit: recovery on seed 002, refusals of bad input, honest uncertainty and warnings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from equations.seeds import cosexp
from surrogate import Relation
from surrogate.errors import DomainError, FitError
from surrogate.fitting.fit import FitResult, _sobol, fit, fit_report

A_TRUE, B_TRUE = 0.583, 0.112
a, b, c, x, y, y2 = sp.symbols("a b c x y y2", real=True)

LINE = Relation(sp.Eq(y, a * x + c), bounds={x: (0, 1)}, parameters={a: (-5, 5), c: (-5, 5)}, name="line")


def seed002(kind: str, seed: int, n: int = 10_000, noise: float = 0.0) -> pd.DataFrame:
    """The thread's data: x1 from `kind`, x2 ~ U(-1, 1), y = cos(0.583 x1) + exp(0.112 x2)."""
    rng = np.random.default_rng(seed)
    x1 = {"U(0,10)": lambda: rng.random(n) * 10,
          "N(0,5)": lambda: rng.normal(0, 5, n),
          "N(0,500)": lambda: rng.normal(0, 500, n)}[kind]()
    x2 = rng.random(n) * 2 - 1
    out = np.cos(A_TRUE * x1) + np.exp(B_TRUE * x2) + noise * rng.standard_normal(n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": out})


def line_data(n=200, seed=0, noise=0.01, slope=2.0, intercept=0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    xs = rng.random(n)
    return pd.DataFrame({"x": xs, "y": slope * xs + intercept + noise * rng.standard_normal(n)})


# -- recovery ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["U(0,10)", "N(0,5)", "N(0,500)"])
def test_recovers_seed002_noise_free(kind, seed):
    result = fit(cosexp, seed002(kind, seed), seed=seed)
    assert result.success, result.warnings
    assert result.warnings == []
    assert result.values["a"] == pytest.approx(A_TRUE, rel=1e-6)
    assert result.values["b"] == pytest.approx(B_TRUE, rel=1e-6)
    assert result.n_points == 10_000
    assert result.minima[0].loss == result.loss
    assert [m.loss for m in result.minima] == sorted(m.loss for m in result.minima)


@settings(max_examples=15, deadline=None)
@given(slope=st.floats(-4.9, 4.9), intercept=st.floats(-4.9, 4.9))
def test_recovers_any_line_inside_the_bounds(slope, intercept):
    result = fit(LINE, line_data(n=50, noise=0.0, slope=slope, intercept=intercept), starts=64)
    assert result.values["a"] == pytest.approx(slope, abs=1e-9)
    assert result.values["c"] == pytest.approx(intercept, abs=1e-9)


def test_same_seed_same_answer():
    data = seed002("N(0,5)", 3, n=2000)
    first, second = fit(cosexp, data, starts=256, seed=7), fit(cosexp, data, starts=256, seed=7)
    assert first.values == second.values
    assert first.stderr == second.stderr


def test_multiple_outputs_are_fitted_together():
    rel = Relation([sp.Eq(y, a * x), sp.Eq(y2, b * x**2)], bounds={x: (0, 2)}, parameters={a: (0, 5), b: (0, 5)})
    xs = np.linspace(0, 2, 50)
    result = fit(rel, pd.DataFrame({"x": xs, "y": 1.5 * xs, "y2": 0.25 * xs**2}), starts=256)
    assert result.values == pytest.approx({"a": 1.5, "b": 0.25}, rel=1e-9)


def test_wide_positive_bounds_are_searched_log_uniformly():
    low = torch.tensor([1e-4, 0.0], dtype=torch.float64)
    high = torch.tensor([1e2, 1.0], dtype=torch.float64)
    points = _sobol(low, high, 1024, seed=0)
    below_geometric_mean = (points[:, 0] < 0.1).double().mean()  # sqrt(1e-4 * 1e2) = 0.1
    assert below_geometric_mean == pytest.approx(0.5, abs=0.01)
    assert (points[:, 1] < 0.5).double().mean() == pytest.approx(0.5, abs=0.01)


# -- uncertainty and warnings ----------------------------------------------------------------


def test_stderr_matches_ordinary_least_squares():
    data = line_data(noise=0.05)
    result = fit(LINE, data, starts=256)
    design = np.column_stack([data["x"], np.ones(len(data))])
    coef, ssr, *_ = np.linalg.lstsq(design, data["y"].to_numpy(), rcond=None)
    cov = ssr[0] / (len(data) - 2) * np.linalg.inv(design.T @ design)
    assert [result.values["a"], result.values["c"]] == pytest.approx(coef, rel=1e-9)
    assert [result.stderr["a"], result.stderr["c"]] == pytest.approx(np.sqrt(np.diag(cov)), rel=1e-6)
    expected_corr = cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])
    assert result.correlation.loc["a", "c"] == pytest.approx(expected_corr, rel=1e-6)


def test_stderr_with_noise_on_seed002_is_plausible():
    result = fit(cosexp, seed002("N(0,500)", 5, noise=0.05))
    assert result.success
    for name, truth in (("a", A_TRUE), ("b", B_TRUE)):
        assert abs(result.values[name] - truth) < 4 * result.stderr[name]
    # b's stderr has a closed form: sigma / sqrt(n * E[(x2 exp(b x2))^2]) with x2 ~ U(-1, 1).
    grid = np.linspace(-1, 1, 100_001)
    expected_b = 0.05 / math.sqrt(10_000 * np.mean((grid * np.exp(B_TRUE * grid)) ** 2))
    assert result.stderr["b"] == pytest.approx(expected_b, rel=0.1)


def test_product_of_parameters_is_not_identifiable():
    rel = Relation(sp.Eq(y, a * b * x), bounds={x: (0, 1)}, parameters={a: (0.1, 10), b: (0.1, 10)}, name="ab")
    xs = np.linspace(0, 1, 100)
    result = fit(rel, pd.DataFrame({"x": xs, "y": 2 * xs}), starts=256)
    assert not result.success
    assert math.isinf(result.stderr["a"]) and math.isinf(result.stderr["b"])
    assert any("not identifiable: a, b" in w for w in result.warnings)
    assert result.values["a"] * result.values["b"] == pytest.approx(2.0, rel=1e-9)
    assert math.isnan(result.correlation.loc["a", "b"])


def test_parameter_at_a_bound_is_flagged():
    rel = Relation(sp.Eq(y, a * x + c), bounds={x: (0, 1)}, parameters={a: (0, 1), c: (-5, 5)})
    result = fit(rel, line_data(slope=2.0), starts=256)
    frame = result.to_frame()
    assert result.values["a"] == 1.0
    assert frame.loc["a", "at_bound"] and not frame.loc["c", "at_bound"]
    assert any("a = 1 is at its upper bound" in w for w in result.warnings)


def test_ill_conditioned_jacobian_is_flagged():
    # Two nearly collinear columns, x and x + 1e-5 x^2: identifiable in principle, barely in practice.
    rel = Relation(sp.Eq(y, a * x + b * (x + sp.Rational(1, 10**5) * x**2)), bounds={x: (0, 1)},
                   parameters={a: (-5, 5), b: (-5, 5)})
    xs = np.linspace(0, 1, 100)
    noisy = xs + 0.5 * xs + 1e-3 * np.random.default_rng(0).standard_normal(100)
    result = fit(rel, pd.DataFrame({"x": xs, "y": noisy}), starts=256)
    assert result.condition > 1e6
    assert any("ill-conditioned Jacobian" in w for w in result.warnings)
    assert all(math.isfinite(v) and v > 10 for v in result.stderr.values())
    assert result.correlation.loc["a", "b"] < -0.999


def test_equally_good_minima_are_reported():
    rel = Relation(sp.Eq(y, sp.cos(a * x)), bounds={x: (-10, 10)}, parameters={a: (-2, 2)})
    xs = np.linspace(-10, 10, 300)
    result = fit(rel, pd.DataFrame({"x": xs, "y": np.cos(0.7 * xs)}), starts=256)
    assert not result.success
    assert sorted(round(m.values["a"], 9) for m in result.minima[:2]) == [-0.7, 0.7]
    assert any("fit about equally well" in w for w in result.warnings)


def test_robust_loss_resists_outliers():
    data = line_data(n=400, noise=0.01)
    data.loc[::20, "y"] += 5.0  # every 20th point is a gross outlier, all on one side
    squared = fit(LINE, data, starts=256)
    robust = fit(LINE, data, loss="robust", starts=256)
    absolute = fit(LINE, data, loss="absolute", starts=256)
    assert abs(squared.values["c"] - 0.3) > 0.1
    assert robust.values == pytest.approx({"a": 2.0, "c": 0.3}, abs=0.01)
    assert absolute.values == pytest.approx({"a": 2.0, "c": 0.3}, abs=0.01)


# -- the result object --------------------------------------------------------------------------


def test_result_surface():
    result = fit(LINE, line_data(), starts=256)
    assert isinstance(result, FitResult)
    frame = result.to_frame()
    assert list(frame.columns) == ["value", "stderr", "low", "high", "at_bound"]
    assert list(frame.index) == ["a", "c"] and frame.index.name == "parameter"
    assert isinstance(result.correlation, pd.DataFrame)
    text = str(result)
    assert "line" in text and "stderr" in text and "success" in text
    fitted = result.relation_fitted
    assert fitted.parameters == []
    assert float(fitted.evaluate({"x": np.array([0.5])})["y"][0]) == pytest.approx(
        result.values["a"] * 0.5 + result.values["c"]
    )


def test_fit_report_reads_csv(tmp_path):
    path = tmp_path / "line.csv"
    line_data().to_csv(path, index=False)
    report = fit_report(LINE, path, starts=256)
    assert "a " in report and "c " in report and "200 points" in report


def test_fit_report_names_an_unreadable_file(tmp_path):
    with pytest.raises(FitError, match="cannot read"):
        fit_report(LINE, tmp_path / "missing.csv")


def test_nan_rows_can_be_omitted():
    data = line_data()
    data.loc[[3, 7], "y"] = np.nan
    result = fit(LINE, data, nan="omit", starts=256)
    assert result.n_points == 198
    assert any("omitted 2 rows" in w for w in result.warnings)


def test_rows_outside_the_bounds_can_be_allowed():
    data = line_data()
    data.loc[0, "x"] = 1.5
    result = fit(LINE, data, outside="allow", starts=256)
    assert any("outside the input bounds" in w for w in result.warnings)


# -- refusals ------------------------------------------------------------------------------------

NO_PARAMETERS = Relation(sp.Eq(y, 2 * x), bounds={x: (0, 1)}, name="plain")
IMPLICIT = Relation(sp.Eq(y, a * x + sp.sin(y) / 10), bounds={x: (0, 1)}, outputs={y: (-2, 2)},
                    parameters={a: (0, 2)}, name="implicit")


def _drop(col):
    return lambda d: d.drop(columns=[col])


def _set(row, col, value):
    def change(d):
        d = d.astype({col: object}) if isinstance(value, str) else d
        d.loc[row, col] = value
        return d

    return change


BAD = [
    ("missing-input", LINE, _drop("x"), {}, FitError, "no column for input x"),
    ("missing-output", LINE, _drop("y"), {}, FitError, "no column for the output y"),
    ("text-column", LINE, _set(4, "x", "0.5"), {}, FitError,
     "column x (object) is not numeric; convert with pd.to_numeric"),
    ("nan", LINE, _set(4, "y", np.nan), {}, FitError,
     "in column(s) y (1), first at row(s) 4; drop those rows or pass nan='omit'"),
    ("infinite", LINE, _set(9, "x", np.inf), {}, FitError, "NaN or infinite values in column(s) x (1)"),
    ("no-parameters", NO_PARAMETERS, None, {}, FitError, "has no parameters to fit"),
    ("implicit", IMPLICIT, None, {}, FitError, "'implicit' is implicit; fit needs an explicit relation"),
    ("infinite-bound", LINE, None, {"bounds": {"a": (0, math.inf)}}, FitError, "global search needs finite bounds"),
    ("inverted-bound", LINE, None, {"bounds": {"a": (1, 0)}}, FitError, "low >= high: (1.0, 0.0)"),
    ("unknown-bound", LINE, None, {"bounds": {"q": (0, 1)}}, FitError, "'q', which is not a parameter"),
    ("outside", LINE, _set(11, "x", 1.5), {}, DomainError, "row 11: x = 1.5 outside [0, 1]"),
    ("bad-loss", LINE, None, {"loss": "l2"}, FitError, "loss is 'l2'"),
    ("bad-nan", LINE, None, {"nan": "drop"}, FitError, "nan is 'drop'"),
    ("bad-starts", LINE, None, {"starts": 0}, FitError, "starts is 0"),
    ("bad-polish", LINE, None, {"polish": 1.5}, FitError, "polish is 1.5"),
    ("bad-device", LINE, None, {"device": "tpu9"}, FitError, "device is 'tpu9'"),
    ("too-few-rows", LINE, lambda d: d.iloc[:2], {}, FitError, "2 usable rows for 2 parameters"),
    ("not-a-table", LINE, lambda d: d.to_numpy(), {}, FitError, "pass a pandas DataFrame"),
]


@pytest.mark.parametrize(("relation", "change", "options", "error", "fragment"),
                         [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_input_is_refused(relation, change, options, error, fragment):
    data = line_data()
    if change is not None:
        data = change(data)
    with pytest.raises(error) as info:
        fit(relation, data, **{"starts": 64, **options})
    assert fragment in str(info.value)

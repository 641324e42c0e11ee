"""Prediction as a notebook uses it (issue 19): broadcasting, numbers in and out, positional
inputs, NaN outside the domain, the call's signature; the same for every kind of model."""

from __future__ import annotations

import inspect
import pathlib
import types

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate import runtime
from surrogate.errors import DomainError
from surrogate.model.predictor import Predictor

GOLDEN = pathlib.Path(__file__).parent / "golden"
# z = x^2 + y^2 on [0, 1]^2 (one network), and a piecewise z(x, y) on [0, 1] x [-1, 1] (three pieces)
FILES = {"one": GOLDEN / "paraboloid_silu.surrogate", "pieces": GOLDEN / "pieces_silu.surrogate"}


@pytest.fixture(scope="module", params=[(f, r) for f in FILES for r in ("torch", "numpy")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def model(request):
    name, kind = request.param
    return (sg.load if kind == "torch" else runtime.load)(FILES[name])


def test_the_four_kinds_of_model_are_covered(model):
    assert type(model).__name__ in ("Surrogate", "Runtime", "PiecewiseSurrogate", "PiecewiseRuntime")
    assert model.inputs == ["x", "y"] and model.outputs == ["z"]


def test_a_number_broadcasts_against_an_array(model):
    xs = np.linspace(0.1, 0.9, 50)
    got = model(x=xs, y=0.3)["z"]
    assert isinstance(got, np.ndarray) and got.shape == (50,)
    np.testing.assert_array_equal(got, model(x=xs, y=np.full(50, 0.3))["z"])


def test_a_meshgrid_keeps_its_shape(model):
    gx, gy = np.meshgrid(np.linspace(0.1, 0.9, 4), np.linspace(0.1, 0.9, 3))
    got = model(x=gx, y=gy)["z"]
    assert got.shape == (3, 4)
    np.testing.assert_array_equal(got.reshape(-1), model(x=gx.reshape(-1), y=gy.reshape(-1))["z"])


def test_numbers_in_give_floats_out(model):
    out = model(x=0.5, y=0.25)
    assert type(out["z"]) is float
    assert out["z"] == model(x=[0.5], y=[0.25])["z"][0]  # a list of one stays an array of one


def test_positional_inputs_in_the_declared_order(model):
    assert model(0.5, 0.25) == model(x=0.5, y=0.25)
    assert model(0.5, y=0.25) == model(x=0.5, y=0.25)


@pytest.mark.parametrize("args,kwargs,pattern", [
    ((0.5,), {}, r"takes 2 input\(s\) \(x, y, in that order\).*missing y; call model\(x=\.\.\., y=\.\.\.\)"),
    ((0.5, 0.2, 0.1), {}, r"given 3 positionally, \(0\.5, 0\.2, 0\.1\); call model\(x=\.\.\., y=\.\.\.\)"),
    ((0.5, 0.2), {"x": 0.1}, r"x given both positionally and by keyword; call model\(x=\.\.\., y=\.\.\.\)"),
    (({"x": 0.5, "y": 0.2},), {}, r"called with a dict of inputs, \{'x': 0\.5, 'y': 0\.2\}; pass them as "
                                  r"keywords: model\(\*\*values\), i\.e\. model\(x=\.\.\., y=\.\.\.\)"),
    ((pd.DataFrame({"x": [0.5], "y": [0.2]}),), {}, r"for a DataFrame call model\.predict\(df\)"),
], ids=["too-few", "too-many", "twice", "dict", "frame"])
def test_a_wrong_call_shows_the_right_one(model, args, kwargs, pattern):
    with pytest.raises(TypeError, match=pattern):
        model(*args, **kwargs)


def test_arrays_that_do_not_broadcast_are_refused(model):
    with pytest.raises(DomainError, match=r"different lengths \(x: 3, y: 4\) that do not broadcast"):
        model(x=np.full(3, 0.5), y=np.full(4, 0.5))


def test_outside_nan_blanks_only_the_points_outside(model):
    xs = np.array([0.5, 1.5, np.nan, 0.25])
    with pytest.raises(DomainError, match=r"outside='allow' to extrapolate anyway, or outside='nan' for NaN"):
        model(x=xs[[0, 1]], y=0.5)
    with pytest.raises(DomainError, match=r"NaN at row 2 .* or pass outside='nan'"):
        model(x=xs, y=0.5)
    got = model(x=xs, y=0.5, outside="nan")["z"]
    assert np.isnan(got[1]) and np.isnan(got[2])
    np.testing.assert_array_equal(got[[0, 3]], model(x=xs[[0, 3]], y=0.5)["z"])
    assert np.isnan(model(x=1.5, y=0.5, outside="nan")["z"])
    with pytest.raises(DomainError, match=r"the point: x = 1.5 not in \[0, 1\]"):
        model(x=1.5, y=0.5)
    frame = model.predict(pd.DataFrame({"x": xs, "y": 0.5}, index=list("abcd")), outside="nan")
    assert list(frame.index) == list("abcd") and frame["z"].isna().tolist() == [False, True, True, False]
    with pytest.raises(ValueError, match="'raise', 'allow' or 'nan', not 'clip'"):
        model(x=0.5, y=0.5, outside="clip")


def test_a_grid_point_outside_is_named_by_its_index(model):
    gx, gy = np.meshgrid([0.2, 0.4], [0.3, 2.0])
    with pytest.raises(DomainError, match=r"index \(1, 0\): y = 2 not in"):
        model(x=gx, y=gy)


def test_a_non_numeric_cell_is_named_by_row_and_column(model):
    df = pd.DataFrame({"x": [0.5, "oops", 0.2], "y": [0.1, 0.2, 0.3]}, index=["a", "b", "c"])
    with pytest.raises(DomainError, match=r"row b, column x: 'oops' is not a number"):
        model.predict(df)


def test_the_signature_names_the_inputs(model):
    # inspect.signature is what IPython's `model?` and Jupyter's tooltip show
    assert str(inspect.signature(model)) == "(x, y, *, outside='raise') -> dict"
    assert "x" not in inspect.signature(type(model)).parameters  # the class keeps its own
    assert "inspect.signature(model)" in Predictor.__call__.__doc__


class _Named(Predictor):
    def __init__(self, names):
        self.relation = types.SimpleNamespace(inputs=names, outputs=["y"])


@pytest.mark.parametrize("names", [["r_o/r_i", "x"], ["lambda", "x"], ["outside"]])
def test_a_name_that_is_no_python_parameter_keeps_the_generic_signature(names):
    assert list(inspect.signature(_Named(names)).parameters) == ["args", "outside", "values"]
    assert list(inspect.signature(_Named(["T_inf", "x"])).parameters) == ["T_inf", "x", "outside"]

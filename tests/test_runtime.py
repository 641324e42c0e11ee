"""The NumPy runtime: torch's numbers without torch, the same checks and messages."""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

import surrogate as sg
from surrogate import runtime
from surrogate.errors import DomainError
from surrogate.model import format as fmt
from surrogate.model import runtime as runtime_impl  # its private helpers

GOLDEN = pathlib.Path(__file__).parent / "golden"
EXPECTED = json.loads((GOLDEN / "expected.json").read_text())
NAMES = sorted(EXPECTED)
EPS32 = float(np.finfo(np.float32).eps)


def agreement(y, ref, head_specs, channels) -> float:
    """max |y - ref| in units of the float32 rounding the network itself carries.

    A network output n that differs by a few float32 ulps between two correct
    implementations (summation order) moves y by b * dn relative to the head's
    scale: |y| for a log head, P + N for a signed-log head, |a| + |b n| for a
    linear one.  Returns max |y - ref| / (scale * (1 + slope) * eps32).
    """
    worst = 0.0
    for j, h in enumerate(head_specs):
        c = channels[:, h["channels"]]
        if h["kind"] == "signed_log":
            scale = np.exp(h["ap"] + h["bp"] * c[:, 0]) + np.exp(h["an"] + h["bn"] * c[:, 1])
            slope = max(h["bp"], h["bn"])
        elif h["kind"] == "log":
            scale, slope = np.abs(ref[:, j]), h["b"]
        else:
            scale, slope = abs(h["a"]) + abs(h["b"]) * np.maximum(np.abs(c[:, 0]), 1.0), 0.0
        worst = max(worst, float(np.max(np.abs(y[:, j] - ref[:, j]) / (scale * (1.0 + slope) * EPS32))))
    return worst


def model_agreement(y, ref, model, x) -> float:
    """`agreement` over a model's networks: its one network, or for a piecewise model
    (surrogate.piecewise) each piece's network on the rows it evaluates, and a constant
    piece's rows in float32 roundings of its value."""
    if not hasattr(model, "pieces"):
        with torch.no_grad():
            channels = model.module.channels(torch.from_numpy(x)).double().numpy()
        return agreement(y, ref, model.module.head_specs, channels)
    idx, worst = model.piece_of(x), 0.0
    for k, (p, m) in enumerate(zip(model.pieces, model.models)):
        rows = idx == k
        if not rows.any():
            continue
        if p.constant is not None:
            worst = max(worst, float(np.max(np.abs(y[rows] - ref[rows]) / (np.abs(ref[rows]) * EPS32))))
        else:
            worst = max(worst, model_agreement(y[rows], ref[rows], m, x[rows][:, list(p.columns)]))
    return worst


def points(model, n=4000, seed=3):
    return model.relation.domain.sobol(n, seed=seed).numpy()


@pytest.fixture(scope="module", params=NAMES)
def pair(request):
    path = GOLDEN / EXPECTED[request.param]["file"]
    return sg.load(path), runtime.load(path)


def test_runtime_matches_torch_to_float32_rounding(pair):
    torch_model, numpy_model = pair
    x = points(torch_model)
    ulps = model_agreement(numpy_model.evaluate(x), torch_model.evaluate(x), torch_model, x)
    # README: the runtimes agree to 1e-7 (of the head's scale, per unit of its slope)
    assert ulps * EPS32 <= 1e-7, f"runtime and torch differ by {ulps * EPS32:.2g}"


def test_predict_frames_match_torch(pair):
    torch_model, numpy_model = pair
    df = pd.DataFrame(points(torch_model, 50), columns=torch_model.inputs, index=[f"r{i}" for i in range(50)])
    df["unused"] = 1.0
    got, want = numpy_model.predict(df), torch_model.predict(df)
    assert list(got.columns) == torch_model.outputs and list(got.index) == list(df.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-5, atol=1e-6 * np.abs(want.to_numpy()).max())


def test_calls_with_arrays_and_blocks_of_any_size(pair):
    _, model = pair
    x = points(model, 37)
    whole = model.evaluate(x)
    # BLAS may pick another kernel for another number of rows: equal to float32 rounding
    np.testing.assert_allclose(model.evaluate(x, block_rows=5), whole, rtol=1e-6)
    out = model(**{n: x[:, j] for j, n in enumerate(model.inputs)})
    assert list(out) == model.outputs
    np.testing.assert_array_equal(np.stack([out[o] for o in model.outputs], 1), whole)  # same blocks: same bits
    assert model.evaluate(x[:0]).shape == (0, len(model.outputs))


def test_refuses_what_torch_refuses_with_the_same_message():
    torch_model, numpy_model = sg.load(GOLDEN / "seed001_gelu.surrogate"), runtime.load(GOLDEN / "seed001_gelu.surrogate")
    df = pd.DataFrame(points(torch_model, 6), columns=torch_model.inputs)
    outside = df.copy()
    outside.loc[4, "x2"] = outside.loc[4, "x1"] + 1.0
    nan = df.copy()
    nan.loc[2, "x3"] = np.nan
    cases = [
        (lambda m: m.predict(outside), DomainError, r"row 4: x2 = .* not in \[1, "),
        (lambda m: m.predict(nan), DomainError, "x3 is NaN at row 2"),
        (lambda m: m.predict(df.drop(columns="x5")), DomainError, "columns x5 are missing"),
        (lambda m: m.predict(df.to_numpy()), TypeError, "pandas DataFrame"),
        (lambda m: m(x1=1.0), DomainError, "missing x2"),
        (lambda m: m(**df, x9=df["x1"]), DomainError, "unknown x9"),
        (lambda m: m(**{**df, "x1": df["x1"][:3]}), DomainError, "different lengths"),
        (lambda m: m.predict(df, outside="maybe"), ValueError, "outside must be"),
    ]
    for call, kind, pattern in cases:
        messages = []
        for model in (torch_model, numpy_model):
            with pytest.raises(kind, match=pattern) as info:
                call(model)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
    # outside="allow" extrapolates: the network at the very point given (not a clipped or a NaN one),
    # the same in both runtimes, and the rows inside are untouched
    allowed = numpy_model.predict(outside, outside="allow")
    np.testing.assert_array_equal(allowed.to_numpy(), numpy_model.evaluate(outside.to_numpy()))
    np.testing.assert_allclose(allowed.to_numpy(), torch_model.predict(outside, outside="allow").to_numpy(), rtol=1e-7)
    inside = numpy_model.predict(df)
    assert np.isfinite(allowed.loc[4, "y"]) and allowed.loc[4, "y"] != inside.loc[4, "y"]
    np.testing.assert_array_equal(allowed.drop(index=4).to_numpy(), inside.drop(index=4).to_numpy())


def test_describes_itself():
    model = runtime.load(GOLDEN / "cosexp_tanh_f64.surrogate")
    assert model.inputs == ["x1", "x2"] and model.outputs == ["y"]
    assert model.dtype == np.float64
    assert "MLP 2x16 tanh" in repr(model)
    assert model.certificate is None or isinstance(model.certificate, sg.Certificate)


@pytest.mark.parametrize("name", ["silu", "gelu", "tanh", "relu"])
def test_activations_match_torch(name):
    x = np.concatenate([np.linspace(-30, 30, 20001), [-1e4, -100.0, 0.0, 100.0, 1e4]]).astype(np.float32)
    want = getattr(torch.nn.functional, name)(torch.from_numpy(x)).numpy()
    got = x.copy()
    runtime_impl._ACTIVATIONS[name](got)
    # atol: torch's float32 GELU rounds its left tail (values below 1e-6) away; the runtime's keeps it
    np.testing.assert_allclose(got, want, rtol=4 * EPS32, atol=1e-6 if name == "gelu" else 0.0)


def test_erf_without_scipy_is_math_erf():
    x = np.concatenate([np.linspace(-6, 6, 1001), [0.0, -0.0, 1e-300, 30.0, -30.0]])
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_array_equal(runtime_impl._erf_python(x), want)
    np.testing.assert_allclose(runtime_impl.erf(x), want, rtol=1e-15, atol=1e-300)


def test_load_goes_through_the_one_format_parser(monkeypatch):
    calls = []
    real = fmt.model_parts
    monkeypatch.setattr(fmt, "model_parts", lambda *a: calls.append(1) or real(*a))
    runtime.load(GOLDEN / "paraboloid_silu.surrogate")
    assert calls == [1]


NO_TORCH = textwrap.dedent(
    """
    import sys
    sys.modules["torch"] = None  # any `import torch` now raises ImportError
    import pandas as pd
    from surrogate import runtime
    model = runtime.load(sys.argv[1])
    df = pd.DataFrame({k: v for k, v in zip(sys.argv[2].split(","), map(float, sys.argv[3:]))}, index=[0])
    print(repr(float(model.predict(df).iloc[0, 0])))
    leaked = sorted(m for m, v in sys.modules.items() if m.startswith("torch") and v is not None)
    print(",".join(leaked) or "clean")
    """
)


def test_runtime_works_where_torch_cannot_be_imported():
    case = EXPECTED["seed001_gelu"]
    point = [str(case["inputs"][n][0]) for n in case["inputs"]]
    done = subprocess.run([sys.executable, "-c", NO_TORCH, str(GOLDEN / case["file"]), ",".join(case["inputs"]), *point],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    value, leaked = done.stdout.split()
    want = case["outputs"]["y"][0]
    assert abs(float(value) - want) <= 1e-5 * max(abs(v) for v in case["outputs"]["y"])
    assert leaked == "clean", f"torch modules imported anyway: {leaked}"


@pytest.mark.parametrize("name", sg.catalogue_names())
def test_float32_adds_less_than_float_rounding_on_every_shipped_surrogate(name):
    """precision="float32" runs the network in float32 (the shipped ones are trained in float64), adding at
    most c_export.F32_ROUNDING to the error in the certificate's metric; a surrogate certified tighter than
    that is loaded with a warning that its certificate holds for float64 only."""
    from surrogate.model.c_export import F32_ROUNDING

    r64 = runtime.load(name)
    cert = r64.certificate
    if cert.max_error < F32_ROUNDING:
        with pytest.warns(UserWarning, match="certificate holds for precision='float64'"):
            r32 = runtime.load(name, precision="float32")
    else:
        r32 = runtime.load(name, precision="float32")  # no warning (the suite makes one an error)
    assert all(r.dtype == np.float32 for r in getattr(r32, "runtimes", [r32]) if hasattr(r, "dtype"))
    rel = r64.relation
    x = rel.domain.sobol(4000, seed=3).numpy()
    y64, y32 = r64.evaluate(x), r32.evaluate(x)
    scale = np.zeros_like(y64)
    if rel.is_explicit:  # the metric's scale S(x) of an explicit relation, as the certificate divides by
        cols = {n: x[:, j] for j, n in enumerate(rel.inputs)}
        s = np.stack([np.abs(np.asarray(rel.compiled("scale", o, "numpy")(cols), dtype=np.float64)) * np.ones(len(x))
                      for o in rel.outputs], 1)
        scale = np.where(np.isfinite(s), s, 0.0)
    extra = float(np.max(np.abs(y32 - y64) / np.maximum(np.maximum(np.abs(y64), scale), max(cert.atol or 0.0, 1e-300))))
    assert 1e-10 < extra <= F32_ROUNDING, f"{name}: float32 adds {extra:.3g} (certified {cert.max_error:.3g})"

"""The C export (model/c_export.py): every generated file compiled with the system's C compiler,
loaded with ctypes and compared with the NumPy runtime, point by point.

Every shipped surrogate and every golden artifact (all four activations, a float64 network, no
skip path, a piecewise model with a constant piece) agrees with `surrogate.runtime.load` to 1e-12
relative in double precision, and to within its certificate's max error with the network in
float (or float's own rounding, c_export.F32_ROUNDING, for a certificate tighter than that); a
point outside the domain and a NaN get the nonzero codes.
"""

from __future__ import annotations

import ctypes
import math
import pathlib
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

import surrogate as sg
from surrogate import runtime
from surrogate.declaration.reference import explicit_reference
from surrogate.errors import UnsupportedExpressionError
from surrogate.model import c_blocks, c_export

CC = shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler: `cc` is not on PATH, so the generated C files "
                                                   "cannot be compiled and run here")

GOLDEN = pathlib.Path(__file__).parent / "golden"
GOLDEN_FILES = sorted(GOLDEN.glob("*.surrogate"))
SHIPPED = sg.catalogue_names()
#: double precision: |c - numpy| <= RTOL * max(|numpy|, S(x)), S the error metric's scale of an explicit
#: relation (the magnitude of its terms: a signed-log head's exp(p) - exp(n) near q = 0 cancels digits
#: of that size, as the certificate's metric allows)
RTOL = 1e-12
#: the float file against the NumPy runtime's float32 path (BLAS sums in another order, each rounding
#: carried through a head's exponential)
F32_AGREE = 1e-5
POINTS = 2000
OK, NAN, OUTSIDE = 0, 1, 2


#: the flags the generated header recommends for speed (eval_batch vectorised)
FAST = ("-O3", "-march=native", "-ffp-contract=fast")


def _compile(c_file: pathlib.Path, flags: tuple[str, ...] = ("-O2",)) -> ctypes.CDLL:
    lib = c_file.with_suffix(".so")
    cmd = [CC, "-std=c99", *flags, "-shared", "-fPIC", "-Wall", "-Wextra", "-pedantic", "-Werror",
           "-o", str(lib), str(c_file), "-lm"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr[:4000]}"
    return ctypes.CDLL(str(lib))


class _C:
    """A compiled export: eval_batch and eval on NumPy arrays."""

    def __init__(self, lib: ctypes.CDLL, ident: str, d: int, m: int):
        dp, ip = ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_int)
        self.batch = getattr(lib, f"{ident}_eval_batch")
        self.batch.argtypes, self.batch.restype = [ctypes.c_size_t, dp, dp, ip], ctypes.c_int
        self.one = getattr(lib, f"{ident}_eval")
        self.one.argtypes, self.one.restype = [dp, dp], ctypes.c_int
        self.d, self.m = d, m

    def __call__(self, x: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.empty((x.shape[0], self.m))
        status = np.empty(x.shape[0], dtype=np.intc)
        rc = self.batch(x.shape[0], _ptr(x, ctypes.c_double), _ptr(y, ctypes.c_double), _ptr(status, ctypes.c_int))
        return rc, y, status

    def eval(self, row: np.ndarray) -> tuple[int, np.ndarray]:
        x = np.ascontiguousarray(row, dtype=np.float64)
        y = np.empty(self.m)
        return self.one(_ptr(x, ctypes.c_double), _ptr(y, ctypes.c_double)), y


def _ptr(a: np.ndarray, t):
    return a.ctypes.data_as(ctypes.POINTER(t))


def _points(model, n: int = POINTS, seed: int = 0) -> np.ndarray:
    """n random points of the domain, its corners, and for a piecewise model points on and an ulp
    either side of every threshold between pieces."""
    dom = model.relation.domain
    rng = np.random.default_rng(seed)
    u = rng.random((n, dom.dim))
    if dom.dim <= 6:
        corners = ((np.arange(2**dom.dim)[:, None] >> np.arange(dom.dim)) & 1).astype(np.float64)
        u = np.concatenate([corners, u])
    x = dom.clip(dom.chart(u))
    pieces = getattr(model, "pieces", None) or ()
    extra = []
    for p in pieces:
        for name, (lo, hi, _, _) in p.region.items():
            k = model.inputs.index(name)
            for t in (lo, hi):
                if math.isfinite(t):
                    for v in (np.nextafter(t, -math.inf), t, np.nextafter(t, math.inf)):
                        rows = x[:8].copy()
                        rows[:, k] = v
                        extra.append(rows)
    if extra:
        x = np.concatenate([x, dom.clip(np.concatenate(extra))])
    return x


def _scale(rt, x: np.ndarray) -> np.ndarray:
    """S(x) per output for an explicit relation (metric.magnitude; the certificate's denominator), else 0;
    0 too where float64 cannot evaluate it (0/0 at LMTD's removable singularity dT1 = dT2)."""
    rel = rt.relation
    if not rel.is_explicit:
        return np.zeros((len(x), len(rel.outputs)))
    s = np.abs(explicit_reference(rel, x, refine=False).scales)
    return np.where(np.isfinite(s), s, 0.0)


def _agree(c: np.ndarray, r: np.ndarray, scale: np.ndarray, atol: float = 0.0) -> float:
    """The largest |c - r| / max(|r|, S(x), atol)."""
    return float(np.max(np.abs(c - r) / np.maximum(np.maximum(np.abs(r), scale), max(atol, 1e-300))))


def _check_both_precisions(artifact, folder: pathlib.Path, tag: str) -> dict[str, float]:
    """Export `artifact` in both precisions from its NumPy runtime, compile, compare, and check the refusals."""
    rt = runtime.load(artifact)
    x = _points(rt)
    assert np.all(rt.relation.domain.contains(x))
    ref = rt.evaluate(x)
    scale = _scale(rt, x)
    measured = {}
    for precision in ("float64", "float32"):
        c_file = folder / f"{tag}_{precision}.c"
        ident = rt.export_c(c_file, precision=precision)
        fn = _C(_compile(c_file), ident, len(rt.inputs), len(rt.outputs))
        rc, y, status = fn(x)
        assert rc == OK and np.all(status == OK), f"{tag}: points inside the domain refused ({np.unique(status)})"
        cert = rt.certificate
        measured[precision] = _agree(y, ref, scale, 0.0 if precision == "float64" else cert.atol)
        if precision == "float64":
            assert measured[precision] <= RTOL, f"{tag}: C (double) differs from the NumPy runtime by {measured[precision]:.3g}"
        else:
            # float's own rounding where the certificate is tighter than it: Dittus-Boelter, a power law
            # the skip path fits exactly, is certified at float64's noise (1.8e-15); the header says so
            assert cert is not None and measured[precision] <= max(cert.max_error, c_export.F32_ROUNDING), \
                f"{tag}: C (network in float) differs from double by {measured[precision]:.3g}, " \
                f"more than the certificate's max error {cert.max_error:.3g}"
            assert measured[precision] > 1e-10, f"{tag}: the float file gives the double numbers: is it float?"
            if all(w.dtype == np.float32 for r in getattr(rt, "runtimes", [rt]) for w in getattr(r, "weights", {}).values()):
                # trained in float: the NumPy runtime's float32 path does the same arithmetic (a golden
                # certificate of a 30-step model bounds nothing)
                r32 = runtime.load(artifact, precision="float32").evaluate(x)
                measured["float32_vs_numpy_float32"] = _agree(y, r32, scale)
                assert measured["float32_vs_numpy_float32"] <= F32_AGREE, \
                    f"{tag}: C (float) differs from the NumPy runtime in float32 by {measured['float32_vs_numpy_float32']:.3g}"
        _check_refusals(fn, rt, x[len(x) // 2])
    return measured


def _check_refusals(fn: _C, rt, inside: np.ndarray) -> None:
    """NaN in any input gives NAN, a point past any bound OUTSIDE, both with y NaN; inside gives OK."""
    rc, y = fn.eval(inside)
    assert rc == OK and np.all(np.isfinite(y))
    dom = rt.relation.domain
    lows, highs = dom.bounds(inside[None, :])
    bad = []
    for k in range(len(inside)):
        nan = inside.copy()
        nan[k] = math.nan
        lo, hi = float(np.asarray(lows[k]).reshape(-1)[0]), float(np.asarray(highs[k]).reshape(-1)[0])
        for v in (hi + 0.01 * (hi - lo), lo - 0.01 * (hi - lo), np.nextafter(hi, math.inf)):
            out = inside.copy()
            out[k] = v
            assert not dom.contains(out[None, :])[0]
            rc, y = fn.eval(out)
            assert rc == OUTSIDE and np.all(np.isnan(y)), f"{rt.inputs[k]} = {v!r} outside [{lo!r}, {hi!r}]: code {rc}"
            bad.append(out)
        rc, y = fn.eval(nan)
        assert rc == NAN and np.all(np.isnan(y)), f"{rt.inputs[k]} NaN: code {rc}"
        bad.append(nan)
    rows = np.stack([inside, *bad])
    rc, y, status = fn(rows)
    assert status[0] == OK and rc == status[1] != OK and np.all(status[1:] != OK)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_surrogate_agrees_with_the_numpy_runtime(name, tmp_path):
    _check_both_precisions(name, tmp_path, name)


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_every_activation_and_layout_agrees_with_the_numpy_runtime(path, tmp_path):
    _check_both_precisions(path, tmp_path, path.stem)


def test_the_header_comment_carries_the_formula_and_the_certificate(tmp_path):
    out = tmp_path / "g.c"
    ident = c_export.export_artifact(GOLDEN / "pieces_silu.surrogate", out, name="my model")
    text = out.read_text()
    head = text[: text.index("*/")]
    cert = runtime.load(GOLDEN / "pieces_silu.surrogate").certificate
    assert ident == "my_model" and "int my_model_eval(const double *x, double *y)" in text
    assert "z = Piecewise(" in head and f"max error {cert.max_error:.6g}" in head
    assert cert.error in head and f"{cert.points} scrambled Sobol points" in head
    (line,) = [line for line in head.splitlines() if "piece 2:" in line]
    # the order of a box's conditions is the plan's (declaration/pieces.py), which varies between runs
    assert line.endswith(": the constant 3.0") and "0.5 <= x <= 1" in line and "-1 <= y < 0" in line


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_a_model_in_memory_exports_the_file_its_artifact_gives(precision, tmp_path):
    path = GOLDEN / "pieces_silu.surrogate"
    sg.load(path).export_c(tmp_path / "torch.c", name="m", precision=precision)
    runtime.load(path).export_c(tmp_path / "numpy.c", name="m", precision=precision)  # its network in float64
    c_export.export_artifact(path, tmp_path / "file.c", name="m", precision=precision)
    a, b, c = ((tmp_path / f).read_text() for f in ("torch.c", "numpy.c", "file.c"))
    assert a == b == c.replace(f" from {path.name}", "")


def test_a_function_c99_lacks_is_refused_naming_it():
    x, y = sp.symbols("x y", positive=True)
    with pytest.raises(UnsupportedExpressionError, match="besselj.*math.h"):
        c_export._expr(sp.besselj(0, x) + y, {"x": "in_x", "y": "in_y"}, "the group feature")
    # constants are folded as compile.py folds them (C99 has no M_PI)
    assert c_export._expr(sp.pi * x, {"x": "in_x"}, "a bound") == "3.141592653589793*in_x"


def test_the_command_line_writes_the_c_file(tmp_path, capsys):
    from surrogate.interface.cli import main

    out = tmp_path / "db.c"
    assert main(["export", "dittus_boelter_cooling", "--c", str(out), "--c-precision", "float32"]) == 0
    assert "dittus_boelter_cooling_eval" in capsys.readouterr().out
    head = " ".join(line.lstrip(" *") for line in out.read_text().split("*/")[0].splitlines())
    # certified at float64's noise: the float file says it does not meet the certificate
    assert "Precision (float32)" in head and "MORE than the max error above" in head


def test_expressions_print_as_compile_evaluates_them(tmp_path):
    """Bounds and group features go through sympy.ccode: each function of C_FUNCTIONS, folded constants,
    powers and a Piecewise without a default (NaN outside, as compile.py) give compile.py's numbers."""
    from surrogate.declaration.compile import compile_expr

    x, y = sp.symbols("x y", positive=True)
    exprs = [sp.pi * x + sp.sqrt(2) + sp.log(10), sp.Piecewise((x, x < 1), (2 * x, y < 2)),
             sp.Max(x, y) ** sp.Rational(5, 8), sp.Abs(x - y) + sp.sign(x - y), sp.erf(x) + sp.erfc(y),
             sp.gamma(x) + sp.loggamma(y), sp.atan2(x, y) + sp.floor(x) + sp.ceiling(y), sp.exp(-x / y),
             sp.log(1 + x) ** 2 + x ** -2 + x ** sp.Rational(1, 3), sp.Min(x, 2) * sp.tanh(y) + sp.cosh(x) / sp.sinh(y),
             sp.asinh(x) * sp.acosh(1 + y) * sp.atanh(x / (x + y + 1)), sp.sin(x) * sp.cos(y) + sp.tan(x / 4),
             sp.asin(x / 4) + sp.acos(y / 4) + sp.atan(x * y)]
    names = {"x": "in_x", "y": "in_y"}
    src = "#include <math.h>\n" + "".join(f"double e{i}(double in_x, double in_y);\ndouble e{i}(double in_x, double in_y) "
                                          f"{{ (void)in_x; (void)in_y; return {c_export._expr(e, names, 'a test')}; }}\n"
                                          for i, e in enumerate(exprs))
    (tmp_path / "e.c").write_text(src)
    lib = _compile(tmp_path / "e.c")
    rng = np.random.default_rng(1)
    pts = rng.uniform(0.1, 3.0, (200, 2))
    for i, e in enumerate(exprs):
        fn = getattr(lib, f"e{i}")
        fn.argtypes, fn.restype = [ctypes.c_double, ctypes.c_double], ctypes.c_double
        got = np.array([fn(a, b) for a, b in pts])
        want = compile_expr(e, "numpy")({"x": pts[:, 0], "y": pts[:, 1]})
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14, equal_nan=True, err_msg=str(e))  # terms of O(1)


@pytest.mark.parametrize("flags", [("-O2",), FAST], ids=["O2", "fast"])
def test_the_files_tanh_is_within_3_ulp_of_tanh(flags, tmp_path):
    """c_blocks.TANH, branch-free for the vectoriser, against NumPy's tanh: 3 ulp relative in double and
    in float (in float against float64's tanh rounded to float), and +-1, NaN, 0 where tanh gives them."""
    src = "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n"
    src += "".join(c_blocks.TANH[t].replace("{p}", "m") for t in ("double", "float"))
    src += ("void td(size_t n, const double *x, double *y);\nvoid tf(size_t n, const float *x, float *y);\n"
            "void td(size_t n, const double *x, double *y) { for (size_t i = 0; i < n; ++i) y[i] = m_fast_tanh_d(x[i]); }\n"
            "void tf(size_t n, const float *x, float *y) { for (size_t i = 0; i < n; ++i) y[i] = m_fast_tanh_f(x[i]); }\n")
    (tmp_path / "t.c").write_text(src)
    lib = _compile(tmp_path / "t.c", flags)
    rng = np.random.default_rng(2)
    x = np.concatenate([np.linspace(-25, 25, 200001), rng.normal(size=100000) * 10.0 ** rng.integers(-12, 2, 100000),
                        [0.0, -0.0, 1e-300, -5e-324, 19.0, 21.0, 1e300, -1e300, math.inf, -math.inf, math.nan]])
    for t, ct, fn, eps in ((np.float64, ctypes.c_double, lib.td, 2.0**-52), (np.float32, ctypes.c_float, lib.tf, 2.0**-23)):
        with np.errstate(over="ignore"):  # +-1e300 is +-inf in float
            xt = np.ascontiguousarray(x, dtype=t)
        y = np.empty_like(xt)
        fn(ctypes.c_size_t(len(xt)), _ptr(xt, ct), _ptr(y, ct))
        want = np.tanh(xt.astype(np.float64)).astype(t)
        ok = np.isfinite(want)
        err = np.abs(y[ok].astype(np.float64) - want[ok]) / np.maximum(np.abs(want[ok].astype(np.float64)), np.finfo(t).tiny)
        assert err.max() <= 3 * eps, f"{t.__name__}: {err.max() / eps:.2f} ulp at x = {xt[ok][np.argmax(err)]!r}"
        assert np.isnan(y[-1]) and np.all(y[-3:-1] == [1.0, -1.0]) and np.all(y[-5:-3] == [1.0, -1.0])
        assert np.all(y[xt == 0] == 0)  # (tanh -0 gives +0)


@pytest.mark.parametrize("name", ["gnielinski", "grey_two_surface_exchange", "hilpert_cylinder"])
def test_the_fast_flags_give_the_same_numbers_one_point_or_a_block(name, tmp_path):
    """Compiled as the header recommends for speed (fused multiply-adds, AVX2): the batch still agrees with
    the NumPy runtime to 1e-12, a point evaluated alone (the one-point function) agrees with the same point
    in a block, and a batch of any length (a partial last block, rows refused between) gets every code."""
    rt = runtime.load(name)
    x = _points(rt, n=1000)
    ref, scale = rt.evaluate(x), _scale(rt, x)
    for precision in ("float64", "float32"):
        c_file = tmp_path / f"{precision}.c"
        ident = rt.export_c(c_file, precision=precision)
        fn = _C(_compile(c_file, FAST), ident, len(rt.inputs), len(rt.outputs))
        rc, y, status = fn(x)
        assert rc == OK and np.all(status == OK)
        if precision == "float64":
            assert _agree(y, ref, scale) <= RTOL
        else:
            assert _agree(y, ref, scale, rt.certificate.atol) <= max(rt.certificate.max_error, c_export.F32_ROUNDING)
        one = np.stack([fn.eval(row)[1] for row in x[:50]])
        # in float, the two functions may round differently (another contraction into a fused multiply-add)
        assert _agree(one, y[:50], _scale(rt, x[:50])) <= (RTOL if precision == "float64" else F32_AGREE)
        rows = x[:37].copy()
        rows[5, 0], rows[30, -1] = math.nan, 1e300
        rc, y2, status = fn(rows)
        assert rc == NAN and status[5] == NAN and status[30] == OUTSIDE and np.all(np.isnan(y2[[5, 30]]))
        keep = np.setdiff1d(np.arange(37), [5, 30])
        assert np.all(status[keep] == OK) and _agree(y2[keep], y[keep], scale[keep]) <= (RTOL if precision == "float64" else F32_AGREE)


@pytest.mark.parametrize("flags", [("-O2",), FAST], ids=["O2", "fast"])
def test_the_files_log_and_exp_are_within_2_ulp_and_give_libms_special_values(flags, tmp_path):
    """c_blocks.LOG_EXP (the features' logs, the heads' exponentials) against NumPy's log and exp: 2 ulp
    over the doubles' whole range, subnormals included, and libm's values at 0, -0, negatives, inf, NaN,
    overflow and underflow."""
    src = "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n" + c_blocks.LOG_EXP.replace("{p}", "m")
    src += ("void tl(size_t n, const double *x, double *y);\nvoid te(size_t n, const double *x, double *y);\n"
            "void tl(size_t n, const double *x, double *y) { for (size_t i = 0; i < n; ++i) y[i] = m_log_d(x[i]); }\n"
            "void te(size_t n, const double *x, double *y) { for (size_t i = 0; i < n; ++i) y[i] = m_exp_d(x[i]); }\n")
    (tmp_path / "le.c").write_text(src)
    lib = _compile(tmp_path / "le.c", flags)
    rng = np.random.default_rng(4)
    specials = [0.0, -0.0, -1.0, -1e-300, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308, 1.0]
    x = np.concatenate([np.exp(rng.uniform(-744, 709.7, 200000)), rng.uniform(0.5, 2.0, 100000),
                        10.0 ** rng.uniform(-323, -308, 2000), specials])
    z = np.concatenate([rng.uniform(-745.1, 709.78, 200000), rng.uniform(-1.0, 1.0, 100000),
                        [710.0, 800.0, -745.2, -800.0, 1e300, -1e300, math.inf, -math.inf, math.nan, 0.0, -0.0, -740.0]])
    for fn, arg, ref in ((lib.tl, x, np.log), (lib.te, z, np.exp)):
        y = np.empty_like(arg)
        fn(ctypes.c_size_t(len(arg)), _ptr(arg, ctypes.c_double), _ptr(y, ctypes.c_double))
        with np.errstate(all="ignore"):
            want = ref(arg)
        ok = np.isfinite(want) & (want != 0.0)
        ulp = np.abs(y[ok] - want[ok]) / np.spacing(np.abs(want[ok]))
        assert ulp.max() <= 2.0, f"{ref.__name__}: {ulp.max()} ulp at {arg[ok][np.argmax(ulp)]!r}"
        rest = ~ok
        np.testing.assert_array_equal(y[rest], want[rest])  # NaN where NaN, +-inf, 0

"""The compiler: torch and NumPy agree with SymPy's own float64 evaluation."""

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.functions.elementary.piecewise import ExprCondPair

from surrogate.declaration.compile import SUPPORTED_FUNCTIONS, compile_expr, unsupported_functions
from surrogate.errors import UnsupportedExpressionError

a, b = sp.symbols("a b", real=True)

UNARY = [sp.exp, sp.sin, sp.cos, sp.tanh, sp.atan, sp.sinh, sp.Abs, sp.sign, sp.asinh, sp.cosh]
POSITIVE_UNARY = [sp.log, sp.sqrt, lambda e: sp.log(e, 10), lambda e: e ** sp.Rational(1, 3)]


def exprs(depth=3):
    leaf = st.sampled_from([a, b, sp.Integer(2), sp.Rational(3, 7), sp.Float(0.25), sp.pi, sp.E])
    def extend(children):
        return st.one_of(
            st.tuples(children, children).map(lambda t: t[0] + t[1]),
            st.tuples(children, children).map(lambda t: t[0] * t[1]),
            st.tuples(children, st.integers(-3, 3)).map(lambda t: t[0] ** t[1] if t[1] >= 0 else 1 / (1 + t[0] ** 2)),
            st.tuples(st.sampled_from(UNARY), children).map(lambda t: t[0](t[1] / 4)),
            st.tuples(st.sampled_from(POSITIVE_UNARY), children).map(lambda t: t[0](1 + t[1] ** 2)),
            st.tuples(children, children).map(lambda t: sp.Max(t[0], t[1], a)),
            st.tuples(children, children).map(lambda t: sp.Min(t[0], t[1])),
            st.tuples(children, children).map(lambda t: sp.Piecewise((t[0], a < b), (t[1], True))),
        )
    return st.recursive(leaf, extend, max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(exprs(), st.floats(-2, 2), st.floats(-2, 2))
def test_compiled_matches_sympy(expr, va, vb):
    if not expr.free_symbols & {a}:
        expr = expr + a  # keep at least one input so the result has a shape
    ref = complex(expr.evalf(30, subs={a: va, b: vb}))
    if ref.imag != 0 or not math.isfinite(ref.real) or abs(ref.real) > 1e12:
        return
    values = {"a": np.array([va]), "b": np.array([vb])}
    got_np = compile_expr(expr, "numpy")(values)
    got_t = compile_expr(expr, "torch")({k: torch.tensor(v, dtype=torch.float64) for k, v in values.items()})
    assert got_np.dtype == np.float64 and got_t.dtype == torch.float64
    assert got_np[0] == pytest.approx(ref.real, rel=1e-9, abs=1e-12)
    assert got_t.numpy()[0] == pytest.approx(ref.real, rel=1e-9, abs=1e-12)


def test_constants_follow_dtype():
    f = compile_expr(2.51 * a + sp.pi, "torch")
    out = f({"a": torch.ones(3, dtype=torch.float32)})
    assert out.dtype == torch.float32 and out.shape == (3,)
    g = compile_expr(sp.Integer(3) + 0 * a, "torch")  # folds to a constant: still shaped like the input
    assert g({"a": torch.zeros(4, dtype=torch.float64)}).shape == (4,)


def _shipped_function_calls():
    """{function name: (a call of it in a shipped equation, that relation)}, walked from the
    equations/ modules: what the package must compile, independent of its own table."""
    import importlib
    import pkgutil

    import equations
    import surrogate as sg

    calls = {}
    for info in pkgutil.iter_modules(equations.__path__):
        for rel in vars(importlib.import_module(f"equations.{info.name}")).values():
            if isinstance(rel, sg.Relation):
                known = set(rel.inputs) | set(rel.outputs) | set(rel.parameters)
                for eq in rel.equations:
                    for node in sp.preorder_traversal(eq):
                        if isinstance(node, sp.Basic) and not node.is_Atom and not node.is_Relational \
                                and not isinstance(node, ExprCondPair) and {v.name for v in node.free_symbols} <= known:
                            calls.setdefault(type(node).__name__, (node, rel))
    return calls


def test_every_function_the_shipped_equations_use_compiles_and_matches_sympy():
    calls = _shipped_function_calls()
    # what the equations/ modules used when this test was written; a new one only adds to it
    assert set(calls) >= {"Abs", "Add", "Mul", "Piecewise", "Pow", "besseli", "besselk", "cos", "erfc", "exp",
                          "log", "tan", "tanh"}
    for name, (node, rel) in sorted(calls.items()):
        assert name in SUPPORTED_FUNCTIONS, name
        assert unsupported_functions(node) == [], name
        x = rel.domain.sobol(3, seed=1).numpy()
        env = {n: x[:, j] for j, n in enumerate(rel.inputs)}
        env.update({o: np.full(3, 0.5 * (r[0] + r[1])) for o, r in rel.output_ranges.items() if r})
        env.update({p: np.full(3, 0.5) for p in rel.parameters})  # inside the shipped parameter ranges
        got_np = compile_expr(node, "numpy")(env)
        got_t = compile_expr(node, "torch")({k: torch.from_numpy(v) for k, v in env.items()}).numpy()
        for i in range(3):
            ref = complex(node.evalf(30, subs={s: env[s.name][i] for s in node.free_symbols}))
            assert ref.imag == 0, (name, node)
            assert got_np[i] == pytest.approx(ref.real, rel=1e-10, abs=1e-300), (name, node)
            assert got_t[i] == pytest.approx(ref.real, rel=1e-10, abs=1e-300), (name, node)


def test_atan2_and_reciprocal_trig():
    e = sp.atan2(a, b) + sp.sec(a) + sp.cot(b) + sp.acot(b)
    v = {"a": np.array([0.3]), "b": np.array([0.7])}
    assert compile_expr(e, "numpy")(v)[0] == pytest.approx(float(e.subs({a: 0.3, b: 0.7})), rel=1e-12)


def test_unknown_function_is_named():
    f = sp.Function("f")
    bad = unsupported_functions(sp.zeta(a) + f(b))
    assert bad == ["f", "zeta"]
    with pytest.raises(UnsupportedExpressionError, match="zeta"):
        compile_expr(sp.zeta(a), "numpy")


def test_numpy_undefined_is_nan_without_warning():
    out = compile_expr(sp.log(a), "numpy")({"a": np.array([-1.0, 1.0])})
    assert np.isnan(out[0]) and out[1] == 0.0

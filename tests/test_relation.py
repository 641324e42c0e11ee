"""Relation: declaration and validation, every problem reported together."""

import pytest
import sympy as sp

from surrogate import Relation, RelationError

x1, x2, x3, y = sp.symbols("x1 x2 x3 y", positive=True)
x7 = sp.Symbol("x7")


def test_seed001_declaration():
    rel = Relation(sp.Eq(y, x3 / x2 - (x1 - x2) * x2 / x1), bounds={x1: (500, 1000), x2: (1, x1), x3: (1, 10)})
    assert rel.inputs == ["x1", "x2", "x3"] and rel.outputs == ["y"] and rel.parameters == []
    assert rel.domain.inputs[1].scale == "log" and rel.domain.inputs[0].scale == "linear"
    assert len(rel.terms("y")) == 2
    assert rel.scale_expression("y").has(sp.Abs)


def test_reversed_equation_and_string_keys():
    rel = Relation(sp.Eq(x1 * 2, y), bounds={"x1": (0, 1)})
    # the relation's symbols are real (nonnegative here, from the bounds) whatever the user's carried
    assert rel.expression("y") == 2 * rel.symbols["x1"]
    assert rel.symbols["x1"].is_nonnegative and rel.symbols["y"].is_real


def test_bounds_declared_out_of_dependency_order():
    rel = Relation(sp.Eq(y, x1 + x2), bounds={x2: (1, x1), x1: (2, 3)})
    assert rel.inputs == ["x2", "x1"]
    assert [rel.domain.names[k] for k in rel.domain.order] == ["x1", "x2"]


BAD = [
    ("unknown-bound-symbol", dict(eq=sp.Eq(y, x1 + x2), bounds={x1: (0, 1), x2: (0, x7)}), "refers to x7, which is not an input"),
    ("cyclic", dict(eq=sp.Eq(y, x1 + x2), bounds={x1: (0, x2), x2: (0, x1)}), "cycle"),
    ("inverted", dict(eq=sp.Eq(y, x1), bounds={x1: (1, 0)}), "low >= high for x1"),
    ("inverted-dependent", dict(eq=sp.Eq(y, x1 + x2), bounds={x1: (0, 1), x2: (x1, 0.5)}), "low >= high for x2"),
    ("log-through-zero", dict(eq=sp.Eq(y, x1), bounds={x1: (0, 1)}, scales={x1: "log"}), "log scale asked for x1"),
    ("bad-scale", dict(eq=sp.Eq(y, x1), bounds={x1: (1, 2)}, scales={x1: "cubic"}), "use 'log' or 'linear'"),
    ("unsupported-function", dict(eq=sp.Eq(y, sp.zeta(x1)), bounds={x1: (0, 1)}), "zeta"),
    ("infinite-bound", dict(eq=sp.Eq(y, x1), bounds={x1: (0, sp.oo)}), "finite"),
    ("nan-bound", dict(eq=sp.Eq(y, x1), bounds={x1: (0, float("nan"))}), "finite"),
    ("not-a-pair", dict(eq=sp.Eq(y, x1), bounds={x1: 3}), "(low, high) pair"),
    ("missing-bounds", dict(eq=sp.Eq(y, x1 * x7), bounds={x1: (0, 1)}), "if a symbol is an input give it bounds"),
    ("output-without-equation", dict(eq=sp.Eq(y, x1), bounds={x1: (0, 1)}, outputs=[y, x3]), "output x3 appears in no equation"),
    ("unused-input", dict(eq=sp.Eq(y, x1), bounds={x1: (0, 1), x2: (0, 1)}), "input x2 appears in no equation"),
    ("evaluated-equation", dict(eq=sp.Eq(x1, x1), bounds={x1: (0, 1)}), "evaluated to True"),
    ("parameter-without-numbers", dict(eq=sp.Eq(y, x1 * x2), bounds={x1: (0, 1)}, parameters={x2: (0, x1)}), "must be numbers"),
    ("normalizer-of-output", dict(eq=sp.Eq(y, x1), bounds={x1: (1, 2)}, normalizer=y), "not inputs"),
]


@pytest.mark.parametrize("kwargs,fragment", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_declarations(kwargs, fragment):
    kwargs = dict(kwargs)
    eq = kwargs.pop("eq")
    with pytest.raises(RelationError, match=None) as info:
        Relation(eq, **kwargs)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_every_problem_reported_together():
    with pytest.raises(RelationError) as info:
        Relation(sp.Eq(y, x1 + x2 + x3), bounds={x1: (1, 0), x2: (0, x7), x3: (0, 1)}, scales={x3: "log"})
    text = str(info.value)
    assert "low >= high for x1" in text and "x7" in text and "problems" in text


def test_substitute_parameters():
    a = sp.Symbol("a")
    rel = Relation(sp.Eq(y, a * x1), bounds={x1: (0, 1)}, parameters={a: (0, 2)})
    fixed = rel.substitute({"a": 0.5})
    assert fixed.parameters == [] and float(fixed.expression("y").subs(fixed.symbols["x1"], 2)) == 1.0
    with pytest.raises(RelationError, match="not parameters"):
        rel.substitute({"b": 1.0})

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
    ("missing-bounds", dict(eq=sp.Eq(y, x1 * x7), bounds={x1: (0, 1)}), "x7 has no bounds"),
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


# -- issue 19: messages that name what is wrong --------------------------------------------------
Nu, Re, Pr = sp.symbols("Nu Re Pr", positive=True)
DITTUS = 0.023 * Re**0.8 * Pr**0.4


def _problems(*args, **kwargs) -> list[str]:
    with pytest.raises(RelationError) as info:
        Relation(*args, **kwargs)
    return info.value.problems


def test_an_input_without_bounds_is_named():
    (problem,) = _problems(sp.Eq(Nu, DITTUS), bounds={Re: (1e4, 1e6)})
    assert problem.startswith("Pr has no bounds: without them it is read as an output beside Nu")
    assert "bounds={Pr: (low, high)}" in problem and "not given explicitly" not in problem
    problems = _problems(sp.Eq(Nu, DITTUS), bounds={})
    assert any(p.startswith("Pr, Re have no bounds: without them they are read as outputs beside Nu, and 1 equation "
                            "cannot give 3 outputs; give each input bounds={Pr: (low, high)}") for p in problems)
    assert not any("not given explicitly" in p for p in problems)
    # with the outputs declared, the same
    assert _problems(sp.Eq(Nu, DITTUS), bounds={Re: (1e4, 1e6)}, outputs=[Nu])[0].startswith("Pr has no bounds")


def test_an_implicit_relation_without_declared_outputs_keeps_its_message():
    f = sp.Symbol("f", positive=True)
    (problem,) = _problems(sp.Eq(1 / sp.sqrt(f), -2 * sp.log(2.51 / (Re * sp.sqrt(f)), 10)), bounds={Re: (4e3, 1e8)})
    assert problem.startswith("f is not given explicitly") and "outputs={f: (low, high)}" in problem


def test_bounds_on_the_output_name_it():
    problems = _problems(sp.Eq(Nu, DITTUS), bounds={Nu: (1, 1e4), Re: (1e4, 1e6), Pr: (0.7, 100)})
    assert len(problems) == 1 and "-  are" not in problems[0] and " are not given" not in problems[0]
    assert problems[0].startswith("Nu has bounds, so it is read as an input, and the equations have no output")
    assert "drop Nu from bounds" in problems[0] and "outputs={Nu: (low, high)}" in problems[0]


def test_a_bare_expression_is_named():
    (problem,) = _problems(DITTUS, bounds={Re: (1e4, 1e6), Pr: (0.7, 100)})
    assert problem.startswith("equation 1 is the bare expression 0.023*Pr**0.4*Re**0.8, which names no output")
    assert "write sp.Eq(y, 0.023*Pr**0.4*Re**0.8)" in problem
    (problem,) = _problems(Nu - DITTUS, bounds={Re: (1e4, 1e6), Pr: (0.7, 100)})
    assert "Nu is not given explicitly" in problem and "equation 1 is a bare expression" in problem


def test_bounds_may_be_numpy_arrays():
    import numpy as np

    rel = Relation(sp.Eq(y, x1 * x2), bounds={x1: np.array([1, 3]), x2: np.array([0.5, 2.0])})
    same = Relation(sp.Eq(y, x1 * x2), bounds={x1: [1, 3], x2: (0.5, 2.0)})
    assert rel.bounds == same.bounds
    assert "must be a (low, high) pair, not array([1, 2, 3])" in _problems(sp.Eq(y, x1), bounds={x1: np.array([1, 2, 3])})[0]

"""Implicit relations and systems: trained from the residual alone, certified against the solver."""

import numpy as np
import pytest
import sympy as sp

import surrogate as sg
from equations.implicit import colebrook, parallel_pipes

f, Re, eps = sp.symbols("f Re eps", positive=True)


@pytest.fixture(scope="module")
def colebrook_model():
    return sg.train(colebrook, max_steps=1500, seed=0, progress=False)


def test_colebrook_learns_from_the_residual_alone(colebrook_model):
    cert = sg.verify(colebrook_model, points=20_000, steps=0)
    assert cert.error.startswith("|y_hat - y*| / |y*|")
    assert cert.max_error < 0.05 and cert.mean_error < 0.01
    assert cert.residual is not None and cert.residual["max"] >= cert.residual["mean"] > 0
    assert cert.unsolved == {} and cert.undefined_points == 0
    # the reported worst point is a real solve: its reference satisfies Colebrook
    w = cert.worst
    r = 1 / np.sqrt(w["f_reference"]) + 2 * np.log10(w["eps"] / 3.7 + 2.51 / (w["Re"] * np.sqrt(w["f_reference"])))
    assert abs(r) < 1e-9


def test_untrained_implicit_model_gets_a_large_error():
    model = sg.train(colebrook, max_steps=3, progress=False)
    assert sg.verify(model, points=4096, steps=0).max_error > 0.1


def test_output_range_missing_the_root_is_reported_with_points(colebrook_model):
    narrow = sg.Relation(colebrook.equations[0], bounds=colebrook.bounds, outputs={f: (0.01, 0.1)}, name="narrow")
    cert = sg.verify(colebrook_model, narrow, points=4096, steps=0)
    assert cert.unsolved["counts"]["no_root"] > 0
    ex = cert.unsolved["examples"][0]
    assert ex["status"] == "no_root" and set(ex) >= {"Re", "eps"}
    assert "no root" in str(cert) and cert.undefined_points == cert.unsolved["counts"]["no_root"]


def test_implicit_needs_output_ranges():
    with pytest.raises(sg.RelationError, match="outputs=\\{f: \\(low, high\\)\\}"):
        sg.Relation(colebrook.equations[0], bounds=colebrook.bounds)
    with pytest.raises(sg.RelationError, match="log scale asked for output f"):
        sg.Relation(colebrook.equations[0], bounds=colebrook.bounds, outputs={f: (-1, 0.1)}, scales={f: "log"})
    with pytest.raises(sg.RelationError, match="as many equations as outputs"):
        g = sp.Symbol("g", positive=True)
        sg.Relation(sp.Eq(f * g, Re), bounds={Re: (1, 2)}, outputs={f: (1, 2), g: (1, 2)})


@pytest.mark.slow  # 300 steps of a four-equation system: ~13 s on two cores
def test_a_system_trains_and_round_trips(tmp_path):
    """The bound: this budget and check at seeds 0, 1, 2 (chosen before the runs) gave certified
    max 0.170, 0.182, 0.200 and mean 0.027, 0.035, 0.035; the test asks for 1.5x the worst of
    those. (The README's 0.0035 is for 240-280 s of training, not 300 steps.)"""
    model = sg.train(parallel_pipes, max_steps=300, seed=0, progress=False)
    cert = sg.verify(model, points=2048, steps=0)
    assert set(cert.per_output) == set(parallel_pipes.outputs)
    assert cert.max_error < 0.3 and cert.mean_error < 0.053, cert
    model.certificate = cert
    model.save(tmp_path / "pipes.surrogate")
    same = sg.load(tmp_path / "pipes.surrogate")
    x = parallel_pipes.domain.sobol(64).numpy()
    np.testing.assert_array_equal(model.evaluate(x), same.evaluate(x))
    assert same.relation.output_ranges == parallel_pipes.output_ranges


def test_an_implicit_head_reaches_past_its_range_only_where_the_residual_allows():
    from surrogate.model.scaling import IMPLICIT_BOUND, choose_heads

    zeta, Bi = sp.symbols("zeta Bi", positive=True)

    def bound(rel):
        p = rel.domain.sobol(1024, seed=0).numpy()
        (head,) = choose_heads(rel, {n: p[:, j] for j, n in enumerate(rel.inputs)})
        return head["bound"]

    # tan's pole at pi/2 lies just past the declared range: the head stops at the range
    wall = sg.Relation(sp.Eq(zeta * sp.tan(zeta), Bi), bounds={Bi: (0.01, 100)}, outputs={zeta: (0.05, 1.57)})
    assert bound(wall) == 1.0
    # declared well inside (0, pi/2): widened by a half (log scale) it still ends at 1.12
    inner = sg.Relation(sp.Eq(zeta * sp.tan(zeta), Bi), bounds={Bi: (0.01, 0.3)}, outputs={zeta: (0.05, 0.6)})
    assert bound(inner) == IMPLICIT_BOUND
    assert bound(colebrook) == IMPLICIT_BOUND

"""The proven certificate (surrogate/prove.py): soundness tests that can fail.

- the proven bound over random sub-boxes is never below the error at thousands of points
  drawn inside them (log, signed-log and linear heads; edge, group and dependent-bound
  charts; two and three inputs);
- the interval enclosures contain the network's and the formula's values and their
  finite-difference slopes (a forward difference is a mean of the derivative over a
  segment inside the box, so it lies in any enclosure of the derivative);
- a planted spike narrower than the sample's spacing is missed by the sample and caught
  by the proof;
- what cannot be proven is refused with the reason.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

import surrogate as sg
from surrogate.checking.prove import _Bounder, _errors_at, prove
from surrogate.checking.score import point_errors
from surrogate.declaration.compile import compile_expr
from surrogate.declaration.metric import resolve_atol
from surrogate.errors import SurrogateError
from surrogate.model.network import MLP
from surrogate.model.records import Certificate, Proof
from surrogate.model.scaling import choose_features, choose_heads, features
from surrogate.model.surrogate import Surrogate

x1, x2, x3, x4, y = sp.symbols("x1 x2 x3 x4 y")

TRIG = sg.Relation(sp.Eq(y, 2 + sp.sin(x1) * sp.cos(x2) + sp.tan(x2 / 4)), bounds={x1: (0, 6), x2: (-3, 3)},
                   name="trig")
SIGNED = sg.Relation(sp.Eq(y, x1**2 - x2), bounds={x1: (1, 2), x2: (0.5, 3)}, name="signed")
LINEAR = sg.Relation(sp.Eq(y, x1 * x2), bounds={x1: (-1, 1), x2: (1, 2)}, name="linear")


NO_TIME_LIMIT = 3600.0  # seconds: never reached where a test gives a budget in boxes


def _train(rel, steps=150, **kw):
    return sg.train(rel, max_steps=steps, seed=0, progress=False, **kw)


@pytest.fixture(scope="module")
def models():
    from equations.convection import hausen_laminar_entry, sieder_tate
    from equations.external import churchill_bernstein, ranz_marshall
    from equations.implicit import colebrook

    return {
        # log head, edge feature in a dependent bound, group features
        "churchill_bernstein": _train(churchill_bernstein),
        # log head, a zero bound of a linearly scaled input (edge), sqrt at 0
        "ranz_marshall": _train(ranz_marshall),
        "signed": _train(SIGNED),  # signed-log head
        "linear": _train(LINEAR, atol=1e-2),  # linear head, atol where the scale vanishes
        "sieder_tate": _train(sieder_tate, steps=60),  # three inputs
        "hausen": _train(hausen_laminar_entry, steps=60),  # three inputs, sums and quotients of monomials
        "trig": _train(TRIG, steps=100),  # sin, cos and tan: crests, troughs and poles
        "colebrook": _train(colebrook, steps=150),  # implicit: the interval Newton step, a bounded head
    }


def _bounder(model):
    return _Bounder(model, model.relation, resolve_atol(model.relation, model.info.get("atol")))


def _random_boxes(rng, d, n):
    c = rng.random((n, d))
    w = 10 ** rng.uniform(-3.5, -0.5, (n, d))
    return np.clip(c - w, 0, 1), np.clip(c + w, 0, 1)


@pytest.mark.parametrize("name", ["churchill_bernstein", "ranz_marshall", "signed", "linear", "sieder_tate",
                                  "hausen", "trig", "colebrook"])
def test_bound_is_never_below_the_error_inside_random_sub_boxes(models, name):
    model = models[name]
    b = _bounder(model)
    rng = np.random.default_rng(1)
    d = model.relation.domain.dim
    lo, hi = _random_boxes(rng, d, 24)
    lo[0], hi[0] = 0.0, 1.0 / 64  # a box on a corner (and in the edge slab where there is one)
    ub, _, _ = b.bound(lo, hi)
    finite = 0
    for i in range(len(lo)):
        u = lo[i] + (hi[i] - lo[i]) * rng.random((2000, d))
        corners = lo[i] + (hi[i] - lo[i]) * ((np.arange(2**d)[:, None] >> np.arange(d)) & 1)
        e = _errors_at(model, b, np.concatenate([u, corners]), b.atol)
        assert e.max() <= ub[i], (name, lo[i], hi[i], e.max(), ub[i])
        finite += bool(np.isfinite(ub[i]))
    assert finite >= len(lo) // 2  # the bounds are mostly informative, not a vacuous inf


@pytest.mark.parametrize("name", ["churchill_bernstein", "signed", "linear", "hausen", "trig"])
def test_enclosures_contain_values_and_finite_difference_slopes(models, name):
    model = models[name]
    rel = model.relation
    b = _bounder(model)
    rng = np.random.default_rng(2)
    d = rel.domain.dim
    lo, hi = _random_boxes(rng, d, 12)
    (net_box, targets, _), _ = b.enclose(lo, hi)
    N, NG, NH = net_box["N"], net_box["G"], net_box["H"]
    net = model.module.net.double()
    fns = [compile_expr(t, "numpy") for t in b.targets]
    checked = np.zeros(2, dtype=int)  # points whose first / second differences were compared
    try:
        for i in range(len(lo)):
            u = lo[i] + (hi[i] - lo[i]) * rng.random((64, d)) * 0.999
            h = 1e-3 * (hi[i] - lo[i])

            def at(uu):
                x = b.points(uu)
                with torch.no_grad():
                    f = features(torch.from_numpy(x), model.module.feature_specs, rel)
                    ch = net(f).numpy()
                cols = {n: x[:, j] for j, n in enumerate(rel.inputs)}
                t = np.stack([np.broadcast_to(fn(cols), (len(x),)) for fn in fns], 1)
                return ch, t

            def moves(uu, step):
                """Where a step of u moves the input by more than float64 resolves (in an edge
                slab 1e-17 wide a step changes no digit of x: a difference there says nothing)."""
                x, x2 = b.points(uu), b.points(uu + step)
                return np.any(np.abs(x2 - x) > 1e-9 * np.abs(x), axis=1)

            ch, t = at(u)
            tol_v = 1e-12 * (1 + np.abs(ch))
            assert np.all(ch >= N.lo[i] - tol_v) and np.all(ch <= N.hi[i] + tol_v)
            for j, tj in enumerate(targets):
                tv = 1e-12 * (1 + np.abs(t[:, j]))
                assert np.all(t[:, j] >= tj.v.lo[i] - tv) and np.all(t[:, j] <= tj.v.hi[i] + tv)
            for k in range(d):
                step = np.zeros(d)
                step[k] = h[k]
                ch2, t2 = at(u + step)
                # rounding of the difference quotient: a few ulps of the values over the step
                ok = moves(u, step)
                checked[0] += ok.sum()
                slope = (ch2 - ch)[ok] / h[k]
                tol = 1e-13 * (1 + np.abs(ch).max()) / h[k]
                assert np.all(slope >= NG.lo[i, :, k] - tol) and np.all(slope <= NG.hi[i, :, k] + tol), (i, k)
                ts = (t2 - t)[ok] / h[k]
                for j, tj in enumerate(targets):
                    tol = 1e-13 * (1 + np.abs(t[:, j]).max()) / h[k]
                    assert np.all(ts[:, j] >= tj.g.lo[i, k] - tol) and np.all(ts[:, j] <= tj.g.hi[i, k] + tol)
            # second differences over a square (or a segment of 2 H) inside the box are means of the
            # second derivatives over it, so they lie in any enclosure of the Hessian
            H2 = 0.2 * (hi[i] - lo[i])
            u2 = lo[i] + (hi[i] - lo[i]) * rng.random((64, d)) * 0.55
            ch0, t0 = at(u2)
            for k in range(d):
                for m in range(k, d):
                    ek, em = np.eye(d)[k] * H2[k], np.eye(d)[m] * H2[m]
                    (c_km, t_km), (c_k, t_k), (c_m, t_m) = at(u2 + ek + em), at(u2 + ek), at(u2 + em)
                    scale = H2[k] * H2[m]
                    ok = moves(u2, ek) & moves(u2, em) & moves(u2 + ek, em)
                    checked[1] += ok.sum()
                    c_km, c_k, c_m, c_0 = (a[ok] for a in (c_km, c_k, c_m, ch0))
                    t_km, t_k, t_m, t_0 = (a[ok] for a in (t_km, t_k, t_m, t0))
                    d2 = (c_km - c_k - c_m + c_0) / scale
                    tol = 1e-13 * (1 + np.abs(ch0).max()) / scale
                    assert np.all(d2 >= NH.lo[i, :, k, m] - tol) and np.all(d2 <= NH.hi[i, :, k, m] + tol), (i, k, m)
                    t2d = (t_km - t_k - t_m + t_0) / scale
                    for j, tj in enumerate(targets):
                        tol = 1e-13 * (1 + np.abs(t0[:, j]).max()) / scale
                        assert np.all(t2d[:, j] >= tj.H.lo[i, k, m] - tol), (i, j, k, m)
                        assert np.all(t2d[:, j] <= tj.H.hi[i, k, m] + tol), (i, j, k, m)
    finally:
        net.float()
    # most of the sampled points were compared (a box in an edge slab is the exception)
    assert checked[0] >= 0.7 * 12 * 64 * d and checked[1] >= 0.7 * 12 * 64 * d * (d + 1) // 2, checked


def _exact_dittus(width=3):
    """A depth-1 surrogate of Dittus-Boelter whose skip path is the formula exactly (log Nu
    is linear in the log features) and whose hidden units are silent."""
    from equations.convection import dittus_boelter_heating as rel

    sample = {n: c for n, c in zip(rel.inputs, rel.domain.sobol(1024).numpy().T)}
    feats = choose_features(rel)
    assert [f["kind"] for f in feats] == ["log", "log"]
    heads = choose_heads(rel, sample)
    net = MLP(len(feats), 1, width=width, depth=1).double()
    x = np.stack([sample[n] for n in rel.inputs], 1)
    f = features(x, feats, rel)
    h = heads[0]
    target = (np.log(np.asarray(rel.compiled("expression", "Nu", "numpy")(sample))) - h["a"]) / h["b"]
    coef, *_ = np.linalg.lstsq(np.concatenate([f, np.ones((len(f), 1))], 1), target, rcond=None)
    with torch.no_grad():
        net.skip.weight.copy_(torch.from_numpy(coef[:2][None]))
        net.last.bias.fill_(float(coef[2]))
        net.last.weight.zero_()
        net.hidden[0].weight.zero_()
        net.hidden[0].bias.fill_(-50.0)  # silu(-50) ~ 1e-20: silent
    return rel, Surrogate(rel, feats, heads, net)


def test_a_planted_spike_is_missed_by_the_sample_and_caught_by_the_proof():
    rel, model = _exact_dittus()
    points = 4096
    u = torch.quasirandom.SobolEngine(2, scramble=True, seed=0).draw(points, dtype=torch.float64).numpy()
    s = np.sort(u[:, 0])
    gap = int(np.argmax(np.diff(s)))
    c = 0.5 * (s[gap] + s[gap + 1])  # the middle of the widest gap in Re of the sample
    K, height = 2e6, 0.01  # a bump silu(z+1) - 2 silu(z) + silu(z-1) of half-width ~ 4/K in the feature
    with torch.no_grad():
        first = model.module.net.hidden[0]
        first.weight.zero_()
        first.weight[:, 0] = K
        first.bias.copy_(torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64) - K * (2 * c - 1))
        model.module.net.last.weight.copy_(torch.tensor([[height, -2 * height, height]], dtype=torch.float64))
    x_spike = rel.domain.chart(np.array([[c, 0.5]]))
    spike, _ = point_errors(model, x_spike)
    assert spike[0, 0] > 1e-3  # the spike is there
    cert = sg.verify(model, points=points, search=False)
    assert cert.max_error < 1e-3 * spike[0, 0]  # and the sample does not see it
    # a box budget (it ran 272k boxes in its former 5 s without reaching 2x): load cannot change the answer
    proof = prove(model, within=2.0, time_limit=NO_TIME_LIMIT, max_boxes=50_000)
    assert proof.bound >= spike[0, 0]
    assert proof.proven or proof.lower < spike[0, 0] <= proof.bound


def test_an_exact_model_is_proven_to_float64_rounding():
    _, model = _exact_dittus()
    proof = prove(model, within=2.0, time_limit=NO_TIME_LIMIT, max_boxes=2_000)  # 16 boxes when written
    # the network is the formula exactly: what is left is rounding and the stated margins
    assert proof.bound < 1e-12
    assert proof.lower <= proof.bound


def test_prove_end_to_end_within_target_and_above_a_brute_force_sample():
    from equations.pipe_flow import haaland

    model = _train(haaland, steps=200)
    model.certificate = sg.verify(model, points=16384)
    # a budget in boxes, so load cannot change the answer: 980 boxes proved it when written
    proof = prove(model, within=2.0, time_limit=NO_TIME_LIMIT, max_boxes=20_000)
    assert proof.proven and proof.status == "proven"
    assert proof.lower <= proof.bound <= 2.0 * proof.lower
    assert proof.bound >= model.certificate.max_error
    x = haaland.domain.chart(np.random.default_rng(3).random((200_000, 2)))
    err, ok = point_errors(model, x)
    assert ok.all() and err.max() <= proof.bound
    # attached to the certificate, printed beside the sampled figures, kept by save and load
    assert model.certificate.proof == proof.to_dict()
    text = str(model.certificate)
    assert "proven max <=" in text and "max        " in text


def test_an_anytime_answer_when_time_runs_out(models):
    model = models["sieder_tate"]
    # the budget in boxes, so that the answer does not depend on the load (within=1.0 is never reached)
    proof = prove(model, within=1.0, time_limit=NO_TIME_LIMIT, max_boxes=2_000)
    assert proof.status == "box_limit" and not proof.proven and proof.boxes >= 2_000
    assert proof.lower <= proof.bound < math.inf
    assert "box count ran out" in proof.limit and "formula" in proof.limit
    assert "NOT within" in str(proof)


def test_proof_survives_save_and_load_and_old_certificates_load(models, tmp_path):
    model = models["signed"]
    model.certificate = sg.verify(model, points=4096, search=False)
    proof = prove(model, time_limit=NO_TIME_LIMIT, max_boxes=5_000)  # 60 boxes when written
    path = tmp_path / "m.surrogate"
    model.save(path)
    back = sg.load(path)
    assert Proof.from_dict(back.certificate.proof) == proof
    old = back.certificate.to_dict()
    del old["proof"]
    assert Certificate.from_dict(old).proof is None
    # the report page shows it beside the sampled figures
    pytest.importorskip("matplotlib")
    from surrogate.interface.report import write_report

    page = write_report(path, tmp_path / "report", format="md", points=256).read_text()
    assert "proven bound (all points)" in page and f"{proof.bound:.4g}" in page


def test_cli_verify_prove(models, tmp_path, capsys):
    from surrogate.interface.cli import main

    path = tmp_path / "m.surrogate"
    models["signed"].save(path)
    assert main(["verify", str(path), "--points", "4096", "--prove", "--prove-time", "20"]) == 0
    out = capsys.readouterr().out
    assert "proven max <=" in out and "found max" in out


def _bare(rel, activation="silu"):
    sample = {n: c for n, c in zip(rel.inputs, rel.domain.sobol(256).numpy().T)}
    feats, heads = choose_features(rel), choose_heads(rel, sample)
    return Surrogate(rel, feats, heads, MLP(len(feats), sum(len(h["channels"]) for h in heads), width=4, depth=1,
                                            activation=activation))


def test_what_cannot_be_proven_is_refused_with_the_reason():
    from equations.implicit import parallel_pipes

    with pytest.raises(SurrogateError, match="implicit relations of up to 3 equations in as many outputs.*4 equations in 4 outputs"):
        prove(_bare(parallel_pipes))
    four = sg.Relation(sp.Eq(y, x1 + x2 + x3 + x4), bounds={s: (1, 2) for s in (x1, x2, x3, x4)})
    with pytest.raises(SurrogateError, match="at most 3 inputs"):
        prove(_bare(four))
    with pytest.raises(SurrogateError, match="activations silu, tanh.*'gelu'"):
        prove(_bare(SIGNED, activation="gelu"))
    with pytest.raises(SurrogateError, match="scale vanishes.*atol is 0.*atol="):
        prove(_bare(LINEAR), atol=0.0)
    with pytest.raises(ValueError, match="within must be at least 1"):
        prove(_bare(SIGNED), within=0.5)
    with pytest.raises(SurrogateError, match="single-network Surrogate"):
        prove(object())
    with pytest.raises(ValueError, match="floor must be a non-negative"):
        prove(_bare(SIGNED), floor=-1.0)


def test_a_piecewise_surrogate_is_proven_piece_by_piece():
    """Each piece's network over its own box: the bound holds at dense points of every
    piece (on both sides of the switch, where one network could not follow the jump)."""
    steps = sg.Relation(sp.Eq(y, sp.Piecewise((x1 * x2, x1 < 1), (2 * x1 + x2, True))),
                        bounds={x1: (0.5, 2), x2: (1, 2)}, name="steps")
    model = sg.train(steps, max_steps=150, seed=0, progress=False)
    assert hasattr(model, "pieces")
    model.certificate = sg.verify(model, points=4096)
    proof = prove(model, within=2.0, time_limit=NO_TIME_LIMIT, max_boxes=5_000)  # 40 boxes when written
    assert [p["piece"] for p in proof.pieces] == [1, 2]
    assert proof.bound == max(p["bound"] for p in proof.pieces) and proof.lower >= max(p["lower"] for p in proof.pieces)
    # the certificate's worst point, re-scored (to rounding: the pieces are evaluated on another path)
    assert proof.lower >= model.certificate.max_error * (1 - 1e-9)
    assert proof.boxes == sum(p["boxes"] for p in proof.pieces)
    rng = np.random.default_rng(5)
    x = np.stack([rng.uniform(0.5, 2, 200_000), rng.uniform(1, 2, 200_000)], 1)
    err, ok = point_errors(model, x, atol=proof.atol)
    assert ok.all() and err.max() <= proof.bound
    for k, p in enumerate(proof.pieces):  # each piece's bound holds over its own points
        mine = model.piece_of(x) == k
        assert err[mine].max() <= p["bound"]
    assert model.certificate.proof == proof.to_dict()  # attached
    assert "piece 1 (" in str(Proof.from_dict(proof.to_dict()))


def test_the_floor_stops_refining_float64_noise():
    _, model = _exact_dittus()
    proof = prove(model, within=2.0, time_limit=NO_TIME_LIMIT, max_boxes=2_000)  # 16 boxes when written
    assert proof.proven and proof.floor == 1e-12 and proof.bound <= 1e-12
    assert "float64's own noise" in str(proof)
    # without a floor the same model is refined towards 2x of an error of ~1e-16: not reached in
    # 4096 boxes (a budget in boxes, not seconds, so load cannot change the answer)
    strict = prove(model, within=2.0, time_limit=NO_TIME_LIMIT, max_boxes=4096, floor=0.0, attach=False)
    assert strict.status == "box_limit" and not strict.proven
    assert strict.bound <= 1e-12 and strict.boxes >= 4096 > proof.boxes


@pytest.mark.parametrize("name", ["silu", "tanh"])
def test_activation_enclosures_contain_dense_samples(name):
    from surrogate.checking.interval import ACTIVATIONS, Interval

    rng = np.random.default_rng(4)
    lo = rng.uniform(-6, 6, 400)
    hi = lo + 10 ** rng.uniform(-3, 1, 400)
    from surrogate.checking.interval import CURVATURES

    value, slope = ACTIVATIONS[name]
    v, s = value(Interval(lo, hi)), slope(Interval(lo, hi))
    c = CURVATURES[name](Interval(lo, hi))
    # the reference in x87 extended precision (NumPy longdouble), with accurate formulas
    z = lo[:, None].astype(np.longdouble) + (hi - lo)[:, None] * np.linspace(0, 1, 2001, dtype=np.longdouble)[None]
    if name == "silu":
        sg_ = 1 / (1 + np.exp(-z))
        f, g = z * sg_, sg_ * (1 + z * (1 - sg_))
        h = sg_ * (1 - sg_) * (2 + z * (1 - 2 * sg_))  # the textbook form, in extended precision
    else:
        f, g = np.tanh(z), 1 / np.cosh(z) ** 2
        h = -2 * np.tanh(z) * (1 - np.tanh(z) ** 2)
    assert np.all(f >= v.lo[:, None]) and np.all(f <= v.hi[:, None])
    assert np.all(g >= s.lo[:, None]) and np.all(g <= s.hi[:, None])
    assert np.all(h >= c.lo[:, None]) and np.all(h <= c.hi[:, None])
    assert np.all(c.hi - h.max(1) < 1e-5) and np.all(h.min(1) - c.lo < 1e-5)
    # and tight: the enclosure is the range, to what the grid (spacing <= 5e-3) misses of a
    # peak: |f''| (h/2)^2 / 2 <= 2 * 6.25e-6 / 2 for these functions and their derivatives
    assert np.all(v.hi - f.max(1) < 1e-5) and np.all(s.hi - g.max(1) < 1e-5)
    assert np.all(f.min(1) - v.lo < 1e-5) and np.all(g.min(1) - s.lo < 1e-5)


def test_cli_refuses_to_prove_before_verifying(tmp_path, capsys, monkeypatch):
    """What prove cannot take is said before verify's minutes, not after them."""
    import importlib

    from equations.implicit import parallel_pipes
    from surrogate.interface.cli import main

    verify_module = importlib.import_module("surrogate.checking.verify")

    path = tmp_path / "c.surrogate"
    _bare(parallel_pipes).save(path)

    def no_verify(*a, **k):
        raise AssertionError("verify ran before the refusal")

    monkeypatch.setattr(verify_module, "verify", no_verify)
    assert main(["verify", str(path), "--prove"]) != 0
    assert "up to 3 equations in as many outputs" in capsys.readouterr().err


def test_an_implicit_relation_is_proven_by_the_newton_step(models):
    """Colebrook from its residual alone: the bound is proven within 2x of the largest error
    found, and a dense sample of the solve's errors never exceeds it."""
    model = models["colebrook"]
    # a budget in boxes, so load cannot change the answer: 852 boxes proved it when written
    proof = prove(model, within=2.0, time_limit=NO_TIME_LIMIT, max_boxes=20_000, attach=False)
    assert proof.proven, proof
    rng = np.random.default_rng(6)
    u = rng.random((20_000, 2))
    x = model.relation.domain.clip(model.relation.domain.chart(u))
    err, ok = point_errors(model, x, atol=proof.atol)
    assert ok.mean() > 0.99 and err[ok].max() <= proof.bound

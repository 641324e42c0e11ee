"""The certificate is honest: large for an untrained model, at least the independent max for a trained one."""

import numpy as np
import pytest
import sympy as sp

import surrogate as sg
from equations.seeds import seed001

x1, x2, y = sp.symbols("x1 x2 y", positive=True)
EASY = sg.Relation(sp.Eq(y, x1 * x2 + x1), bounds={x1: (1, 2), x2: (0.5, 3)}, name="easy")


# easy_model: EASY trained 1500 steps at seed 0, shared with test_train (conftest.py)


def test_undertrained_model_gets_a_large_error():
    model = sg.train(seed001, max_steps=5, progress=False)
    cert = sg.verify(model, points=4096)
    assert cert.max_error > 0.5 and cert.mean_error > 0.05


def test_certificate_max_covers_an_independent_evaluation(easy_model):
    cert = sg.verify(easy_model, points=8192, seed=1)
    rng = np.random.default_rng(5)
    a, b = rng.uniform(1, 2, 200_000), rng.uniform(0.5, 3, 200_000)
    pred = easy_model(x1=a, x2=b)["y"]
    ref = a * b + a
    independent = np.max(np.abs(pred - ref) / (a * b + a))
    assert cert.max_error >= independent  # README: certificate / brute force = 1.00
    assert cert.max_error >= cert.dense_max_error >= cert.p99_error >= 0
    assert set(cert.worst) == {"x1", "x2", "y", "y_reference"}
    assert EASY.domain.contains(np.array([[cert.worst["x1"], cert.worst["x2"]]])).all()


def test_certificate_report_and_frame(easy_model):
    cert = sg.verify(easy_model, points=2048)
    frame = cert.to_frame()
    assert list(frame.columns) == ["max", "p99", "mean"] and list(frame.index) == ["y", "all"]
    text = str(cert)
    assert "max" in text and "worst at" in text and "2048 scrambled Sobol points" in text
    assert sg.Certificate.from_dict(cert.to_dict()) == cert


def test_the_certificate_divides_by_max_of_scale_and_atol():
    """verify honours atol: its dense max is max |z_hat - z| / max(S, atol) over its own sample,
    recomputed here from the model's predictions and z = x^2 + y^2 (whose scale S is z itself)."""
    from equations.seeds import paraboloid
    from surrogate.declaration.sampling import dense_points

    model = sg.train(paraboloid, max_steps=300, atol=1e-2, seed=0, progress=False)
    x, _ = dense_points(paraboloid, 4096, 0)  # the sample verify draws for seed 0
    pred = model(x=x[:, 0], y=x[:, 1])["z"]
    ref = x[:, 0] ** 2 + x[:, 1] ** 2
    maxima = {}
    for atol in (0.0, 1e-2):
        cert = sg.verify(model, points=4096, atol=atol, seed=0, search=False)
        expected = np.max(np.abs(pred - ref) / np.maximum(ref, atol))
        assert cert.atol == atol
        assert cert.max_error == pytest.approx(expected, rel=1e-9), atol
        maxima[atol] = cert.max_error
    # the sample reaches z << 1e-2 (the origin is an edge), where the floor changes the answer
    assert ref.min() < 1e-4
    assert maxima[0.0] != pytest.approx(maxima[1e-2], rel=1e-3)


def test_verify_rejects_a_mismatched_relation(easy_model):
    with pytest.raises(sg.SurrogateError, match="inputs"):
        sg.verify(easy_model, seed001, points=64)

"""The certificate's worst-case search finds errors that the dense sample only grazes."""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch
from torch import nn

import surrogate as sg

x1, x2, y = sp.symbols("x1 x2 y", positive=True)
#: 1 <= x2 <= x1: an edge at x2 -> x1; the term scale is x1 + x2
EDGE = sg.Relation(sp.Eq(y, x1 + x2), bounds={x1: (2, 100), x2: (1, x1)}, name="edge")


class _Bump(nn.Module):
    """y_hat = (x1 + x2) (1 + b): a term-scale error b that peaks at `peak` where the
    relative gap (x1 - x2) / (x1 - 1) is 10**depth and x1 = x1_peak."""

    def __init__(self, *, depth: float, width: float, x1_peak: float, x1_width: float, peak: float):
        super().__init__()
        self.depth, self.width, self.x1_peak, self.x1_width, self.peak = depth, width, x1_peak, x1_width, peak

    def bump(self, x):
        gap = ((x[:, 0] - x[:, 1]) / (x[:, 0] - 1)).clamp(min=1e-30)
        return self.peak * torch.exp(-(((torch.log10(gap) - self.depth) / self.width) ** 2)
                                     - ((x[:, 0] - self.x1_peak) / self.x1_width) ** 2)

    def forward(self, x):
        return ((x[:, 0] + x[:, 1]) * (1 + self.bump(x)))[:, None]


class _TwoBumps(nn.Module):
    def __init__(self, a: _Bump, b: _Bump):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return ((x[:, 0] + x[:, 1]) * (1 + self.a.bump(x) + self.b.bump(x)))[:, None]


class _Model:
    """Just enough of a Surrogate for `verify`: inputs, outputs, a torch module, evaluate."""

    def __init__(self, module):
        self.module, self.relation = module, EDGE
        self.inputs, self.outputs = EDGE.inputs, EDGE.outputs

    def evaluate(self, x):
        with torch.no_grad():
            return self.module(torch.from_numpy(np.asarray(x, np.float64))).numpy()


def test_the_search_climbs_a_narrow_peak_inside_an_edge_layer():
    # a peak a twentieth of a decade wide at a relative gap of 1e-11: in plain chart
    # coordinates the whole layer is narrower than one step of the search
    model = _Model(_Bump(depth=-11.0, width=0.05, x1_peak=2.0, x1_width=3.0, peak=0.5))
    cert = sg.verify(model, points=4096)
    assert cert.dense_max_error < 0.4
    assert cert.max_error > 0.499
    gap = (cert.worst["x1"] - cert.worst["x2"]) / (cert.worst["x1"] - 1)
    assert 10**-11.2 < gap < 10**-10.8 and cert.worst["x1"] < 3


def test_the_search_leaves_the_crowd_of_worst_points_for_a_higher_peak_elsewhere():
    # a broad peak that all of the worst dense points crowd into, and a higher, narrow
    # one in another orthant of the chart that the dense sample only grazes (~0.15):
    # climbing from the worst points alone ends on the broad peak's 0.3
    broad = _Bump(depth=-3.0, width=6.0, x1_peak=100.0, x1_width=60.0, peak=0.3)
    sharp = _Bump(depth=-8.0, width=0.02, x1_peak=2.0, x1_width=3.0, peak=0.6)
    cert = sg.verify(_Model(_TwoBumps(broad, sharp)), points=4096)
    assert cert.dense_max_error < 0.31
    assert cert.max_error > 0.59 and cert.worst["x1"] < 5


class _CornerSpike(nn.Module):
    """A broad peak (0.3) in the middle that the worst dense points crowd into, and a spike
    (0.6) a millionth of the range wide at the corner x1 = 100, x2 = 1."""

    def forward(self, x):
        broad = 0.3 * torch.exp(-(((x[:, 0] - 50) / 20) ** 2) - ((x[:, 1] - 20) / 10) ** 2)
        spike = 0.6 * torch.exp(-(((x[:, 0] - 100) / 1e-4) ** 2) - ((x[:, 1] - 1) / 1e-4) ** 2)
        return ((x[:, 0] + x[:, 1]) * (1 + broad + spike))[:, None]


def test_the_corners_of_the_chart_are_searched(monkeypatch):
    import sys

    verify_module = sys.modules["surrogate.declaration.sampling"]
    cert = sg.verify(_Model(_CornerSpike()), points=4096)
    assert cert.dense_max_error < 0.31
    assert cert.max_error > 0.59 and cert.worst["x1"] == 100 and cert.worst["x2"] == 1
    # and the test can fail: without the corners the search stays on the broad peak
    monkeypatch.setattr(verify_module, "MAX_CORNERS", 0)
    assert sg.verify(_Model(_CornerSpike()), points=4096).max_error < 0.31


def test_the_corners_lie_inside_the_domain():
    from surrogate.declaration.sampling import corner_points

    t = sp.Symbol("t", positive=True)
    rel = sg.Relation(sp.Eq(y, x1 * t), bounds={x1: (0.1, 10), t: (1e-3, x1)})  # log charts, a dependent bound
    c = corner_points(rel)
    assert len(c) == 2 * 3 and rel.domain.contains(c).all()

"""The special functions' two sides for compile.py's one function table: float64 NumPy from
scipy.special, and torch (differentiable) from torch.special or written out (LambertW by Halley's
iteration).  Split from compile.py for its size; compile.py is the only user."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np

__all__ = ["numpy_special", "torch_special"]


def _nonpositive_integer(x, xp):
    return (x <= 0) & (xp.floor(x) == x)


#: 1/e split into the float64 nearest to it and the remainder, so that x + 1/e is exact
#: enough near LambertW's branch point x = -1/e.
_INV_E_HI = 0.36787944117144233
_INV_E_LO = -1.2428753672788363e-17


@functools.cache
def numpy_special() -> SimpleNamespace:
    """The float64 NumPy side of the special functions, from scipy.special."""
    import scipy.special as sc

    def gamma(x):
        return np.where(_nonpositive_integer(x, np), np.nan, sc.gamma(x))

    def loggamma(x):  # SymPy's loggamma of a negative real is complex: NaN
        return np.where(x < 0, np.nan, sc.gammaln(x))

    def sinc(x):  # SymPy's sinc is sin(x)/x, not NumPy's normalised sin(pi x)/(pi x)
        safe = np.where(x == 0, 1.0, x)
        return np.where(x == 0, 1.0, np.sin(safe) / safe)

    def lambertw(x):
        x = np.asarray(x, dtype=np.float64)
        q = (x + _INV_E_HI) + _INV_E_LO  # x + 1/e
        w = sc.lambertw(np.where(q >= 0, x, 0.0), 0).real
        return np.where(q >= 0, w, np.nan)

    return SimpleNamespace(
        erf=sc.erf, erfc=sc.erfc, erfinv=sc.erfinv, gamma=gamma, loggamma=loggamma, sinc=sinc,
        lambertw=lambertw, heaviside=np.heaviside, mod=np.mod,
        j0=sc.j0, j1=sc.j1, y0=sc.y0, y1=sc.y1, i0=sc.i0, i1=sc.i1, k0=sc.k0, k1=sc.k1,
        polygamma=lambda n, x: sc.psi(x) if n == 0 else sc.polygamma(n, x),
    )


@functools.cache
def torch_special() -> SimpleNamespace:
    """The torch side of the special functions: torch.special, differentiable.

    torch's Bessel J, Y and K functions have no autograd (they silently drop the
    graph), so they are wrapped in autograd Functions whose backward uses the exact
    derivatives, written with the same Functions so that second derivatives work
    too.  LambertW runs Halley's iteration in the input's dtype and device.
    """
    import torch

    ts = torch.special

    def bessel(name: str, forward, derivative):
        def fwd(ctx, x):
            ctx.save_for_backward(x)
            return forward(x)

        def bwd(ctx, g):
            (x,) = ctx.saved_tensors
            return g * derivative(x)

        return type(name, (torch.autograd.Function,), {"forward": staticmethod(fwd), "backward": staticmethod(bwd)})

    def over_x(f, x, at_zero):
        """f(x)/x, with its limit `at_zero` at x = 0."""
        safe = torch.where(x == 0, torch.ones_like(x), x)
        return torch.where(x == 0, torch.full_like(x, at_zero), f / safe)

    J0 = bessel("J0", ts.bessel_j0, lambda x: -J1.apply(x))
    J1 = bessel("J1", ts.bessel_j1, lambda x: J0.apply(x) - over_x(J1.apply(x), x, 0.5))
    Y0 = bessel("Y0", ts.bessel_y0, lambda x: -Y1.apply(x))
    Y1 = bessel("Y1", ts.bessel_y1, lambda x: Y0.apply(x) - Y1.apply(x) / x)
    K0 = bessel("K0", ts.modified_bessel_k0, lambda x: -K1.apply(x))
    K1 = bessel("K1", ts.modified_bessel_k1, lambda x: -K0.apply(x) - K1.apply(x) / x)

    class LambertW(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            w = _lambertw_halley(x, torch)
            ctx.save_for_backward(w)
            return w

        @staticmethod
        def backward(ctx, g):
            (w,) = ctx.saved_tensors
            return g / (torch.exp(w) * (1 + w))  # dW/dx, finite at x = 0

    def gamma(x):
        # |Gamma| = exp(lgamma); the sign of Gamma(x) for x < 0 is (-1)^(floor(-x) + 1)
        odd = torch.remainder(torch.floor(-x), 2) == 0
        sign = torch.where((x < 0) & odd, -torch.ones_like(x), torch.ones_like(x))
        out = sign * torch.exp(torch.lgamma(x))
        return torch.where(_nonpositive_integer(x, torch), torch.full_like(x, math.nan), out)

    def loggamma(x):
        return torch.where(x < 0, torch.full_like(x, math.nan), ts.gammaln(x))

    def sinc(x):
        safe = torch.where(x == 0, torch.ones_like(x), x)
        return torch.where(x == 0, torch.ones_like(x), torch.sin(safe) / safe)

    def heaviside(x, h0):
        h = (x > 0).to(x.dtype) + (x == 0).to(x.dtype) * h0
        return torch.where(torch.isnan(x), x, h)

    return SimpleNamespace(
        erf=ts.erf, erfc=ts.erfc, erfinv=ts.erfinv, gamma=gamma, loggamma=loggamma, sinc=sinc,
        lambertw=LambertW.apply, heaviside=heaviside, mod=torch.remainder,
        j0=J0.apply, j1=J1.apply, y0=Y0.apply, y1=Y1.apply, i0=ts.i0, i1=ts.i1, k0=K0.apply, k1=K1.apply,
        polygamma=lambda n, x: ts.digamma(x) if n == 0 else ts.polygamma(n, x),
    )


#: Halley iterations of LambertW from the starting guesses below; 2 reach float64 rounding
#: over [-1/e, 1e300] (tests/test_functions.py), the rest are margin.
LAMBERTW_STEPS = 4


def _lambertw_halley(x, torch):
    """The principal branch W0(x), NaN below -1/e, in x's dtype and device (no host sync)."""
    e = math.e
    q = (x + _INV_E_HI) + _INV_E_LO  # x + 1/e, accurate near the branch point
    below = ~(q >= 0)  # and NaN
    big = x > e
    # Near the branch point: the series in p = sqrt(2 (e x + 1)); elsewhere Winitzki's
    # approximation; both within a few per cent, which Halley's cubic convergence removes.
    p = torch.sqrt(torch.clamp(2 * e * q, min=0))
    branch = -1 + p * (1 + p * (-1 / 3 + p * (11 / 72 + p * (-43 / 540 + p * (769 / 17280 - p * 221 / 8505)))))
    xs = torch.where(below, torch.zeros_like(x), x)
    lg = torch.log1p(torch.clamp(xs, min=-0.25))
    winitzki = lg * (1 - torch.log1p(lg) / (2 + lg))
    w = torch.where(x < -0.25, branch, winitzki)
    # Small and moderate x: Halley on f(w) = w exp(w) - x.
    xa = torch.where(big | below, torch.zeros_like(x), x)
    wa = torch.where(big | below, torch.zeros_like(x), w)
    for _ in range(LAMBERTW_STEPS):
        ew = torch.exp(wa)
        f = wa * ew - xa
        wp1 = wa + 1
        step = f / (ew * wp1 - (wa + 2) * f / (2 * wp1))
        wa = torch.where(torch.isfinite(step), wa - step, wa)
    # Large x: Halley on g(w) = w + log(w) - log(x), which cannot overflow.
    lx = torch.log(torch.where(big, x, torch.full_like(x, e)))
    wb = torch.where(big, torch.clamp(w, min=1.0), torch.ones_like(x))
    for _ in range(LAMBERTW_STEPS):
        g = wb + torch.log(wb) - lx
        d1 = 1 + 1 / wb
        wb = wb - g / (d1 + g / (2 * wb * wb * d1))
    out = torch.where(big, wb, wa)
    out = torch.where(torch.isinf(x) & (x > 0), x, out)
    return torch.where(below, torch.full_like(x, math.nan), out)

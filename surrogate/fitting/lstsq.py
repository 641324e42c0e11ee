"""Bounded nonlinear least squares for `fit`: a global Sobol search, then a batched local polish.

Seed 002 is why this module exists: in y = cos(a x1) + exp(b x2) with x1 ~ N(0, 500) the global
minimum in `a` sits in a basin about 0.004 wide, among hundreds of shallow local minima, so any
gradient method started at one guess ends in the wrong basin.  The search therefore

1. evaluates the loss at scrambled-Sobol points of the parameter box in one batched pass
   ([K, p] parameters against [1, N] inputs, chunked), in float32 because ranking needs no more
   (`_sobol`, `_Model.losses`);
2. keeps up to `polish` of the best points that lie in distinct basins (hill-valley test: when the
   loss never rises above the worse end along the segment between two points, they share a basin;
   `_distinct_basins`);
3. polishes those with a bounded Levenberg-Marquardt in float64, with forward-mode autograd
   Jacobians (the absolute and robust losses by iteratively reweighted least squares; `_polish`);
4. keeps the distinct minima (`_distinct`) and estimates standard errors, correlations and the
   parameters the data cannot identify from the Jacobian at the best (`_uncertainty`).

Everything here trusts its arguments: `surrogate.fit` validates the data and options first and
turns these numbers into a `FitResult`.  Only torch is needed; scipy is not a dependency.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from dataclasses import dataclass

import torch

GLOBAL_ROWS = 16_384  # rows the global stage looks at (a random subset); the polish uses every row
CHUNK_ELEMENTS = 1 << 22  # residual entries per batched evaluation, to bound memory (~32 MB)
LOG_SPAN = 100.0  # positive parameter bounds spanning two decades are searched log-uniformly
RANK_RTOL = 1e-8  # scaled singular values below this fraction of the largest: unseen directions
SAME_MINIMUM_RTOL = 1e-6  # of the bound width, per parameter
MAX_ITER = 200
# Polish stops when an accepted step gains less than FTOL of the loss or moves less than XTOL of the
# box.  At FTOL = 1e-10 the loss is within ~1e-9 of its minimum, i.e. the parameters are within
# ~sqrt(1e-9 n) standard errors of it: ~0.003 for n = 10^4 (the bias is negligible next to stderr).
FTOL = 1e-10
XTOL = 1e-10
STRETCH = (1.0, 3.0, 10.0, 30.0)  # multiples of each Marquardt step tried at once (see _polish)
_EPS = float(torch.finfo(torch.float64).eps)


# -- the residual model -------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    """Residuals and losses of a parameter batch [K, p] against the data; dtype and device of the data."""

    fns: tuple  # compiled torch function per fitted output
    names: tuple[str, ...]  # parameters in order
    inputs: dict[str, torch.Tensor]  # input name -> [1, N]
    target: torch.Tensor  # [1, m * N], the outputs stacked
    loss: str
    f_scale: float  # soft-L1 scale (robust loss only)
    residual_floor: float  # residuals this small are float64 rounding of the targets

    @property
    def rows(self) -> int:
        return self.target.shape[1] // len(self.fns)

    def view(self, rows: torch.Tensor | None = None, dtype: torch.dtype | None = None) -> _Model:
        """The same model on a subset of rows and/or in another dtype."""
        def take(t):
            if rows is not None:
                t = t.reshape(-1, self.rows)[:, rows].reshape(1, -1)
            return t.to(dtype) if dtype is not None else t
        return dataclasses.replace(self, inputs={k: take(v) for k, v in self.inputs.items()}, target=take(self.target))

    def with_scale(self, f_scale: float) -> _Model:
        return dataclasses.replace(self, f_scale=f_scale)

    def residuals(self, theta: torch.Tensor) -> torch.Tensor:
        """[K, m * N] predictions minus targets."""
        values = dict(self.inputs)
        for j, name in enumerate(self.names):
            values[name] = theta[:, j : j + 1]
        shape = (theta.shape[0], self.rows)
        out = [torch.broadcast_to(f(values), shape) for f in self.fns]
        return (out[0] if len(out) == 1 else torch.cat(out, 1)) - self.target

    @property
    def loss_floor(self) -> float:
        """The loss of residuals at rounding level: below it there is nothing left to fit."""
        return float(self.rho(torch.tensor(self.residual_floor, dtype=torch.float64)))

    def rho(self, r: torch.Tensor) -> torch.Tensor:
        if self.loss == "squared":
            return r * r
        if self.loss == "absolute":
            return r.abs()
        # soft-L1, 2 c^2 (sqrt(1 + (r/c)^2) - 1), written without cancellation for |r| << c (float32
        # would round it to 0) and without overflow for |r| >> c.
        c = self.f_scale
        return 2 * c * r * r / (c + torch.hypot(r, torch.full_like(r, c)))

    def weights(self, r: torch.Tensor) -> torch.Tensor:
        """IRLS weights w with d rho / d r = 2 w r, so every loss polishes as weighted least squares."""
        if self.loss == "squared":
            return torch.ones_like(r)
        if self.loss == "absolute":
            return 0.5 / r.abs().clamp_min(self.residual_floor)  # a zero residual must not weigh infinitely
        c = self.f_scale
        return c / torch.hypot(r, torch.full_like(r, c))

    def losses(self, theta: torch.Tensor) -> torch.Tensor:
        """Mean loss of each row of theta, computed in chunks; NaN becomes inf (never a winner)."""
        step = max(1, CHUNK_ELEMENTS // self.target.shape[1])
        out = torch.cat([self.rho(self.residuals(theta[s : s + step])).mean(1) for s in range(0, theta.shape[0], step)])
        return torch.nan_to_num(out, nan=math.inf)

    def jacobian(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Residuals [K, n] and their Jacobian [K, n, p], one forward-mode pass per parameter."""
        _load_forward_ad()
        cols, r = [], None
        for j in range(theta.shape[1]):
            tangent = torch.zeros_like(theta)
            tangent[:, j] = 1
            r, dr = torch.func.jvp(self.residuals, (theta,), (tangent,))
            cols.append(dr)
        return r, torch.stack(cols, -1)


def _load_forward_ad() -> None:
    """Import torch's forward-mode decompositions, hiding the DeprecationWarning torch raises there.

    torch >= 2.9 builds them with its own deprecated `torch.jit.script` on first use of forward AD;
    the warning is nothing a user can act on, and under ``-W error`` it would fail every fit.  Only
    that message is silenced, once.
    """
    name = "torch._decomp.decompositions_for_jvp"
    if name in sys.modules:
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated", category=DeprecationWarning)
        try:
            __import__(name)
        except ImportError:  # a torch without the module: forward AD loads what it needs itself
            pass


# -- global search --------------------------------------------------------------------------


def _global_view(model: _Model, seed: int) -> _Model:
    """The rows the global stage ranks on: all of them, or a seeded random subset of GLOBAL_ROWS."""
    if model.rows <= GLOBAL_ROWS:
        return model
    gen = torch.Generator().manual_seed(seed)
    return model.view(rows=torch.randperm(model.rows, generator=gen)[:GLOBAL_ROWS].to(model.target.device))


def _mad_scale(model: _Model, theta: torch.Tensor | None, floor: float) -> float:
    """1.4826 * median absolute deviation of the residuals at theta [1, p] (of the targets when theta
    is None): the noise level, estimated robustly; at least `floor`."""
    r = model.target[0] if theta is None else model.residuals(theta.to(model.target.dtype))[0]
    return max(1.4826 * float((r - r.median()).abs().median()), floor)


def _sobol(low: torch.Tensor, high: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """`count` scrambled-Sobol points of the box [low, high], log-spaced for wide positive ranges."""
    engine = torch.quasirandom.SobolEngine(low.numel(), scramble=True, seed=seed)
    u = engine.draw(count, dtype=torch.float64).to(low.device)
    wide = (low > 0) & (high >= LOG_SPAN * low)
    linear = low + (high - low) * u
    safe_lo, safe_hi = torch.where(wide, low, 1.0), torch.where(wide, high, 1.0)
    logged = torch.exp(torch.log(safe_lo) + (torch.log(safe_hi) - torch.log(safe_lo)) * u)
    return torch.where(wide, logged, linear).clamp(low, high)


def _distinct_basins(model: _Model, theta: torch.Tensor, scores: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of up to `count` of the best points, no two in one basin (hill-valley test).

    A point joins an already chosen (better) one when the loss at 1/4, 1/2 and 3/4 of the way
    between them never exceeds its own: a local search from it would only roll downhill there.
    Only the best 4 * count points are examined.
    """
    order = torch.argsort(scores)[: 4 * count]
    order = order[torch.isfinite(scores[order])]
    if order.numel() == 0:
        return torch.argsort(scores)[:1]  # nothing finite: polish the first point and let it report
    fractions = torch.tensor([0.25, 0.5, 0.75], dtype=theta.dtype, device=theta.device)[:, None, None]
    chosen: list[int] = []
    for i in order.tolist():
        if chosen:
            ends = theta[chosen]
            between = theta[i] + fractions * (ends - theta[i])  # [3, c, p]
            barrier = model.losses(between.reshape(-1, theta.shape[1]).to(model.target.dtype))
            if (barrier.reshape(3, -1) <= scores[i]).all(0).any():
                continue
        chosen.append(i)
        if len(chosen) == count:
            break
    return torch.tensor(chosen, device=theta.device)


# -- local polish ---------------------------------------------------------------------------


def _normal_equations(model: _Model, theta: torch.Tensor):
    """Loss [K], J^T W J / n [K, p, p] and J^T W r / n [K, p] at each row of theta (chunked over K)."""
    parts = []
    step = max(1, CHUNK_ELEMENTS // (model.target.shape[1] * theta.shape[1]))
    for s in range(0, theta.shape[0], step):
        r, jac = model.jacobian(theta[s : s + step])
        w = model.weights(r)
        wj = jac * w[..., None]
        n = r.shape[1]
        parts.append((model.rho(r).mean(1), wj.transpose(1, 2) @ jac / n, (wj * r[..., None]).sum(1) / n))
    return tuple(torch.cat(t) for t in zip(*parts))


def _solve(h: torch.Tensor, rhs: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
    """Solve h x = rhs per batch row with the non-free coordinates held at zero."""
    f = free.to(h.dtype)
    hf = h * f[:, :, None] * f[:, None, :] + torch.diag_embed(1 - f)
    x, info = torch.linalg.solve_ex(hf, (rhs * f)[..., None])
    x = x[..., 0] * f
    ok = (info == 0)[:, None] & torch.isfinite(x)
    return torch.where(ok, x, torch.zeros_like(x))


def _lm_step(a, g, lam, theta, low, high) -> torch.Tensor:
    """A Marquardt step (diag-scaled damping) that leaves the coordinates pinned at a bound alone."""
    d = torch.diagonal(a, dim1=1, dim2=2)
    d = d.clamp_min(1e-12 * d.amax(1, keepdim=True) + torch.finfo(a.dtype).tiny)
    h = a + lam[:, None, None] * torch.diag_embed(d)
    step = _solve(h, -g, torch.ones_like(theta, dtype=torch.bool))
    # A coordinate at a bound whose step points outward is active: re-solve for the others.
    pinned = ((theta <= low) & (step < 0)) | ((theta >= high) & (step > 0))
    if pinned.any():
        step = _solve(h, -g, ~pinned)
    return step


def _polish(model: _Model, theta0: torch.Tensor, low: torch.Tensor, high: torch.Tensor):
    """Bounded Levenberg-Marquardt from every row of theta0 at once, in float64.

    Returns (points [M, p], losses [M], converged [M] bool).  Each iteration tries the Marquardt
    step scaled by STRETCH and keeps the best: in a large-residual basin (a wrong basin of seed 002)
    J^T J overstates the curvature and plain steps crawl (200 iterations instead of 15).  A run stops
    when an accepted step gains less than FTOL of the loss or moves less than XTOL of the box, when
    the residuals reach rounding level, or when no step however short lowers the loss (a numerical
    minimum); it is marked unconverged only when it runs out of MAX_ITER iterations.
    """
    theta = theta0.to(torch.float64).clone()
    width = high - low
    m, p = theta.shape
    stretch = torch.tensor(STRETCH, dtype=theta.dtype, device=theta.device)[None, :, None]
    phi, a, g = _normal_equations(model, theta)
    lam = torch.full((m,), 1e-3, dtype=theta.dtype, device=theta.device)
    nu = torch.full_like(lam, 2.0)
    floor = model.loss_floor
    done = phi <= floor
    converged = done.clone()
    for _ in range(MAX_ITER):
        idx = torch.nonzero(~done).flatten()
        if idx.numel() == 0:
            break
        step = _lm_step(a[idx], g[idx], lam[idx], theta[idx], low, high)
        trials = (theta[idx, None, :] + stretch * step[:, None, :]).clamp(low, high)  # [k, T, p]
        scores = model.losses(trials.reshape(-1, p)).reshape(idx.numel(), -1)
        phi_t, pick = scores.min(1)
        trial = trials[torch.arange(idx.numel(), device=theta.device), pick]
        better = phi_t < phi[idx]
        acc, rej = idx[better], idx[~better]
        if acc.numel():
            gain = phi[acc] - phi_t[better]
            moved = ((trial[better] - theta[acc]).abs() / width).amax(1)
            close = (lam[acc] <= 1) & ((gain <= FTOL * phi[acc]) | (moved <= XTOL))
            theta[acc] = trial[better]
            phi[acc], a[acc], g[acc] = _normal_equations(model, theta[acc])
            lam[acc], nu[acc] = (lam[acc] / 3).clamp_min(1e-12), 2.0
            stop = close | (phi[acc] <= floor)
            converged[acc] |= stop
            done[acc] |= stop
        if rej.numel():
            # Nielsen's schedule: damping grows faster with every consecutive rejection.
            lam[rej], nu[rej] = lam[rej] * nu[rej], nu[rej] * 2
            stuck = rej[lam[rej] > 1e12]  # even a tiny gradient step does not help: a numerical minimum
            converged[stuck] = True
            done[stuck] = True
    return theta, phi, converged


# -- distinct minima and their uncertainty -----------------------------------------------


def _distinct(points: torch.Tensor, losses: torch.Tensor, width: torch.Tensor) -> list[int]:
    """Indices of the distinct minima, best first (closer than SAME_MINIMUM_RTOL of the box: one)."""
    kept: list[int] = []
    for i in torch.argsort(losses).tolist():
        if all(((points[i] - points[k]).abs() / width).amax() > SAME_MINIMUM_RTOL for k in kept):
            kept.append(i)
    return kept


def _uncertainty(jac: torch.Tensor, r: torch.Tensor):
    """stderr [p], correlation [p, p], condition number and the non-identifiable parameter indices.

    The SVD of the column-scaled Jacobian finds directions the data do not constrain (scaled singular
    value below RANK_RTOL of the largest); parameters with a weight over 1% in such a direction get
    stderr inf and NaN correlations.  The others use the pseudo-inverse, which is exact for them.
    """
    n, p = jac.shape
    s2 = float(r @ r) / (n - p)
    norms = jac.norm(dim=0)
    scaled = jac / torch.where(norms > 0, norms, 1.0)
    _, sv, vh = torch.linalg.svd(scaled, full_matrices=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    flat = sv <= RANK_RTOL * sv[0]
    blind = (norms == 0) | (vh[flat].abs() > 0.01).any(0)
    inv = torch.where(flat, 0.0, 1 / sv.clamp_min(torch.finfo(sv.dtype).tiny) ** 2)
    cov = (vh.T * inv) @ vh / torch.outer(torch.where(norms > 0, norms, 1.0), torch.where(norms > 0, norms, 1.0)) * s2
    se = torch.sqrt(torch.diagonal(cov).clamp_min(0))
    corr = cov / torch.outer(se, se)
    se = torch.where(blind, math.inf, se)
    corr = torch.where(blind[:, None] | blind[None, :], math.nan, corr)
    corr.fill_diagonal_(1.0)
    return se.cpu().numpy(), corr.cpu().numpy(), cond, torch.nonzero(blind).flatten().tolist()

"""Levenberg-Marquardt in float64 (issue 13).

A small float64 network (depth 2, width 24, the package's features, heads and skip
path) trained by Gauss-Newton steps with Marquardt's adaptive damping.  The residual
of a point is the certificate's own error, to first order: where the head is a log
head, (|y| / max(S, atol)) * (log|y_hat| - log|y|), else (y_hat - y) / max(S, atol);
so minimising the sum of squares pushes on exactly what is certified.  For an
implicit relation it is the Newton estimate of the relative output error (J^-1 r,
J held through a step), what validation and verify measure.

Each step: the Jacobian of the residuals with respect to the parameters on a batch
of `points_per_param` x parameters points (the chain rule written out for the MLP),
J^T J, and (J^T J + lam diag(J^T J) + mu I) d = -J^T r solved by Cholesky; accepted
when the batch's sum of squares falls (lam /= 3), else lam *= 4 and re-solved with
the same Jacobian.  The batch is redrawn every `resample` steps (fresh points are
free).  LM's failure mode is a bad local minimum; Adam steps on the same network
first (`warm_steps`) avoid the ones measured.  The loop, validation and budget are
loop.py's, shared with Adam; this module is the stepper.
"""

from __future__ import annotations

import math
import time

import torch
from torch.func import functional_call, jacrev, vmap

from ..model.network import MLP
from ..model.scaling import features, heads, links
from ..model.surrogate import Surrogate
from .adam import AdamStepper
from .config import LMSettings
from .objective import ExplicitObjective, _full
from .start import lsq_start, seeded_model

__all__ = ["LMStepper", "lm_parameters", "lm_stepper", "use_lm"]


def lm_parameters(n_in: int, n_out: int, s: LMSettings | None = None, skip: bool = True) -> int:
    """Parameters of the LM network (`s`: LMSettings(), the default): its step costs O(batch x params^2)."""
    s = s or LMSettings()
    n = n_in * s.width + s.width + (s.depth - 1) * (s.width * s.width + s.width) + s.width * n_out + n_out
    return n + (n_in * n_out if skip else 0)


def _problem(model: Surrogate, objective, x: torch.Tensor) -> _Problem:
    """The LM problem of one batch, of the objective's kind."""
    return (_ExplicitProblem if isinstance(objective, ExplicitObjective) else _ImplicitProblem)(model, objective, x)


class _Problem:
    """The residuals of one batch as a function of the flat parameter vector; each kind of
    relation gives `residuals_from_channels`."""

    def __init__(self, model: Surrogate, objective, x: torch.Tensor):
        self.model, self.objective = model, objective
        net = model.module.net
        self.names = [n for n, _ in net.named_parameters()]
        self.shapes = [p.shape for _, p in net.named_parameters()]
        self.sizes = [p.numel() for _, p in net.named_parameters()]
        cols = objective._columns(x)
        self.cols = cols
        self.f = features(x, model.module.feature_specs, model.relation).double()
        specs = model.module.head_specs
        self.out_index = [model.relation.outputs.index(h["output"]) for h in specs]

    def params(self, theta: torch.Tensor) -> dict:
        out, i = {}, 0
        for n, shape, k in zip(self.names, self.shapes, self.sizes):
            out[n] = theta[i : i + k].view(shape)
            i += k
        return out

    def residuals(self, theta: torch.Tensor) -> torch.Tensor:
        ch = functional_call(self.model.module.net, self.params(theta), (self.f,))
        return self.residuals_from_channels(ch).reshape(-1)

    def jacobian(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(J [N*m, P], r [N*m]) at theta."""
        net = self.model.module.net
        p = self.params(theta)

        def one(params, f):
            return functional_call(net, params, (f[None],))[0]

        ch = functional_call(net, p, (self.f,)).detach().requires_grad_(True)
        self.newton = None  # an implicit relation's Newton weights: set anew at each Jacobian (else unused)
        r = self.residuals_from_channels(ch)  # [N, m]
        n, m = r.shape
        grads = []
        for k in range(m):  # each point's residuals depend on its own channels only
            (g,) = torch.autograd.grad(r[:, k].sum(), ch, retain_graph=k + 1 < m)
            grads.append(g)
        gch = torch.stack(grads, 1)  # [N, m, c]: d r / d channels
        if net.config["activation"] in _DERIVATIVES:
            jac = _mlp_jacobian(net, p, self.f, gch)
        else:  # per-sample reverse mode, vmapped (~6x slower than the hand-written chain rule)
            jd = vmap(jacrev(one), in_dims=(None, 0))(p, self.f)  # name -> [N, c, *shape]
            jch = torch.cat([jd[k].reshape(n, jd[k].shape[1], -1) for k in self.names], 2)  # [N, c, P]
            jac = torch.einsum("nmc,ncp->nmp", gch, jch)
        jac = jac.reshape(n * m, -1)
        r = r.detach().reshape(-1)
        bad = ~(torch.isfinite(r) & torch.isfinite(jac).all(1))
        if bad.any():  # a point the network cannot evaluate carries no weight in this step
            r = torch.where(bad, torch.zeros_like(r), r)
            jac = torch.where(bad[:, None], torch.zeros_like(jac), jac)
        return jac, r


class _ExplicitProblem(_Problem):
    """A point's residual is its certificate error to first order: in the head's log space
    where the head is a log head and |y| > 0, else (y_hat - y) / max(S, atol)."""

    def __init__(self, model: Surrogate, objective, x: torch.Tensor):
        super().__init__(model, objective, x)
        n = len(x)
        dummy = torch.zeros(n, len(model.relation.outputs), dtype=torch.float64, device=x.device)
        y, s, ok = objective._references(self.cols, dummy)
        self.y, self.s, self.ok = y, s.clamp(min=objective.atol) if objective.atol else s, ok
        # log heads: the residual in log space where |y| > 0
        self.logy = []
        for h, o in zip(model.module.head_specs, self.out_index):
            ay = self.y[:, o].abs()
            live = (ay > 0) & ok
            self.logy.append((live, torch.where(live, ay, torch.ones_like(ay)).log(), ay) if h["kind"] == "log" else None)

    def residuals_from_channels(self, ch: torch.Tensor) -> torch.Tensor:
        """[N, m] residuals from the channels [N, c]."""
        specs = self.model.module.head_specs
        pred = heads(ch, specs)
        lk = links(ch, specs)
        cols = []
        for o, lg, link in zip(self.out_index, self.logy, lk):
            plain = (pred[:, len(cols)] - self.y[:, o]) / self.s[:, o]
            if lg is not None:
                live, logy, ay = lg
                plain = torch.where(live, (ay / self.s[:, o]) * (link[0] - logy), plain)
            cols.append(torch.where(self.ok, plain, torch.zeros_like(plain)))
        return torch.stack(cols, 1)


class _ImplicitProblem(_Problem):
    """A point's residual is the Newton estimate of its relative output error."""

    def __init__(self, model: Surrogate, objective, x: torch.Tensor):
        super().__init__(model, objective, x)
        self.newton = self.fallback = None  # the Newton weights, set at each Jacobian

    def residuals_from_channels(self, ch: torch.Tensor) -> torch.Tensor:
        """[N, k] residuals of an implicit relation: the Newton estimate of the relative
        output errors, J^-1 r with J_ij = y_j dr_i/dy_j taken at the step's starting
        prediction and held for the step (Objective._newton_errors, the measure verify
        and validation use), or r / S at points where J cannot be solved."""
        pred = heads(ch, self.model.module.head_specs)
        env = dict(self.cols)
        env.update({o: pred[:, j] for j, o in enumerate(self.model.relation.outputs)})
        r = torch.stack([_full(f(env), pred[:, 0]) for f in self.objective.residuals], 1)
        if self.newton is None:  # the step's weights, from its starting prediction
            obj = self.objective
            inv = obj._newton_inverse(env, pred)
            scale = torch.stack([_full(f({k: v.detach() for k, v in env.items()}), pred[:, 0])
                                 for f in obj.residual_scales], 1)
            self.newton = inv.detach()
            self.fallback = scale.detach()
        fine = torch.isfinite(self.newton).all(2).all(1)
        inv = torch.where(fine[:, None, None], self.newton, torch.zeros_like(self.newton))
        newton = (inv @ r.unsqueeze(2)).squeeze(2)
        return torch.where(fine[:, None], newton, r / self.fallback)


class LMStepper:
    """Levenberg-Marquardt steps on `model`'s flat parameter vector; the loop (loop.py) drives it.

    The batch (`points_per_param` x parameters points, the 2^d corners of the chart among them
    where `LMSettings.uses_corners`) is redrawn every `resample` steps, which is also when the loop validates."""

    method = "lm"

    def __init__(self, model: Surrogate, objective, gen, dev, s: LMSettings, *, edge_fraction: float,
                 boundary_fraction: float, corners: torch.Tensor):
        self.model, self.objective, self.gen, self.dev, self.s = model, objective, gen, dev, s
        self.fractions = (edge_fraction, boundary_fraction)
        self.corners = corners
        self.net = model.module.net
        self.theta = torch.nn.utils.parameters_to_vector(self.net.parameters()).detach().clone()
        self.batch = s.points_per_param * self.theta.numel()
        self.lam = s.lam0
        self.check_every = s.resample
        self.prob = None

    def step(self, step: int, frac: float) -> None:
        s = self.s
        if step % s.resample == 0:  # a fresh batch (fresh points are free)
            x = self.objective.draw(self.batch - len(self.corners), self.gen, self.dev, *self.fractions)
            x = torch.cat([x, self.corners])
            self.prob = _problem(self.model, self.objective, x)
        theta, prob = self.theta, self.prob
        jac, r = prob.jacobian(theta)
        a = jac.T @ jac
        g = jac.T @ r
        loss = float(r @ r)
        d = a.diagonal()
        eye = torch.eye(len(theta), dtype=a.dtype, device=a.device) * (s.mu * float(d.mean()) + 1e-300)
        for _ in range(12):  # raise the damping until a step lowers the batch's sum of squares
            chol, info = torch.linalg.cholesky_ex(a + self.lam * torch.diag(d) + eye)
            if int(info) == 0:
                delta = -torch.cholesky_solve(g[:, None], chol)[:, 0]
                with torch.no_grad():
                    new = prob.residuals(theta + delta)
                new_loss = float(new @ new)
                if math.isfinite(new_loss) and new_loss < loss:
                    self.theta = theta + delta
                    self.lam = max(self.lam / 3, 1e-12)
                    break
            self.lam = min(self.lam * 4, 1e12)

    def sync(self) -> None:
        """Before a validation: the parameter vector written into the network."""
        torch.nn.utils.vector_to_parameters(self.theta, self.net.parameters())

    def info(self) -> dict:
        return {"lm": {**self.s.__dict__, "parameters": self.theta.numel()}}


def lm_stepper(relation, objective, feature_specs, head_specs, *, seed: int, attempt: int, gen, dev, cfg,
               deadline: float | None) -> LMStepper:
    """A fresh float64 LM network started by least squares and `warm_steps` Adam steps (a
    global fit for LM to refine; against a time limit at most until `deadline`, so that under
    load the warm start does not eat the budget; a step budget keeps every step, reproducibly)."""
    s = cfg.lm
    model = seeded_model(relation, feature_specs, head_specs, seed=seed, attempt=attempt, width=s.width,
                         depth=s.depth, activation=s.activation, skip=cfg.skip, device=dev, dtype=torch.float64)
    if cfg.lsq_start and cfg.skip:
        lsq_start(model, objective, gen, dev, cfg)
    if s.warm_steps:
        warm = AdamStepper(model, objective, gen, dev, batch=512, lr=s.warm_lr, decay=0.01,
                           edge_fraction=cfg.edge_fraction, boundary_fraction=cfg.boundary_fraction, fused=False)
        for k in range(s.warm_steps):
            if deadline is not None and time.perf_counter() > deadline:
                break
            warm.step(k, k / s.warm_steps)
    d = relation.domain.dim
    u = torch.tensor([[(i >> k) & 1 for k in range(d)] for i in range(2**d)], dtype=torch.float64)
    corners = relation.domain.chart(u).to(dev) if s.uses_corners(d) else u[:0].to(dev)
    return LMStepper(model, objective, gen, dev, s, edge_fraction=cfg.edge_fraction,
                     boundary_fraction=cfg.boundary_fraction, corners=corners)


def use_lm(relation, cfg, n_features: int, channels: int, dev, max_steps=None, time_limit=None) -> bool:
    """cfg.method, with "auto" resolved to LM for a relation (explicit or implicit) of at
    most `AUTO_INPUTS` inputs whose LM network has at most `AUTO_PARAMETERS` parameters,
    trained on the CPU against a time limit (docs/architecture.md has the measurements).
    A budget of `max_steps` alone keeps Adam: one LM step costs about as much as a
    hundred Adam steps, so the two step counts do not compare.  CUDA keeps Adam: LM has
    never run on a GPU, and it reads the batch's loss back at every step."""
    if cfg.method != "auto":
        return cfg.method == "lm"
    s = cfg.lm
    return (dev.type == "cpu" and (time_limit is not None or max_steps is None)
            and len(relation.inputs) <= AUTO_INPUTS
            and lm_parameters(n_features, channels, s, cfg.skip) <= AUTO_PARAMETERS)


AUTO_INPUTS = 8
AUTO_PARAMETERS = 1000


_DERIVATIVES = {
    "tanh": lambda z: 1 - torch.tanh(z) ** 2,
    "silu": lambda z: torch.sigmoid(z) * (1 + z * (1 - torch.sigmoid(z))),
}


def _mlp_jacobian(net: MLP, p: dict, f: torch.Tensor, gch: torch.Tensor) -> torch.Tensor:
    """d (gch . channels) / d parameters, [N, m, P] in named_parameters order, by the
    chain rule written out for network.MLP (Linear, activation)* -> last (+ skip)."""
    n, m, c = gch.shape
    names = [k for k, _ in net.named_parameters()]
    act = _DERIVATIVES[net.config["activation"]]
    linear = [k[: -len(".weight")] for k in names if k.startswith("hidden.") and k.endswith(".weight")]
    hs, zs = [f], []
    for lay in linear:
        z = hs[-1] @ p[lay + ".weight"].T + p[lay + ".bias"]
        zs.append(z)
        hs.append(net.hidden[int(lay.split(".")[1]) + 1](z))
    out = {
        "last.weight": gch[:, :, :, None] * hs[-1][:, None, None, :],  # [N, m, c, w]
        "last.bias": gch,
    }
    if "skip.weight" in p:
        out["skip.weight"] = gch[:, :, :, None] * f[:, None, None, :]
    delta = (gch @ p["last.weight"]) * act(zs[-1])[:, None, :]  # [N, m, w]
    for i in range(len(linear) - 1, -1, -1):
        out[linear[i] + ".weight"] = delta[:, :, :, None] * hs[i][:, None, None, :]
        out[linear[i] + ".bias"] = delta
        if i:
            delta = (delta @ p[linear[i] + ".weight"]) * act(zs[i - 1])[:, None, :]
    return torch.cat([out[k].reshape(n, m, -1) for k in names], 2)

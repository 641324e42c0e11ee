"""The seed threads' own code, reproduced, plus an evaluator that does not depend on `surrogate`.

Everything here is written by hand from the threads in ``seeds/`` so that benchmarks can compare the
package against what the users actually ran.  Where a thread leaves something out, the gap is filled with
the most likely reading and a comment says so.  All torch code runs on the CPU in float32 (as the threads
did); the references, samplers and error statistics are float64 NumPy.

Thread count is the caller's choice: nothing here calls ``torch.set_num_threads``.  The reproductions seed
torch's global generator (``torch.manual_seed``) because ``nn.Linear`` draws its initial weights from it.

Run ``python bench/seed_code.py`` for a quick sanity table (``--help`` for budgets).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import ReduceLROnPlateau

__all__ = [
    "BOUNDS_000", "BOUNDS_001", "reference_000", "reference_001", "sample_000", "sample_001",
    "error_stats", "seed000_asker", "seed000_answer", "seed001_asker", "seed001_answer",
    "seed002_data", "seed002_sgd", "seed002_adam",
]

# ----------------------------------------------------------------------------------------------------------
# Reference formulas (float64) and their term scales S = sum |terms|
# ----------------------------------------------------------------------------------------------------------

_NAMES_001 = ("x1", "x2", "x3", "x4", "x5")
BOUNDS_000 = {"x": (0.0, 1.0), "y": (0.0, 1.0)}
# Bounds as the text of seed 001 states them; "x1" marks the dependent upper bound of x2.
BOUNDS_001 = {"x1": (500.0, 1000.0), "x2": (1.0, "x1"), "x3": (1000.0, 50000.0),
              "x4": (1e-6, 1e-3), "x5": (1.0, 10000.0)}


def reference_000(p):
    """Seed 000: returns (z, S) with z = x**2 + y**2 and S = x**2 + y**2."""
    x, y = np.asarray(p["x"], np.float64), np.asarray(p["y"], np.float64)
    t1, t2 = x**2, y**2
    return t1 + t2, np.abs(t1) + np.abs(t2)


def reference_001(p):
    """Seed 001: returns (y, S) with y = x5/x2 - (x1-x2)/(2*x3*x4)*x2/x1 and S = sum of |terms|."""
    x1, x2, x3, x4, x5 = (np.asarray(p[k], np.float64) for k in ("x1", "x2", "x3", "x4", "x5"))
    t1 = x5 / x2
    t2 = (x1 - x2) / (2 * x3 * x4) * x2 / x1
    return t1 - t2, np.abs(t1) + np.abs(t2)


# ----------------------------------------------------------------------------------------------------------
# Evaluation samplers
# ----------------------------------------------------------------------------------------------------------

def _loguniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def sample_000(n, rng, kind="uniform"):
    """Points for seed 000.

    uniform: x, y ~ U(0, 1) (the thread's np.random.random).  loguniform: x, y log-uniform in [1e-6, 1];
    the domain reaches zero, so a floor is needed, and 1e-6 probes the origin where S = x**2 + y**2 -> 0.
    """
    if kind == "uniform":
        return {"x": rng.random(n), "y": rng.random(n)}
    if kind == "loguniform":
        return {"x": _loguniform(rng, 1e-6, 1.0, n), "y": _loguniform(rng, 1e-6, 1.0, n)}
    raise ValueError(f"unknown kind {kind!r}")


def sample_001(n, rng, kind="uniform"):
    """Points for seed 001 on the bounds the text states (not the asker's get_batch ranges).

    uniform: each input uniform within its bounds, x2 ~ U(1, x1).  loguniform: every input log-uniform
    within its bounds; x2 log-uniform in [1, x1] for half the points, and for the other half the gap
    x1 - x2 log-uniform in [1e-6*(x1-1), x1-1], because the thin layer x2 -> x1 is where errors hide.
    asker: the asker's get_batch distribution (see _seed001_get_batch), to separate "did not learn" from
    "was never shown the text's domain".
    """
    if kind == "asker":
        return dict(zip(_NAMES_001, _seed001_get_batch_np(rng, n).T))
    if kind == "uniform":
        x1 = rng.uniform(500.0, 1000.0, n)
        x2 = 1.0 + (x1 - 1.0) * rng.random(n)
        x3 = rng.uniform(1000.0, 50000.0, n)
        x4 = rng.uniform(1e-6, 1e-3, n)
        x5 = rng.uniform(1.0, 10000.0, n)
    elif kind == "loguniform":
        x1 = _loguniform(rng, 500.0, 1000.0, n)
        x2 = np.exp(np.log(x1) * rng.random(n))
        gap_half = rng.permutation(n) < n // 2
        span = x1 - 1.0
        gap = np.exp(rng.uniform(np.log(1e-6 * span), np.log(span), n))
        x2 = np.where(gap_half, x1 - gap, x2)
        x3 = _loguniform(rng, 1000.0, 50000.0, n)
        x4 = _loguniform(rng, 1e-6, 1e-3, n)
        x5 = _loguniform(rng, 1.0, 10000.0, n)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return {"x1": x1, "x2": x2, "x3": x3, "x4": x4, "x5": x5}


# ----------------------------------------------------------------------------------------------------------
# Error statistics
# ----------------------------------------------------------------------------------------------------------

def error_stats(pred, ref, scale, atol=0.0):
    """dict(max, p99, mean) of |pred - ref| / max(scale, atol).

    A non-finite prediction (a diverged model) counts as an infinite error rather than being skipped.
    """
    pred, ref, scale = (np.asarray(a, np.float64) for a in (pred, ref, scale))
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(pred - ref) / np.maximum(scale, atol)
    err = np.where(np.isfinite(err), err, np.inf)
    return {"max": float(np.max(err)), "p99": float(np.percentile(err, 99)), "mean": float(np.mean(err))}


# ----------------------------------------------------------------------------------------------------------
# Shared helpers
# ----------------------------------------------------------------------------------------------------------

def _predictor(model, names, steps):
    """Wrap a trained float32 network as predict(dict of arrays) -> float64 array."""
    model.eval()

    def predict(p):
        x = np.stack([np.asarray(p[k], np.float64) for k in names], axis=1)
        out = []
        with torch.no_grad():
            for chunk in np.array_split(x, max(1, len(x) // 65536 + 1)):
                out.append(model(torch.from_numpy(chunk).float()).reshape(len(chunk)).double().numpy())
        return np.concatenate(out)

    predict.inputs = list(names)
    predict.steps = steps  # optimiser steps actually taken (time_limit may cut the run short)
    return predict


def _scheduler_step(scheduler, loss_tensor):
    """lr_scheduler.step(output) as the thread calls it, on the loss tensor itself (torch warns that it
    converts a tensor requiring grad to a float; the value is the same)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
        scheduler.step(loss_tensor)


def _out_of_time(t0, time_limit):
    return time_limit is not None and time.process_time() - t0 >= time_limit


# ----------------------------------------------------------------------------------------------------------
# Seed 000: z = x**2 + y**2
# ----------------------------------------------------------------------------------------------------------

class _NonLinearRegression(nn.Module):
    """The thread's 2-h1-h2-1 ReLU network (asker: 10, 5; answer: 25, 10)."""

    def __init__(self, h1, h2):
        super().__init__()
        self.linear_1 = nn.Linear(2, h1)
        self.act_1 = nn.ReLU()
        self.linear_2 = nn.Linear(h1, h2)
        self.act_2 = nn.ReLU()
        self.linear_3 = nn.Linear(h2, 1)

    def forward(self, y):
        return self.linear_3(self.act_2(self.linear_2(self.act_1(self.linear_1(y)))))


def _seed000_data(seed):
    """1000 random points and the thread's 85/15 train_test_split(random_state=42, shuffle=True)."""
    rng = np.random.default_rng(seed)  # the thread's np.random.random is unseeded
    x = rng.random(1000)
    y = rng.random(1000)
    z = x**2 + y**2
    input_data = torch.Tensor(np.transpose([x, y]))  # float32, as torch.Tensor(...) gives
    output_data = torch.Tensor(z)
    # sklearn's ShuffleSplit does exactly this: permute with RandomState(random_state), the first
    # ceil(0.15*n) indices are the test set, the next n_train the training set (sklearn is not installed).
    perm = np.random.RandomState(42).permutation(1000)
    n_test = 150
    train, test = perm[n_test:], perm[:n_test]
    return input_data[train], input_data[test], output_data[train], output_data[test]


def seed000_asker(seed=0, epochs=20000, time_limit=None):
    """The asker's code with its bugs. Returns (predict, cpu_seconds).

    Bugs kept: no optimizer.zero_grad() (gradients accumulate over epochs), SGD lr=1e-6, full-batch, and
    MSELoss(reduction='sum') on y_pred [N, 1] against target [N], which broadcasts to an [N, N] matrix
    of every prediction against every target (torch only warns).
    """
    torch.manual_seed(seed)
    t0 = time.process_time()
    input_training, _, output_training, _ = _seed000_data(seed)
    model_nonlinear = _NonLinearRegression(10, 5)
    optimizer = torch.optim.SGD(model_nonlinear.parameters(), lr=1e-6)
    criterion = nn.MSELoss(reduction="sum")
    steps = 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using a target size")
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")  # float(loss)
        for epoch in range(epochs):
            if _out_of_time(t0, time_limit):
                break
            total_loss = 0
            model_nonlinear.train()
            y_pred = model_nonlinear(input_training)
            loss = criterion(y_pred, output_training)  # [850,1] vs [850] -> [850,850]
            loss.backward()
            total_loss += float(loss)
            if total_loss < 0.001:
                break
            optimizer.step()
            steps += 1
    seconds = time.process_time() - t0
    return _predictor(model_nonlinear, ("x", "y"), steps), seconds


def seed000_answer(seed=0, epochs=2500, time_limit=None):
    """The accepted answer's fix. Returns (predict, cpu_seconds).

    zero_grad, Adam at its default lr=1e-3 (the "# changed optimizer" line is cut from the thread; the text
    says Adam with the default learning rate), minibatches of 64 drawn with replacement by torch.randint,
    a 2-25-10-1 ReLU net, MSELoss(reduction='sum') on y_pred.squeeze().  Same data and split as the asker.
    """
    torch.manual_seed(seed)
    t0 = time.process_time()
    input_training, _, output_training, _ = _seed000_data(seed)
    model_nonlinear = _NonLinearRegression(25, 10)
    optimizer = torch.optim.Adam(model_nonlinear.parameters())
    criterion = nn.MSELoss(reduction="sum")
    steps = 0
    for epoch in range(epochs):
        if _out_of_time(t0, time_limit):
            break
        ix = torch.randint(0, input_training.shape[0], size=(64,))
        y_pred = model_nonlinear(input_training[ix])
        loss = criterion(y_pred.squeeze(), output_training[ix])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    seconds = time.process_time() - t0
    return _predictor(model_nonlinear, ("x", "y"), steps), seconds


# ----------------------------------------------------------------------------------------------------------
# Seed 001: y = x5/x2 - (x1-x2)/(2*x3*x4)*x2/x1
# ----------------------------------------------------------------------------------------------------------

# Default step counts give about 60 s of CPU time (process_time, both threads counted) with 2 torch threads:
# measured 2.1 ms/step for the asker's net and 3.3 ms/step for the answer's at batch 1000 (1.3 and 1.5 ms
# with 1 thread).  The thread's own n_epochs = 50000 would be ~105 s.  Pass time_limit to cap by CPU time.
SEED001_ASKER_STEPS = 28_000
SEED001_ANSWER_STEPS = 18_000


def _seed001_get_batch_np(rng, batch_size):
    """The asker's get_batch, vectorised (same distributions; float64 array, made float32 for training).

    As written in the thread it differs from the text's bounds: x3 ~ U(1, 10000) and x5 ~ randint(1000,
    50000) have their ranges swapped, x5 is an integer, and x2 ~ U(1, x1 - 1).  Models are trained on this,
    as the asker did; evaluation always uses the text's bounds (sample_001).  The thread's get_batch also
    forgets `return`; returning the batch as a tensor is the only reading under which its loop runs.
    A Python loop of random.uniform calls would only burn budget, so it is vectorised.
    """
    x1 = rng.uniform(500, 1000, batch_size)
    x2 = 1 + (x1 - 2) * rng.random(batch_size)  # random.uniform(1, x_1 - 1)
    x3 = rng.uniform(1, 10000, batch_size)
    x4 = rng.uniform(1e-6, 0.001, batch_size)
    x5 = rng.integers(1000, 50000, batch_size).astype(np.float64)  # np.random.randint excludes 50000
    return np.stack([x1, x2, x3, x4, x5], axis=1)


def _seed001_get_batch(rng, batch_size):
    return torch.from_numpy(_seed001_get_batch_np(rng, batch_size)).float()


def _seed001_loss(y_est, batch_x, target):
    """The thread's normalised L1 loss: the residual divided by x5/x2, against zeros."""
    x_1, x_2, x_3, x_4, x_5 = batch_x.T
    return F.l1_loss((y_est + (x_1 - x_2) / (2 * x_3 * x_4) * x_2 / x_1 - x_5 / x_2) / (x_5 / x_2), target)


class _CustomNet(nn.Module):
    """The asker's CustomNet: log, stacked Linear layers with no activation between them, exp, fc1."""

    def __init__(self, n_input, n_output, n_hidden_neurons, n_hidden_layers):
        super().__init__()
        self.sequential_layers = nn.Sequential(
            *((nn.Linear(n_input, n_hidden_neurons),)
              + tuple(nn.Linear(n_hidden_neurons, n_hidden_neurons) for i in range(n_hidden_layers)))
        )
        self.fc1 = nn.Linear(n_hidden_neurons, n_output)

    def forward(self, x):
        x = torch.log(x)
        output = self.sequential_layers(x)
        output = torch.exp(output)
        output = self.fc1(output)
        return output


def seed001_asker(seed=0, steps=SEED001_ASKER_STEPS, time_limit=None, batch_size=1000):
    """The asker's code as written. Returns (predict, cpu_seconds).

    CustomNet(5, 1, 16, 1), batch 1000, ReduceLROnPlateau(factor=0.1, patience=1000) stepped on the batch
    loss, the normalised L1 loss, and no optimizer.zero_grad() (as written, so gradients accumulate).
    The optimizer line is missing from the thread; Adam with lr=0.01 is assumed from `lr, counter = 0.01, 0`.
    The scheduler's `verbose=True` is dropped (removed from recent torch; it only printed).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.process_time()
    nnet = _CustomNet(5, 1, 16, 1)
    lr, counter = 0.01, 0
    optimizer = torch.optim.Adam(nnet.parameters(), lr=lr)  # assumed, see docstring
    lr_scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=1000)
    target = torch.FloatTensor(np.zeros(batch_size)).contiguous()
    done = 0
    for i in range(steps):
        if _out_of_time(t0, time_limit):
            break
        batch_x = _seed001_get_batch(rng, batch_size)
        y_est = nnet(batch_x)
        y_est = y_est[:, 0]
        output = _seed001_loss(y_est, batch_x, target)
        loss = output.item()
        output.backward()
        optimizer.step()
        _scheduler_step(lr_scheduler, output)
        done += 1
    seconds = time.process_time() - t0
    return _predictor(nnet, _NAMES_001, done), seconds


def seed001_answer(seed=0, steps=SEED001_ANSWER_STEPS, time_limit=None, batch_size=1000, hidden=64, layers=3):
    """The answer's suggestion applied to the asker's loop. Returns (predict, cpu_seconds).

    ReLU between hidden layers, more of them (3 hidden layers of 64: 5-64-64-64-1), no log/exp, raw inputs.
    Same sampler, batch and loss as the asker; zero_grad added; Adam lr=1e-3.  The scheduler is kept as
    the asker had it (the answer did not touch it).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.process_time()
    mods, width = [], 5
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    nnet = nn.Sequential(*mods, nn.Linear(width, 1))
    optimizer = torch.optim.Adam(nnet.parameters(), lr=1e-3)
    lr_scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=1000)
    target = torch.zeros(batch_size)
    done = 0
    for i in range(steps):
        if _out_of_time(t0, time_limit):
            break
        batch_x = _seed001_get_batch(rng, batch_size)
        y_est = nnet(batch_x)[:, 0]
        output = _seed001_loss(y_est, batch_x, target)
        optimizer.zero_grad()
        output.backward()
        optimizer.step()
        _scheduler_step(lr_scheduler, output)
        done += 1
    seconds = time.process_time() - t0
    return _predictor(nnet, _NAMES_001, done), seconds


# ----------------------------------------------------------------------------------------------------------
# Seed 002: fit a, b in y = cos(a*x1) + exp(b*x2), true a = 0.583, b = 0.112
# ----------------------------------------------------------------------------------------------------------

SEED002_KINDS = ("U(0,10)", "N(0,5)", "N(0,500)")


def seed002_data(kind, n=10000, seed=0, noise=0.0):
    """(x1, x2, y) float64 arrays for seed 002.

    x1 ~ U(0,10) (Katherine's torch.rand(10000)*10), N(0,5) or N(0,500) (K. Frank's two illustrations);
    x2 ~ U(-1,1) (torch.rand(10000)*2-1 in the thread); y = cos(0.583*x1) + exp(0.112*x2) + N(0, noise**2).
    """
    rng = np.random.default_rng(seed)
    if kind == "U(0,10)":
        x1 = rng.random(n) * 10
    elif kind == "N(0,5)":
        x1 = rng.normal(0.0, 5.0, n)
    elif kind == "N(0,500)":
        x1 = rng.normal(0.0, 500.0, n)
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {SEED002_KINDS}")
    x2 = rng.random(n) * 2 - 1
    y = np.cos(0.583 * x1) + np.exp(0.112 * x2)
    if noise:
        y = y + noise * rng.standard_normal(n)
    return x1, x2, y


class _NN_test(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.7))
        self.b = torch.nn.Parameter(torch.tensor(0.02))

    def forward(self, x):
        return torch.cos(self.a * x[:, 0]) + torch.exp(self.b * x[:, 1])


def _seed002_train(x1, x2, y, seed, make_optimizer, epochs, batch_size):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.process_time()
    inp_all = torch.from_numpy(np.stack([x1, x2], axis=1)).float()  # dtt[0].float()
    out_all = torch.from_numpy(np.asarray(y)).float()
    model = _NN_test()
    optimizer = make_optimizer(model.parameters())
    loss = nn.MSELoss()
    for epoch in range(epochs):
        model.train()
        # The thread's DataLoader is not shown; shuffle=True, drop_last=False is assumed.
        for idx in torch.randperm(len(out_all), generator=gen).split(batch_size):
            optimizer.zero_grad()
            ls = loss(model(inp_all[idx]), out_all[idx])
            ls.backward()
            optimizer.step()
    seconds = time.process_time() - t0
    return float(model.a), float(model.b), seconds


def seed002_sgd(x1, x2, y, seed=0, epochs=30, batch_size=512, lr=1e-4):
    """The asker's loop: SGD lr=1e-4, MSE, batch 512 (stated in the thread), 30 epochs, from a=0.7, b=0.02.
    Returns (a, b, cpu_seconds)."""
    return _seed002_train(x1, x2, y, seed, lambda p: torch.optim.SGD(p, lr=lr), epochs, batch_size)


def seed002_adam(x1, x2, y, seed=0, epochs=30, batch_size=512, lr=1e-3):
    """Katherine's variant: the same loop with Adam at its default lr=1e-3. Returns (a, b, cpu_seconds)."""
    return _seed002_train(x1, x2, y, seed, lambda p: torch.optim.Adam(p, lr=lr), epochs, batch_size)


# ----------------------------------------------------------------------------------------------------------
# Sanity table
# ----------------------------------------------------------------------------------------------------------

def _main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description="Run the seeds' own code with small budgets and print errors.")
    ap.add_argument("--budget", type=float, default=5.0, help="CPU seconds per seed-001 reproduction")
    ap.add_argument("--epochs000", type=int, default=None,
                    help="cap on seed-000 epochs (default: the thread's 20000 / 2500, cut at --budget)")
    ap.add_argument("--points", type=int, default=10**5, help="evaluation points per sample kind")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: untouched)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    runs = [
        ("seed000_asker", seed000_asker, reference_000, sample_000,
         dict(epochs=args.epochs000 or 20000, time_limit=args.budget)),
        ("seed000_answer", seed000_answer, reference_000, sample_000,
         dict(epochs=args.epochs000 or 2500, time_limit=args.budget)),
        ("seed001_asker", seed001_asker, reference_001, sample_001, dict(time_limit=args.budget)),
        ("seed001_answer", seed001_answer, reference_001, sample_001, dict(time_limit=args.budget)),
    ]
    print(f"threads={torch.get_num_threads()} budget={args.budget}s CPU points={args.points} "
          f"(error = |pred-ref| / term scale S; kind 'asker' = the asker's training ranges)")
    print(f"{'reproduction':<15} {'steps':>7} {'cpu_s':>6} | {'kind':<10} {'max':>9} {'p99':>9} {'mean':>9}")
    zero = lambda p: np.zeros_like(np.asarray(p["x1"], np.float64))  # noqa: E731
    zero.steps = 0
    runs.append(("predict_zero", lambda seed, **kw: (zero, 0.0), reference_001, sample_001, {}))
    for name, fn, ref_fn, sampler, kw in runs:
        predict, secs = fn(args.seed, **kw)
        kinds = ("uniform", "loguniform") + (("asker",) if sampler is sample_001 else ())
        for kind in kinds:
            pts = sampler(args.points, np.random.default_rng(12345), kind)
            ref, scale = ref_fn(pts)
            st = error_stats(predict(pts), ref, scale)
            print(f"{name:<15} {predict.steps:>7} {secs:>6.1f} | {kind:<10} "
                  f"{st['max']:>9.3g} {st['p99']:>9.3g} {st['mean']:>9.3g}")

    print()
    print(f"{'seed002 x1':<10} {'optimizer':<6} {'a':>8} {'b':>8} {'cpu_s':>6}   (true a=0.583, b=0.112)")
    for kind in SEED002_KINDS:
        x1, x2, y = seed002_data(kind, seed=args.seed)
        for opt, fn in (("SGD", seed002_sgd), ("Adam", seed002_adam)):
            a, b, secs = fn(x1, x2, y, seed=args.seed)
            print(f"{kind:<10} {opt:<6} {a:>8.4f} {b:>8.4f} {secs:>6.2f}")


if __name__ == "__main__":
    _main()

"""Seed 002: find a and b in y = cos(a x1) + exp(b x2) from samples, with `surrogate.fit`.

The thread ("Applying gradient descent to a function using Pytorch") fits a = 0.583, b = 0.112 with
SGD or Adam from a = 0.7, b = 0.02.  That works when x1 ~ U(0, 10) or N(0, 5), where 0.7 lies in the
global minimum's basin, and fails for x1 ~ N(0, 500), where that basin is ~0.004 wide in `a` and
surrounded by shallow local minima.  `fit` searches the whole parameter box first (Sobol points,
one batched pass) and then polishes the best basins, so the spread of x1 does not matter.

Run:  python examples/seed_002_fit.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from equations.seeds import cosexp  # y = cos(a*x1) + exp(b*x2), a in (0, 2), b in (0, 1)
from surrogate.fitting.fit import fit

A_TRUE, B_TRUE = 0.583, 0.112


def thread_data(kind: str, n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """x1 as in the thread (U(0,10) from Katherine's code, N(0,5) / N(0,500) from K. Frank's plot)."""
    rng = np.random.default_rng(seed)
    x1 = {"U(0,10)": rng.random(n) * 10, "N(0,5)": rng.normal(0, 5, n), "N(0,500)": rng.normal(0, 500, n)}[kind]
    x2 = rng.random(n) * 2 - 1
    return pd.DataFrame({"x1": x1, "x2": x2, "y": np.cos(A_TRUE * x1) + np.exp(B_TRUE * x2)})


def thread_adam(data: pd.DataFrame, epochs: int = 30, batch: int = 512, seed: int = 0) -> tuple[float, float]:
    """The thread's loop with Katherine's fix: Adam (lr 1e-3), MSE, batches of 512, from a=0.7, b=0.02."""
    torch.manual_seed(seed)
    x = torch.tensor(data[["x1", "x2"]].to_numpy(), dtype=torch.float32)
    y = torch.tensor(data["y"].to_numpy(), dtype=torch.float32)
    a = torch.nn.Parameter(torch.tensor(0.7))
    b = torch.nn.Parameter(torch.tensor(0.02))
    optimizer = torch.optim.Adam([a, b], lr=1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(y)).split(batch):
            optimizer.zero_grad()
            pred = torch.cos(a * x[idx, 0]) + torch.exp(b * x[idx, 1])
            torch.nn.functional.mse_loss(pred, y[idx]).backward()
            optimizer.step()
    return float(a.detach()), float(b.detach())


def main() -> None:
    print(f"truth: a = {A_TRUE}, b = {B_TRUE}\n")
    print(f"{'x1':<9} {'method':<12} {'a':>12} {'b':>12} {'seconds':>8}")
    for kind in ("U(0,10)", "N(0,5)", "N(0,500)"):
        data = thread_data(kind)
        t0 = time.perf_counter()
        result = fit(cosexp, data)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        a, b = thread_adam(data)
        t_adam = time.perf_counter() - t0
        print(f"{kind:<9} {'surrogate':<12} {result.values['a']:>12.8f} {result.values['b']:>12.8f} {t_fit:>8.2f}")
        print(f"{'':<9} {'Adam (0.7)':<12} {a:>12.8f} {b:>12.8f} {t_adam:>8.2f}")

    print("\nThe full report for the hard case, x1 ~ N(0, 500), with noise sigma = 0.05:\n")
    noisy = thread_data("N(0,500)", seed=1)
    noisy["y"] += 0.05 * np.random.default_rng(2).standard_normal(len(noisy))
    print(fit(cosexp, noisy))


if __name__ == "__main__":
    main()

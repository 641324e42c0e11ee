"""Benchmark: Colebrook's friction factor by explicit approximation, by Newton, and by a surrogate.

All rows are scored on the same points: `--points` (default 10^6) scrambled-Sobol points of
`equations.implicit.colebrook`'s domain drawn with `colebrook.domain.sobol` (its chart is
logarithmic in both inputs, so the points are log-uniform in Re over 4e3..1e8 and in the
relative roughness eps over 1e-6..5e-2).  The reference f is `surrogate.solve` (bracket scan,
then safeguarded Newton to a relative step of 1e-13); its residual is checked to sit at
rounding level.  Rows:

- Haaland (1983)       1/sqrt(f) = -1.8 log10((eps/3.7)^1.11 + 6.9/Re)
- Swamee-Jain (1976)   f = 0.25 / log10(eps/3.7 + 5.74/Re^0.9)^2
- surrogate.solve      the generic vectorised solver (Colebrook's residual is proven monotone in f:
                       a 6-point scan + Newton), NumPy float64
- hand Newton          Colebrook-specific Newton in x = 1/sqrt(f) from the Swamee-Jain value,
                       three fixed iterations: what a solver written for this one equation costs
- surrogate            a trained `Surrogate` (`--model PATH` or `--train SECONDS`), evaluated on
                       the CPU with `model.evaluate` (float32 weights evaluated in float64)

Errors are |f - f_ref| / f_ref: max and mean over the points.  Throughput is points per second
of the best of `--repeats` timed runs after one warm-up, on the CPU, with `--threads` threads
(torch and BLAS; the NumPy rows are single-threaded anyway).  A second table times
`surrogate.solve` on the parallel-pipes system (4 equations), for scale.

No asserts: this prints tables.  Run:
    python bench/implicit.py [--points 1000000] [--model colebrook.surrogate | --train 120]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from equations.implicit import colebrook, parallel_pipes  # noqa: E402
from surrogate.declaration.solve import solve  # noqa: E402


def haaland(re: np.ndarray, eps: np.ndarray) -> np.ndarray:
    return (-1.8 * np.log10((eps / 3.7) ** 1.11 + 6.9 / re)) ** -2


def swamee_jain(re: np.ndarray, eps: np.ndarray) -> np.ndarray:
    return 0.25 / np.log10(eps / 3.7 + 5.74 / re**0.9) ** 2


def hand_newton(re: np.ndarray, eps: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Newton on g(x) = x + 2 log10(eps/3.7 + 2.51 x / Re), x = 1/sqrt(f), from Swamee-Jain."""
    x = 1.0 / np.sqrt(swamee_jain(re, eps))
    a, b = eps / 3.7, 2.51 / re
    c = 2.0 / np.log(10.0)
    for _ in range(iterations):
        inner = a + b * x
        x = x - (x + c * np.log(inner)) / (1.0 + c * b / inner)
    return 1.0 / (x * x)


def timed(fn, repeats: int) -> tuple[np.ndarray, float]:
    """The result of fn() and the best wall-clock seconds of `repeats` runs after a warm-up."""
    out = fn()
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


class Table:
    def __init__(self, x: np.ndarray, f_ref: np.ndarray, repeats: int):
        self.x, self.f_ref, self.repeats = x, f_ref, repeats
        self.rows: list[dict] = []

    def add(self, method: str, fn, *, reference: bool = False) -> None:
        f, seconds = timed(fn, self.repeats)
        err = np.abs(np.asarray(f, dtype=np.float64).reshape(-1) / self.f_ref - 1.0)
        self.rows.append({
            "method": method,
            "max_rel_error": 0.0 if reference else float(np.max(err)),
            "mean_rel_error": 0.0 if reference else float(np.mean(err)),
            "seconds": seconds,
            "points_per_s": len(self.x) / seconds,
        })

    def print(self) -> None:
        print(f"{'method':<34} {'max rel err':>12} {'mean rel err':>12} {'seconds':>9} {'points/s':>10}")
        for r in self.rows:
            err = ("(reference)", "") if r["max_rel_error"] == 0.0 and r["method"].startswith("surrogate.declaration.solve") else (
                f"{r['max_rel_error']:.3e}", f"{r['mean_rel_error']:.3e}")
            print(f"{r['method']:<34} {err[0]:>12} {err[1]:>12} {r['seconds']:>9.4f} {r['points_per_s']:>10.3g}")


# ---- HOOK: the trained surrogate's row ---------------------------------------------------------
def surrogate_row(model, table: Table, label: str = "surrogate (MLP, CPU)") -> None:
    """Add the row of a trained `Surrogate` for colebrook: model.evaluate(x [N, 2]) -> [N, 1] f."""
    model = model.to(device="cpu")
    table.add(label, lambda: model.evaluate(table.x)[:, 0])
# -------------------------------------------------------------------------------------------------


def obtain_model(args):
    """A Surrogate from --model or --train, or None (with the reason printed) when neither works."""
    if not (args.model or args.train):
        return None
    try:
        import surrogate as sg

        if args.model:
            return sg.load(args.model)
        model = sg.train(colebrook, time_limit=args.train, progress=False)
        if args.save:
            model.save(args.save)
        return model
    except Exception as exc:  # implicit training may not be available yet: the other rows still stand
        print(f"(no surrogate row: {type(exc).__name__}: {exc})\n")
        return None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--system-points", type=int, default=100_000, help="points for the parallel-pipes timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="a saved colebrook surrogate to score")
    parser.add_argument("--train", type=float, help="train a colebrook surrogate for this many seconds and score it")
    parser.add_argument("--save", help="with --train: save the trained surrogate here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    x = colebrook.domain.sobol(args.points, seed=args.seed).numpy()
    re, eps = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])
    ref = solve(colebrook, x)
    f_ref = ref.values[:, 0]
    values = {"Re": re, "eps": eps, "f": f_ref}
    rounding = np.max(np.abs(colebrook.compiled("residual", 0, "numpy")(values))
                      / colebrook.compiled("residual_scale", 0, "numpy")(values))

    table = Table(x, f_ref, args.repeats)
    table.add("Haaland (explicit)", lambda: haaland(re, eps))
    table.add("Swamee-Jain (explicit)", lambda: swamee_jain(re, eps))
    table.add("surrogate.solve (scan + Newton)", lambda: solve(colebrook, x).values[:, 0], reference=True)
    table.add("hand Newton (3 it. from S-J)", lambda: hand_newton(re, eps))
    model = obtain_model(args)
    if model is not None:
        surrogate_row(model, table)

    cpu = os.cpu_count()
    print(f"Colebrook, {args.points} Sobol points log-uniform in Re 4e3..1e8, eps 1e-6..5e-2; CPU, "
          f"{args.threads} thread(s) of {cpu}; best of {args.repeats}")
    print(f"reference: surrogate.solve, {ref.counts()['solved']} of {args.points} solved, "
          f"max |residual| / term scale {rounding:.1e}\n")
    table.print()

    xs = parallel_pipes.domain.sobol(args.system_points, seed=args.seed).numpy()
    sol, seconds = timed(lambda: solve(parallel_pipes, xs), 1)
    print(f"\nparallel_pipes (4 equations in Q1, Q2, f1, f2), surrogate.solve with 8 Newton starts: "
          f"{args.system_points} points in {seconds:.2f} s = {args.system_points / seconds:.3g} points/s "
          f"({sol.counts()['solved']} solved)")

    solve_rate = table.rows[2]["points_per_s"]
    print(f"""
Notes
- The Newton solve is exact (to rounding) and fast on the CPU: the generic solver does
  {solve_rate:.3g} points/s, a 6-point scan (the residual is proven monotone in f, so that is
  enough to know one root lies in the output range) and a bracketed Newton; a Newton written for Colebrook alone, started from Swamee-Jain,
  is exact after three iterations and faster than the generic solver. For Colebrook on a CPU a
  neural surrogate buys neither accuracy nor speed.
- Haaland and Swamee-Jain are explicit and cheapest, at the percent-level errors in the table.
- What a surrogate earns: it is differentiable end to end (torch autograd through f, for
  gradient-based design or as a layer in a larger model), it exports to ONNX or the NumPy
  runtime with no solver, no bracket and no iteration count to tune, it runs batched on a GPU
  with the rest of a network, and its cost does not grow with the equations: a system such as
  parallel_pipes costs the solver several times more per point than Colebrook does, the network
  the same. Its price is a certified error (verify) instead of an exact answer.""")


if __name__ == "__main__":
    main()

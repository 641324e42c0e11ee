"""Every implicit relation of the catalogue: train from the residual alone, then certify.

    python bench/catalogue.py                       # 240 s of training each
    python bench/catalogue.py --time-limit 60 --only mach_subsonic

For each relation it prints the training steps and CPU seconds, the certificate's max / p99 / mean
relative error of the outputs against the numeric solve (solve.py), and the normalised residual.
Nothing here asserts: the figures are for people to read.
"""

from __future__ import annotations

import argparse
import time

import torch

import equations.implicit as catalogue
import surrogate as sg


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", choices=catalogue.__all__)
    p.add_argument("--time-limit", type=float, default=240.0, help="seconds of training per relation")
    p.add_argument("--points", type=int, default=200_000, help="points of the dense check")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; time limit {args.time_limit:g} s; "
          f"error = |y_hat - y*| / |y*| against the bracketed Newton solve", flush=True)
    head = (f"{'relation':<20} {'outputs':<16} {'steps':>7} {'cpu_s':>7} | {'max':>9} {'p99':>9} {'mean':>9} | "
            f"{'residual max':>12} | worst at")
    rows = []
    for name in args.only or catalogue.__all__:
        rel = getattr(catalogue, name)
        t = time.process_time()
        model = sg.train(rel, time_limit=args.time_limit, seed=args.seed, progress=False)
        cpu = time.process_time() - t
        cert = sg.verify(model, points=args.points, seed=args.seed)
        worst = ", ".join(f"{k}={v:.4g}" for k, v in cert.worst.items() if k in rel.inputs)
        rows.append(f"{name:<20} {','.join(rel.outputs):<16} {model.info['steps']:>7} {cpu:>7.1f} | "
                    f"{cert.max_error:>9.3g} {cert.p99_error:>9.3g} {cert.mean_error:>9.3g} | "
                    f"{cert.residual['max']:>12.3g} | {worst}")
        print(rows[-1], flush=True)
    print()
    print(head)
    print("-" * len(head))
    print("\n".join(rows))


if __name__ == "__main__":
    main()

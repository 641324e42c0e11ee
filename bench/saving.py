"""The saving, measured side by side (issue 23, item 3): the cost per point of each shipped system's
surrogate against the package's solve and a hand-written NumPy solve of the same equations.

    python bench/saving.py                       # every shipped system with a current artifact
    python bench/saving.py --names pump_pipe_operating_point --repeat 5 --json saving.json
    python bench/saving.py --write               # also store the figures for the datasheets

A shipped system is a relation of the catalogue (`surrogate.persistence.shipped.entries`) that is
implicit with two or more equations and whose artifact in equations/artifacts is current: the
systems of equations/systems.py appear here once they are registered and trained.  For each, on
one core (the process pinned to --cpu, BLAS, torch and ONNX Runtime on one thread), at batch sizes
1, 10^3 and 10^6 (--batches), nanoseconds of CPU time a point (best of --repeat after a warm-up; a
batch of 1 is a Python loop of one-row calls, the calls' own cost included):

- surrogate, NumPy f64 / f32   `surrogate.runtime.load(name, precision=...)`; float32 only where the
                               certificate allows it (the runtime warns where float32's rounding
                               exceeds the certified max error: then the row is left out)
- surrogate, torch             `sg.load(name).evaluate` (float64)
- surrogate, ONNX f64 / f32    the package's ONNX export (float32 inputs), ONNX Runtime's CPU provider;
                               left out, with a note, where onnxruntime is not installed
- package solve                `surrogate.declaration.solve.solve`, the reference of the certificate
- hand NumPy solve             bench/hand_solves.py: the system reduced by hand, vectorised Newton

The package's solve is timed on at most --slow-points points (default 10^5) at the largest batch,
and the figure is per point.  Before timing, the hand solve is compared with the
package's solve on 2*10^4 points: they must agree to 1e-10 (relative), or the disagreement is printed.
The speed-up is the package's solve over the fastest surrogate at the largest batch (issue 23's bar:
100x at 10^6, one core).

--json PATH writes every figure; --write stores each relation's figures beside its artifact
(equations/artifacts/costs.json, `shipped.record_costs`), which its datasheet (`surrogate report`,
`python bench/build_catalogue.py --docs-only`) shows as a "Cost per point" table while the artifact
is the one measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import speed  # bench/speed.py: one thread for every library, the repository on sys.path, the timers

# isort: split
import numpy as np  # after speed set the threads
from hand_solves import HAND

#: Hand and package solves must agree to this, relatively, at every compared point.
AGREE = 1e-10
#: Points the hand solve is compared with the package's solve on.
COMPARE = 20_000
#: One-row calls timed for batch 1.
ONE_ROW_CALLS = 200


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--names", help="shipped systems, comma-separated (default: every one with a current artifact; "
                                    "with --untrained, every system of the module)")
    p.add_argument("--batches", default="1,1000,1000000", help="points a call (default 1,1000,1000000)")
    p.add_argument("--slow-points", type=float, default=1e5,
                   help="at most this many points for the package's solve at a bigger batch (default 1e5)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cpu", type=int, default=0, help="the CPU to pin to")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    p.add_argument("--write", action="store_true", help="store the figures beside the artifacts for the datasheets")
    p.add_argument("--untrained", metavar="MODULE",
                   help="instead, the implicit systems of MODULE (equations.systems) with the networks surrogate "
                        "build trains by default, after one training step: what their surrogates will cost before they are "
                        "trained (the cost does not depend on the weights; the errors are meaningless)")
    args = p.parse_args(argv)
    if args.untrained and args.write:
        p.error("--untrained measures networks that are not shipped: no --write")
    return args


def untrained_systems(module: str, names: str | None, folder: Path):
    """Entries for the implicit systems of `module`, each with the network `surrogate build` would
    train by default (its default budget's config) after one step, saved in `folder`."""
    import importlib

    import surrogate as sg
    from surrogate.persistence import library, shipped
    from surrogate.training.config import TrainConfig

    mod = importlib.import_module(module)
    out = []
    for name in names.split(",") if names else mod.__all__:
        rel = getattr(mod, name)
        if isinstance(rel, sg.Relation) and not rel.is_explicit and len(rel.equations) >= 2:
            path = folder / f"{name}.surrogate"
            sg.train(rel, max_steps=1, progress=False, device="cpu",
                     config=TrainConfig(**library.DEFAULT.config)).save(path)
            out.append(shipped.Entry(name, module, rel, {}, path))
    return out


def shipped_systems(names: str | None):
    from surrogate.persistence import shipped

    if names:
        return [shipped.artifact(n) for n in names.split(",")]
    return [e for e in shipped.entries()
            if not e.relation.is_explicit and len(e.relation.equations) >= 2 and shipped.status(e).ok]


def ways(e, folder: Path) -> tuple[dict, list[str]]:
    """{label: (function of x [N, d] float64 -> [N, m], slow)} and notes on what was left out."""
    import torch

    import surrogate as sg
    from surrogate import runtime
    from surrogate.declaration.solve import solve

    torch.set_num_threads(1)
    rel, out, notes = e.relation, {}, []
    model = sg.load(e.path)
    out["surrogate, NumPy f64"] = (runtime.load(e.path).evaluate, False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        rt32 = runtime.load(e.path, precision="float32")
    if caught:
        notes.append(f"no float32: {caught[0].message}")
    else:
        out["surrogate, NumPy f32"] = (rt32.evaluate, False)
    out["surrogate, torch"] = (model.evaluate, False)
    try:
        import onnxruntime as ort
    except ModuleNotFoundError:
        notes.append("no ONNX Runtime: onnxruntime is not installed")
    else:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        for precision, tag in (("float64", "f64"), ("float32", "f32")):
            if tag == "f32" and "surrogate, NumPy f32" not in out:
                continue
            path = folder / f"{e.name}.{precision}.onnx"
            model.export_onnx(path, precision=precision)
            sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

            def run(x, sess=sess):
                x32 = x.astype(np.float32)
                return np.concatenate([sess.run(None, {"inputs": x32[i: i + 65536]})[0]
                                       for i in range(0, len(x32), 65536)])
            out[f"surrogate, ONNX {tag}"] = (run, False)
    out["package solve"] = (lambda x: solve(rel, x).values, True)
    hand = HAND.get(e.name)
    if hand is None:
        notes.append(f"no hand solve: write one for {e.name} in bench/hand_solves.py")
    else:
        def run_hand(x, hand=hand):
            res = hand({n: x[:, j] for j, n in enumerate(rel.inputs)})
            return np.stack([res[o] for o in rel.outputs], 1)
        out["hand NumPy solve"] = (run_hand, False)
    return out, notes


def per_point(fn, x: np.ndarray, batch: int, repeat: int) -> float:
    """CPU ns a point of fn at `batch` points a call (a loop of one-row calls for batch 1)."""
    if batch == 1:
        rows = x[:ONE_ROW_CALLS]
        cpu, _ = speed.timed(lambda: [fn(rows[i: i + 1]) for i in range(len(rows))], repeat)
        return 1e9 * cpu / len(rows)
    cpu, _ = speed.timed(lambda: fn(x[:batch]), repeat)
    return 1e9 * cpu / batch


def measure(e, batches: list[int], slow_points: int, repeat: int, folder: Path) -> dict:
    from surrogate.declaration.solve import solve

    rel = e.relation
    run, notes = ways(e, folder)
    x = rel.domain.sobol(max(batches), seed=7).numpy()
    check = x[:COMPARE]
    ref = solve(rel, check)
    ok = ref.status == 0
    rows: dict[str, list] = {}
    timed_points: dict[str, list] = {}
    for label, (fn, slow) in run.items():
        rows[label], timed_points[label] = [], []
        for b in batches:
            n = min(b, slow_points) if slow else b
            rows[label].append(round(per_point(fn, x, n, repeat), 1))
            timed_points[label].append(n)
            timed = f"{ONE_ROW_CALLS} one-row calls" if b == 1 else f"{n:,} points timed"
            print(f"{e.name} {label} batch {b:,} ({timed}): {rows[label][-1]:,.0f} ns/point", file=sys.stderr)
    diffs = {}
    for label, (fn, _) in run.items():
        if label == "package solve":
            continue
        y = np.asarray(fn(check), dtype=np.float64)[ok]
        diffs[label] = float(np.max(np.abs(y - ref.values[ok]) / np.abs(ref.values[ok])))
    if "hand NumPy solve" in diffs and not diffs["hand NumPy solve"] <= AGREE:
        notes.append(f"the hand solve disagrees with the package's solve by {diffs['hand NumPy solve']:.2g} (relative)")
    surrogates = {k: v[-1] for k, v in rows.items() if k.startswith("surrogate")}
    best = min(surrogates, key=surrogates.get)
    speedup = rows["package solve"][-1] / surrogates[best]
    reduced = [f"{label} at batch {b:,} on {n:,} points" for label in rows
               for b, n in zip(batches, timed_points[label]) if n != b]
    note = (f"Measured by python bench/saving.py --write on {speed.cpu_model()}, "
            f"{time.strftime('%Y-%m-%d', time.gmtime())}: CPU time of one process pinned to one core, one thread, "
            f"best of {repeat}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end (a "
            "shared machine: upper bounds)" + (f"; timed {', '.join(reduced)}" if reduced else "")
            + (f"; {'; '.join(notes)}" if notes else "") + ".")
    return {"batches": batches, "ways": rows, "timed_points": timed_points, "reference": "the package's solve",
            "best": best, "speedup": round(speedup, 1), "max_relative_difference_from_solve": diffs,
            "solved": f"{int(ok.sum())} of {len(check)}", "note": note}


def table(figures: dict[str, dict]) -> str:
    from surrogate.declaration.display import markdown_table

    labels = list(dict.fromkeys(k for f in figures.values() for k in f["ways"]))
    rows = []
    for name, f in figures.items():
        for i, b in enumerate(f["batches"]):
            cells = []
            for label in labels:
                v = f["ways"].get(label)
                n = f["timed_points"].get(label, [b] * len(f["batches"]))[i] if v else b
                cells.append("" if v is None else f"{v[i]:,.0f}" + ("" if n == b else f" ({n:,} pts)"))
            ratio = f["ways"]["package solve"][i] / min(f["ways"][k][i] for k in f["ways"] if k.startswith("surrogate"))
            rows.append([name, f"{b:,}", *cells, f"{ratio:,.0f}x"])
    return markdown_table(["relation", "batch", *(f"{k} (ns/pt)" for k in labels), "speed-up over the solve"], rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.sched_setaffinity(0, {args.cpu})
    from surrogate.persistence import shipped

    batches = [int(float(b)) for b in args.batches.split(",")]
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        entries = untrained_systems(args.untrained, args.names, Path(tmp)) if args.untrained else shipped_systems(args.names)
        if not entries:
            print("no shipped system has a current artifact", file=sys.stderr)
            return 1
        for e in entries:
            figures[e.name] = measure(e, batches, int(args.slow_points), args.repeat, Path(tmp))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {speed.cpu_model()}, one core (CPU {args.cpu}), "
          f"one thread, CPU time, best of {args.repeat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          f"CPUs; numpy {np.__version__}\n")
    print(table(figures))
    for name, f in figures.items():
        bar = "meets" if f["speedup"] >= 100 else "does NOT meet"
        if args.untrained:  # a network of that size, once trained and certified where float32 is allowed
            bar = "would meet" if f["speedup"] >= 100 else "would NOT meet"
        print(f"\n{name}: the fastest surrogate ({f['best']}) is {f['speedup']:,.0f}x faster a point than the package's "
              f"solve at batch {f['batches'][-1]:,}: {bar} issue 23's bar of 100x. Max relative difference from the "
              "solve: " + ", ".join(f"{k} {v:.2g}" for k, v in f["max_relative_difference_from_solve"].items())
              + f". {f['note']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    if args.write:
        for e in entries:
            print(f"wrote {shipped.record_costs(e, figures[e.name])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: points per second per core of every way to evaluate a shipped surrogate, side by side
(issue 21, item 5), beside the formula itself.

For each network (default: gnielinski, two inputs; hausen_laminar_entry, three; the six-input
grey_two_surface_exchange; haaland, the two-input friction factor on Colebrook's domain) it times, at
batch 1 (one point a call, the calls' own cost included) and at batch 10^6 (one call):

- C double / C float   the C export (`model.export_c`, precision float64 / float32), compiled with
                       FLAGS below, through `NAME_eval` (batch 1, called in a C loop) and
                       `NAME_eval_batch` (10^6, into the caller's buffers, allocated once), the
                       domain check included
- numpy f64 / f32      the NumPy runtime, `runtime.load(name, precision=...)`, `evaluate`
- torch f64 / f32      `Surrogate.evaluate` (float64) and its module with the network cast to float32
- onnxruntime f64/f32  the ONNX export (precision float64 / float32; float32 inputs), CPU provider
- formula              the relation's own float64 NumPy function (`relation.compiled`)
- colebrook solve      for Colebrook's domain: the package's numeric solve (`declaration.solve`) of
                       Colebrook's implicit equation, and Clamond's exact solution (D. Clamond,
                       "Efficient resolution of the Colebrook equation", Ind. Eng. Chem. Res. 48 (2009)
                       3665, two iterations, written out below in NumPy)

"Per core": the process is pinned to one CPU (os.sched_setaffinity, as `taskset -c 0`), BLAS, torch
and ONNX Runtime get one thread, and a rate is points / CPU seconds of the process (best of
--repeat), so that other processes sharing the core slow the wall clock but not the figure (on a
virtual machine, time stolen by the host is still counted).  Wall-clock rates are printed too.
No asserts: this prints a markdown table (bench/README.md keeps one).

    python bench/speed.py [--names gnielinski,haaland] [--n 1e6] [--repeat 3] [--cc cc]
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy loads its BLAS
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: The C compiler's flags for the figures (the generated header recommends them): -O3 -march=native
#: vectorises eval_batch's blocks (AVX2 here), -ffp-contract=fast lets it fuse multiply-adds (C99
#: mode turns that off).  No -ffast-math.
FLAGS = ["-std=c99", "-O3", "-march=native", "-ffp-contract=fast"]
DEFAULT = "gnielinski,hausen_laminar_entry,grey_two_surface_exchange,haaland"
#: The bars of issue 21 (points per second per core at batch 10^6).
BARS = {"C": 2e7, "numpy f32": 1e7}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--names", default=DEFAULT, help="shipped surrogates, comma-separated")
    p.add_argument("--n", type=float, default=1e6, help="points of the big batch")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cc", default="cc")
    p.add_argument("--cpu", type=int, default=0, help="the CPU to pin to")
    return p.parse_args()


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def timed(fn, repeat: int) -> tuple[float, float]:
    """(best CPU seconds, best wall seconds) of fn() after one warm-up call."""
    fn()
    cpu, wall = [], []
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return min(cpu), min(wall)


# -- Clamond's solution of Colebrook ---------------------------------------------------------------
def clamond(re: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Colebrook's friction factor f, 1/sqrt(f) = -2 log10(k/3.7 + 2.51/(Re sqrt(f))), by Clamond (2009):
    the equation in the Lambert-W-like form x + log(x1 + x) = x2 solved by two iterations of a
    third-order (Halley-type) step from x = x2 - 1/5, to machine precision."""
    x1 = k * re * 0.123968186335417556  # k Re ln(10) / 18.574
    x2 = np.log(re) - 0.779397488455682028  # ln(Re ln(10) / 5.02)
    f = x2 - 0.2
    for _ in range(2):
        e = (np.log(x1 + f) + f - x2) / (1.0 + x1 + f)
        f = f - (1.0 + x1 + f + 0.5 * e) * e * (x1 + f) / (1.0 + x1 + f + e * (1.0 + e / 3.0))
    f = 1.151292546497022842 / f  # ln(10) / 2 / x
    return f * f


# -- the runtimes ----------------------------------------------------------------------------------
class CExport:
    """A C export compiled with FLAGS, with a C loop for batch 1 (NAME_eval per point)."""

    def __init__(self, model, folder: Path, precision: str, cc: str):
        c_file = folder / f"{model.relation.name}_{precision}.c"
        ident = model.export_c(c_file, precision=precision)
        loop = folder / f"{model.relation.name}_{precision}_loop.c"
        d, m = len(model.inputs), len(model.outputs)
        loop.write_text(
            "#include <stddef.h>\n"
            f"int {ident}_eval(const double *x, double *y);\n"
            "int one_by_one(size_t n, const double *x, double *y);\n"
            "int one_by_one(size_t n, const double *x, double *y)\n{\n    int bad = 0;\n"
            f"    for (size_t i = 0; i < n; ++i)\n        bad |= {ident}_eval(x + i * {d}, y + i * {m});\n"
            "    return bad;\n}\n")
        lib = folder / f"{model.relation.name}_{precision}.so"
        subprocess.run([cc, *FLAGS, "-shared", "-fPIC", "-o", str(lib), str(c_file), str(loop), "-lm"], check=True)
        so = ctypes.CDLL(str(lib))
        vp = ctypes.c_void_p
        self.batch = getattr(so, f"{ident}_eval_batch")
        self.batch.argtypes, self.batch.restype = [ctypes.c_size_t, vp, vp, vp], ctypes.c_int
        self.loop = so.one_by_one
        self.loop.argtypes, self.loop.restype = [ctypes.c_size_t, vp, vp], ctypes.c_int
        self.m = m

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # the caller's buffers, allocated once (as a C caller would): the first touch of fresh pages is not timed
        if getattr(self, "_y", None) is None or len(self._y) < len(x):
            self._y, self._status = np.zeros((len(x), self.m)), np.zeros(len(x), dtype=np.intc)
        y = self._y[: len(x)]
        rc = self.batch(len(x), x.ctypes.data, y.ctypes.data, self._status.ctypes.data)
        assert rc == 0, f"eval_batch refused points inside the domain (code {rc})"
        return y

    def one_by_one(self, x: np.ndarray) -> np.ndarray:
        y = np.empty((len(x), self.m))
        assert self.loop(len(x), x.ctypes.data, y.ctypes.data) == 0
        return y


def runners(name: str, folder: Path, cc: str) -> dict:
    """{label: (batch function of x float64 [N, d], per-point function or None, is-C)}."""
    import onnxruntime as ort
    import torch

    import surrogate as sg
    from surrogate import runtime
    from surrogate.model.surrogate import SurrogateModule

    torch.set_num_threads(1)
    model = sg.load(name)
    out: dict = {}
    for precision, tag in (("float64", "double"), ("float32", "float")):
        c = CExport(model, folder, precision, cc)
        out[f"C {tag}"] = (c, c.one_by_one)
    for precision, tag in (("float64", "f64"), ("float32", "f32")):
        rt = runtime.load(name, precision=precision) if precision == "float64" else _quiet(runtime.load, name, precision=precision)
        out[f"numpy {tag}"] = (rt.evaluate, None)

    def torch_runner(module):
        module.eval()

        def run(x):
            with torch.no_grad():
                return module(torch.from_numpy(x)).numpy()
        return run

    nets = getattr(model, "models", None)
    if nets is None:  # one network: float64 as evaluate does it, float32 with the network cast
        m = model.module
        out["torch f64"] = (torch_runner(SurrogateModule(model.relation, m.feature_specs, m.head_specs,
                                                         copy.deepcopy(m.net).double())), None)
        out["torch f32"] = (torch_runner(SurrogateModule(model.relation, m.feature_specs, m.head_specs,
                                                         copy.deepcopy(m.net).float())), None)
    else:
        out["torch f64"] = (model.evaluate, None)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    for precision, tag in (("float64", "f64"), ("float32", "f32")):
        path = folder / f"{name}.{precision}.onnx"
        model.export_onnx(path, precision=precision)
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

        def run(x, sess=sess):
            x32 = x.astype(np.float32)
            return np.concatenate([sess.run(None, {"inputs": x32[i : i + 65536]})[0] for i in range(0, len(x32), 65536)])
        out[f"onnxruntime {tag}"] = (run, None)
    rel = model.relation
    if rel.is_explicit:
        fns = [rel.compiled("expression", o, "numpy") for o in rel.outputs]

        def formula(x):
            cols = {n: x[:, j] for j, n in enumerate(rel.inputs)}
            return np.stack([np.broadcast_to(f(cols), (len(x),)) for f in fns], 1)
        out["formula (NumPy)"] = (formula, None)
    if set(rel.inputs) == {"Re", "eps_D"}:  # Colebrook's domain: the implicit formula itself, two ways
        from equations.implicit import colebrook
        from surrogate.declaration.solve import solve

        cols = [rel.inputs.index("Re"), rel.inputs.index("eps_D")]
        out["colebrook: package solve"] = (lambda x: solve(colebrook, x[:, cols]).values, None)
        out["colebrook: Clamond (NumPy)"] = (lambda x: clamond(x[:, cols[0]], x[:, cols[1]])[:, None], None)
    return out


def _quiet(fn, *args, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a certificate tighter than float32's rounding
        return fn(*args, **kwargs)


def measure(batch, one, x: np.ndarray, repeat: int) -> tuple[float, float, float]:
    """(points/s at batch 1, points/s at batch len(x), wall points/s at len(x)), CPU time."""
    cpu, wall = timed(lambda: batch(x), repeat)
    if one is not None:  # a C loop of NAME_eval calls
        k = 100000
        c1, _ = timed(lambda: one(x[:k]), repeat)
    else:  # a Python loop of calls of one row
        k = 2000
        c1, _ = timed(lambda: [batch(x[i : i + 1]) for i in range(k)], 1)
    return k / c1, len(x) / cpu, len(x) / wall


def main() -> None:
    args = parse_args()
    os.sched_setaffinity(0, {args.cpu})
    import surrogate as sg

    n = int(args.n)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names.split(","):
            model = sg.load(name)
            x = model.relation.domain.sobol(n, seed=7).numpy()
            run = runners(name, Path(tmp), args.cc)
            check = x[:20000]
            ref = model.evaluate(check)
            rel = model.relation
            scale = np.zeros_like(ref)  # the certificate's metric: |diff| / max(|y|, S(x)), S of an explicit relation
            if rel.is_explicit:
                cols = {c: check[:, j] for j, c in enumerate(rel.inputs)}
                s = np.stack([np.abs(np.asarray(rel.compiled("scale", o, "numpy")(cols), dtype=np.float64))
                              * np.ones(len(check)) for o in rel.outputs], 1)
                scale = np.where(np.isfinite(s), s, 0.0)
            solved = run["colebrook: package solve"][0](check) if "colebrook: package solve" in run else None
            for label, (batch, one) in run.items():
                r1, rn, rw = measure(batch, one, x, args.repeat)
                y = np.asarray(batch(check), dtype=np.float64).reshape(len(check), -1)
                if label.startswith("colebrook"):  # Colebrook's two against each other
                    diff = float(np.max(np.abs(y - solved) / np.abs(solved)))
                else:
                    diff = float(np.max(np.abs(y - ref) / np.maximum(np.maximum(np.abs(ref), scale), 1e-300)))
                rows.append((name, len(model.inputs), label, r1, rn, rw, 1e9 / rn, diff))
                print(f"{name} {label}: {rn:.3g} points/s (CPU), {rw:.3g} (wall)", file=sys.stderr)
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu_model()}, one core (CPU {args.cpu}), "
          f"one thread; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; C: {args.cc} {' '.join(FLAGS)}; "
          f"numpy {np.__version__}\n")
    print("| network (inputs) | runtime | batch 1: points/s | batch 10^6: points/s | ns/point | wall: points/s "
          "| max diff. from torch f64, the certificate's metric (Colebrook's: relative, from the solve) |")
    print("|---|---|---|---|---|---|---|")
    for name, d, label, r1, rn, rw, ns, diff in rows:
        bar = next((b for k, b in BARS.items() if label.startswith(k) and d == 2), None)
        mark = "" if bar is None else (" (bar 2e7: met)" if rn >= bar and bar == 2e7 else " (bar 2e7: not met)" if bar == 2e7
                                       else " (bar 1e7: met)" if rn >= bar else " (bar 1e7: not met)")
        mark = mark if label in ("C double", "C float", "numpy f32") else ""
        print(f"| {name} ({d}) | {label} | {r1:.3g} | {rn:.3g}{mark} | {ns:.0f} | {rw:.3g} | {diff:.1e} |")


if __name__ == "__main__":
    main()

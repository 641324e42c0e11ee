"""Benchmark: how fast a trained surrogate predicts, per runtime, against the formula itself.

For 1e3, 1e6 and 1e7 points inside the domain of a catalogue relation (seed001 by default) it times

- torch-cpu     `Surrogate.evaluate` (float64 features, network weights evaluated in float64 -- the
                default, which makes all runtimes agree -- float64 out; no domain check)
- torch-cuda    the same on the GPU, when torch sees one (host <-> device copies included)
- onnxruntime   the exported graph (`Surrogate.export_onnx`), float32 in and out, 65536 rows a call
- numpy         `surrogate.runtime` (`Runtime.evaluate`, no domain check)
- ... f32       each of the three with the network in float32 (precision="float32"), as trained
- formula       the relation's own float64 NumPy function (`relation.compiled`), the thing replaced

and prints predictions per second and the rate of network FLOPs each reaches (2 * multiply-adds of
the linear layers per point; activations, features and heads not counted) as a fraction of the
machine's float32 matmul rate, measured here with NumPy and torch on square 2048 matrices and on a
product shaped like one hidden layer ([65536, width] @ [width, width]).  A second table gives the
agreement of the three runtimes on every catalogue surrogate (cosexp at a = 0.583, b = 0.112), as the
largest difference relative to the head's scale (|y| for a log or linear head, P + N for a
signed-log head y = P - N, whose sum may cross zero).

Every timing is the best of `--repeat` runs after one warm-up call (one run, no warm-up, above
1e6 points).  Wall-clock rates suffer when
other work shares the cores.  No asserts: this prints tables.

    python bench/inference.py [--threads 1] [--train-steps 300] [--sizes 1e3,1e6,1e7] [FILE.surrogate]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("artifact", nargs="?", help="a saved surrogate to time (default: train seed001 here)")
    p.add_argument("--threads", type=int, default=1, help="threads for BLAS, torch and onnxruntime (default 1)")
    p.add_argument("--train-steps", type=int, default=300, help="steps of the surrogates trained here")
    p.add_argument("--sizes", default="1e3,1e6,1e7", help="numbers of points, comma-separated")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-agreement", action="store_true", help="skip the agreement table")
    return p.parse_args()


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy loads its BLAS
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import surrogate as sg  # noqa: E402
from equations.seeds import seed001  # noqa: E402
from surrogate import runtime  # noqa: E402

BLOCK = 65536


def best(fn, repeat: int, warm: bool = True) -> float:
    if warm:
        fn()  # first-call costs (allocation, kernels, compiled bounds) are not counted
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def matmul_rates(width: int) -> dict[str, float]:
    """float32 GFLOP/s of NumPy and torch (CPU, and CUDA when present)."""
    rng = np.random.default_rng(0)
    out = {}
    a, b = rng.random((2048, 2048), dtype=np.float32), rng.random((2048, 2048), dtype=np.float32)
    out["numpy square"] = 2 * 2048**3 / best(lambda: a @ b, 3) / 1e9
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    out["torch square"] = 2 * 2048**3 / best(lambda: ta @ tb, 3) / 1e9
    h, w = rng.random((BLOCK, width), dtype=np.float32), rng.random((width, width), dtype=np.float32)
    out["numpy layer"] = 2 * BLOCK * width * width / best(lambda: h @ w, 5) / 1e9
    th, tw = torch.from_numpy(h), torch.from_numpy(w)
    out["torch layer"] = 2 * BLOCK * width * width / best(lambda: th @ tw, 5) / 1e9
    if torch.cuda.is_available():
        ca, cb = ta.cuda(), tb.cuda()

        def gpu():
            ca @ cb
            torch.cuda.synchronize()

        n = 8192
        ca, cb = torch.rand(n, n, device="cuda"), torch.rand(n, n, device="cuda")
        out["torch-cuda square"] = 2 * n**3 / best(gpu, 5) / 1e9
    return out


def network_flops(model) -> int:
    cfg = model.module.net.config
    n_in, w, n_out, depth = cfg["n_in"], cfg["width"], cfg["n_out"], cfg["depth"]
    macs = n_in * w + (depth - 1) * w * w + w * n_out + (n_in * n_out if cfg.get("skip") else 0)
    return 2 * macs


def runners(model, path: Path, onnx_path: Path | None):
    rel = model.relation
    rt, rt32 = runtime.load(path), runtime.load(path, precision="float32")
    out = {"torch-cpu": lambda x: model.evaluate(x), "torch-cpu f32": lambda x: model.evaluate(x, precision="float32")}
    if torch.cuda.is_available():
        gpu = sg.load(path, device="cuda")
        out["torch-cuda"] = lambda x: gpu.evaluate(x, batch_size=1 << 20)
    if onnx_path is not None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = ARGS.threads
        opts.inter_op_num_threads = 1
        def session(p):
            return ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])

        def run_onnx(sess):
            def run(x):
                x32 = x.astype(np.float32)
                return np.concatenate([sess.run(None, {"inputs": x32[i : i + BLOCK]})[0]
                                       for i in range(0, len(x32), BLOCK)])
            return run

        out["onnxruntime"] = run_onnx(session(onnx_path))
        out["onnxruntime f32"] = run_onnx(session(onnx_path.with_suffix(".f32.onnx")))
    out["numpy"] = rt.evaluate
    out["numpy f32"] = rt32.evaluate
    fns = [rel.compiled("expression", o, "numpy") for o in rel.outputs]

    def formula(x):
        cols = {n: x[:, j] for j, n in enumerate(rel.inputs)}
        return np.stack([f(cols) for f in fns], 1)

    out["formula"] = formula
    return out


def agreement(y, ref, heads, channels) -> float:
    worst = 0.0
    for j, h in enumerate(heads):
        c = channels[:, h["channels"]]
        if h["kind"] == "signed_log":
            scale = np.exp(h["ap"] + h["bp"] * c[:, 0]) + np.exp(h["an"] + h["bn"] * c[:, 1])
        else:
            scale = np.abs(ref[:, j])
        worst = max(worst, float(np.max(np.abs(y[:, j] - ref[:, j]) / scale)))
    return worst


def catalogue() -> dict:
    """Every catalogue relation; those with parameters at their true values."""
    import importlib

    import equations

    known = {"cosexp": {"a": 0.583, "b": 0.112}}
    out = {}
    for module in equations.MODULES:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            rel = getattr(mod, name)
            if isinstance(rel, sg.Relation):
                out[name] = rel.substitute(known[name]) if rel.parameters else rel
    return out


def export(model, folder: Path, name: str) -> tuple[Path, Path | None]:
    path = folder / f"{name}.surrogate"
    model.save(path)
    try:
        model.export_onnx(folder / f"{name}.onnx")
        model.export_onnx(folder / f"{name}.f32.onnx", precision="float32")
    except ImportError as e:
        print(f"(no onnxruntime rows: {e})")
        return path, None
    return path, folder / f"{name}.onnx"


def main() -> None:
    torch.set_num_threads(ARGS.threads)
    sizes = [int(float(s)) for s in ARGS.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="surrogate-bench-"))
    if ARGS.artifact:
        model = sg.load(ARGS.artifact)
        name = Path(ARGS.artifact).stem
    else:
        model = sg.train(seed001, max_steps=ARGS.train_steps, progress=False, device="cpu", seed=0)
        name = "seed001"
    path, onnx_path = export(model, folder, name)
    cfg = model.module.net.config
    flops = network_flops(model)
    peaks = matmul_rates(cfg["width"])
    peak = max(v for k, v in peaks.items() if "cuda" not in k)

    print(f"surrogate {name}: MLP {cfg['depth']}x{cfg['width']} {cfg['activation']}"
          f"{' + skip' if cfg.get('skip') else ''}, {flops} network FLOPs per point; "
          f"{ARGS.threads} thread(s); torch {torch.__version__}, numpy {np.__version__}")
    print("float32 matmul GFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()))
    print()
    print(f"{'runtime':<12} {'points':>9} {'seconds':>9} {'predictions/s':>14} {'GFLOP/s':>8} {'of peak':>8}")
    rng = np.random.default_rng(0)
    x_all = model.relation.domain.chart(rng.random((max(sizes), len(model.inputs))))
    for n in sizes:
        x = np.ascontiguousarray(x_all[:n])
        for label, fn in runners(model, path, onnx_path).items():
            big = n > 1_000_000  # warmed up by the smaller sizes; one run is seconds long
            s = best(lambda fn=fn, x=x: fn(x), 1 if big else ARGS.repeat, warm=not big)
            rate = n / s
            if label == "formula":
                gf, frac = "-", "-"
            else:
                gf = f"{rate * flops / 1e9:.2f}"
                ref = peaks["torch-cuda square"] if label == "torch-cuda" else peak
                frac = f"{rate * flops / 1e9 / ref:.1%}"
            print(f"{label:<12} {n:>9.0e} {s:>9.4f} {rate:>14.3e} {gf:>8} {frac:>8}", flush=True)
    print(f"(of peak: network GFLOP/s over the best CPU square-matmul rate, {peak:.1f} GFLOP/s; "
          "torch-cuda over the GPU's)")

    if ARGS.no_agreement:
        return
    print()
    print("agreement on the catalogue (100000 Sobol points; max |difference| / head scale)")
    print(f"{'relation':<20} {'head':<11} {'numpy-torch':>12} {'onnx-torch':>12} {'onnx-numpy':>12}")
    for rname, rel in catalogue().items():
        m = sg.train(rel, max_steps=ARGS.train_steps, progress=False, device="cpu", seed=0)
        p, op = export(m, folder, f"agree-{rname}")
        x = rel.domain.sobol(100_000, seed=5).numpy().astype(np.float32).astype(np.float64)
        x = x[rel.domain.contains(x)]
        y_t, y_n = m.evaluate(x), runtime.load(p).evaluate(x)
        with torch.no_grad():
            ch = m.module.channels(torch.from_numpy(x)).double().numpy()
        heads = m.module.head_specs
        row = [agreement(y_n, y_t, heads, ch)]
        if op is not None:
            import onnxruntime as ort

            y_o = ort.InferenceSession(str(op), providers=["CPUExecutionProvider"]).run(
                None, {"inputs": x.astype(np.float32)})[0].astype(np.float64)
            row += [agreement(y_o, y_t, heads, ch), agreement(y_o, y_n, heads, ch)]
        kinds = ",".join(sorted({h["kind"] for h in heads}))
        print(f"{rname:<20} {kinds:<11} " + " ".join(f"{v:>12.2e}" for v in row), flush=True)


if __name__ == "__main__":
    main()

"""Train one relation several times, each in a fresh process, and compare the weights bit for bit.

    OMP_NUM_THREADS=1 python bench/reproducible.py                       # ranz_marshall, LM and Adam
    OMP_NUM_THREADS=1 python bench/reproducible.py --lm-steps 100 --warm 2000 --verify 100000

Every variant trains with the same seed and a step budget (no time limit); only the process
around it changes: PYTHONHASHSEED (which also changes what the allocator hands back), the
process's torch thread count, TrainConfig.cpu_threads (the threads training itself runs on),
a disturbed global torch/NumPy RNG, and a clock that runs 1000x fast (a loaded machine).
Each line prints the SHA-256 of the weights; with a step budget every variant but the
cpu_threads=2 one must print the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(args) -> None:
    import hashlib
    import time

    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    import importlib

    sg = importlib.import_module("surrogate")
    shipped = importlib.import_module("surrogate.persistence.shipped")
    lm = importlib.import_module("surrogate.training.lm")
    env = json.loads(os.environ["REPRO_VARIANT"])
    if env.get("process_threads"):
        torch.set_num_threads(env["process_threads"])
    if env.get("global_rng"):
        torch.manual_seed(12345)
        np.random.seed(12345)
        torch.rand(777)
    if env.get("fast_clock"):  # every reading of the clock 1000 s later than the last: load, exaggerated
        import types

        t = [time.perf_counter()]

        def fast():
            t[0] += 1000.0
            return t[0]

        clock = types.SimpleNamespace(perf_counter=fast, process_time=time.process_time)
        for mod in ("surrogate.training.loop", "surrogate.training.lm"):
            sys.modules[mod].time = clock
    rel = shipped.entry(args.relation).relation
    cfg = sg.TrainConfig(method=args.method, cpu_threads=env.get("cpu_threads", 1),
                         lm=lm.LMSettings(warm_steps=args.warm))
    steps = args.lm_steps if args.method == "lm" else args.adam_steps
    t0 = time.perf_counter()
    model = sg.train(rel, max_steps=steps, seed=args.seed, config=cfg, progress=False)
    secs = time.perf_counter() - t0
    h = hashlib.sha256()
    sd = model.module.net.state_dict()
    for k in sorted(sd):
        h.update(k.encode())
        h.update(sd[k].detach().contiguous().numpy().tobytes())
    out = {"sha": h.hexdigest()[:16], "train_s": round(secs, 1), "val_max": model.info["validation"]["max"]}
    if args.verify:
        out["cert_max"] = sg.verify(model, points=args.verify, seed=0).max_error
    print(json.dumps(out))


VARIANTS = [
    ("baseline", {}, {}),
    ("again", {}, {}),
    ("PYTHONHASHSEED=1", {"PYTHONHASHSEED": "1"}, {}),
    ("PYTHONHASHSEED=987654", {"PYTHONHASHSEED": "987654"}, {}),
    ("process threads 2", {"OMP_NUM_THREADS": "2"}, {"process_threads": 2}),
    ("global RNG disturbed", {}, {"global_rng": True}),
    ("clock 1000x fast", {}, {"fast_clock": True}),
    ("cpu_threads=2 (training on 2)", {}, {"cpu_threads": 2}),
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--relation", default="ranz_marshall")
    p.add_argument("--methods", default="lm,adam")
    p.add_argument("--lm-steps", type=int, default=20)
    p.add_argument("--warm", type=int, default=300, help="LMSettings.warm_steps")
    p.add_argument("--adam-steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verify", type=int, default=0, help="points of a certificate per run (0: none)")
    p.add_argument("--only", action="append", help="variant names to run (default: all)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--method", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return 0
    status = 0
    for method in args.methods.split(","):
        base = None
        for name, env, variant in VARIANTS:
            if args.only and name not in args.only:
                continue
            e = {**os.environ, "OMP_NUM_THREADS": "1", **env, "REPRO_VARIANT": json.dumps(variant)}
            cmd = [sys.executable, __file__, "--child", "--method", method, "--relation", args.relation,
                   "--lm-steps", str(args.lm_steps), "--warm", str(args.warm), "--adam-steps", str(args.adam_steps),
                   "--seed", str(args.seed), "--verify", str(args.verify)]
            r = subprocess.run(cmd, env=e, capture_output=True, text=True)
            if r.returncode:
                print(f"{method:4} {name:30} FAILED\n{r.stderr[-2000:]}")
                status = 1
                continue
            res = json.loads(r.stdout.strip().splitlines()[-1])
            base = base or res["sha"]
            same = "same" if res["sha"] == base else "DIFFERENT"
            extra = f"  cert {res['cert_max']:.3g}" if "cert_max" in res else ""
            print(f"{method:4} {name:30} {res['sha']} {same:9} val {res['val_max']:.6g}{extra}  ({res['train_s']} s)",
                  flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

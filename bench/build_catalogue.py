"""Build the shipped catalogue: train, certify and save every textbook relation, then its datasheets.

    OMP_NUM_THREADS=1 python bench/build_catalogue.py --jobs 2     # the full build (about 20 min on 2 idle cores)
    python bench/build_catalogue.py --only gnielinski --force       # one relation again
    python bench/build_catalogue.py --scale 0.1 --points 100000    # a trial build: a tenth of each budget
    python bench/build_catalogue.py --docs-only                    # the index and datasheets from the artifacts

The catalogue is `surrogate.shipped.entries()`: every relation a module of equations.MODULES
names in its SOURCES.  For each it calls the public API only -- `sg.train(relation,
time_limit=..., seed=..., config=sg.TrainConfig(**config))`, `sg.verify(model, points=...,
seed=...)`, `model.save(...)` -- so a change of the training method reaches the catalogue by
rerunning this script.  Each artifact goes to equations/artifacts/NAME.surrogate (package
data) with its certificate, and with the build's record in its training info
(``info["build"]``: budget, seed, config, method, versions, wall and CPU seconds, the
fingerprint of the declaration); equations/artifacts/catalogue.json indexes the records
with the certified figures and the file sizes.  docs/catalogue/NAME/README.md is each
relation's datasheet (`surrogate report`'s page with the source, validity and accuracy),
docs/catalogue/index.md the table of all.

Resumable: a relation whose artifact is up to date (same declaration, budget, seed, config,
verification points and package version) is skipped unless --force.  --jobs N trains N
relations at once, each in its own process with one torch thread.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import importlib
import json
import multiprocessing as mp
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# the checkout's package, not an installed one (an import statement here would have to follow the path change)
shipped = importlib.import_module("surrogate.persistence.shipped")

DOCS = ROOT / "docs" / "catalogue"
report = importlib.import_module("surrogate.interface.report")
#: The bar of issue 10: a smooth relation's certified max error over its whole validity range.
BAR = report.BAR


@dataclass(frozen=True)
class Budget:
    """Training budget of one relation: seconds of wall time (one CPU thread), or a number of
    optimiser steps instead (`steps`: then the CPU result is the same on every run, while a
    time budget depends on the machine and its load), the seed, and TrainConfig overrides."""

    seconds: float = 60.0
    seed: int = 0
    config: dict = field(default_factory=dict)
    steps: int | None = None


#: The one place the budgets are stated.  Every relation trains by Levenberg-Marquardt
#: (warm-started by Adam; docs/architecture.md) for a number of steps, not seconds: the result
#: is then the same on every run and under any load, and the build record keeps the CPU
#: seconds it took.  400 LM steps are about a minute of one core for a two-input relation
#: (Colebrook did 423 in 60 s); the pump-pipe system's steps cost ~0.6 CPU s each (two
#: equations, two outputs).
DEFAULT = Budget(steps=400, config={"method": "lm"})
BUDGETS: dict[str, Budget] = {
    "pump_pipe_operating_point": Budget(steps=600, config={"method": "lm"}),
    # six inputs: 400 steps certified 3.5e-3 (p99 3.5e-4)
    "grey_two_surface_exchange": Budget(steps=1000, config={"method": "lm"}),
    # piecewise: the steps are shared evenly among the pieces that need a network
    "flat_plate_average": Budget(steps=800, config={"method": "lm"}),
}
#: Points of each certificate's dense check (then the worst-case search): verify's default.
POINTS = 1_000_000
#: Error maps of the datasheets: points of the dense sample behind them, and resolution.
DOC_POINTS = 100_000
DOC_DPI = 60


def budget(name: str) -> Budget:
    return BUDGETS.get(name, DEFAULT)


def plan(name: str, scale: float, points: int) -> dict:
    """What the build of `name` will be asked: recorded in the artifact, compared to skip it."""
    b = budget(name)
    if b.steps is not None:
        return {"budget_steps": max(1, round(b.steps * scale)), "seed": b.seed, "config": dict(b.config),
                "verify_points": points, "verify_seed": 0}
    return {"budget_s": round(b.seconds * scale, 3), "seed": b.seed, "config": dict(b.config),
            "verify_points": points, "verify_seed": 0}


def up_to_date(e: shipped.Entry, want: dict) -> tuple[bool, str]:
    import surrogate

    st = shipped.status(e)
    if not st.ok:
        return False, st.state
    rec = st.build
    if not rec:
        return False, "no build record"
    for k, v in want.items():
        if rec.get(k) != v:
            return False, f"{k} was {rec.get(k)!r}, now {v!r}"
    if rec.get("versions", {}).get("surrogate") != surrogate.__version__:
        return False, "built by another version of surrogate"
    return True, "up to date"


def build_one(name: str, want: dict) -> dict:
    """Train, verify and save one relation (runs in a worker process); returns its record."""
    import torch

    torch.set_num_threads(1)
    import numpy
    import sympy

    import surrogate as sg

    e = shipped.entry(name)
    cfg = sg.TrainConfig(**want["config"])
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    model = sg.train(e.relation, time_limit=want.get("budget_s"), max_steps=want.get("budget_steps"),
                     seed=want["seed"], config=cfg, progress=False)
    train_wall, train_cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    cert = sg.verify(model, points=want["verify_points"], seed=want["verify_seed"])
    verify_wall, verify_cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
    model.certificate = cert
    record = {
        **want,
        "name": name,
        "module": e.module,
        "fingerprint": shipped.fingerprint(e.relation),
        "method": model.info.get("method"),
        "steps": model.info.get("steps"),
        "stop": model.info.get("stop"),
        "atol": model.info.get("atol"),
        "train_wall_s": round(train_wall, 1),
        "train_cpu_s": round(train_cpu, 1),
        "verify_wall_s": round(verify_wall, 1),
        "verify_cpu_s": round(verify_cpu, 1),
        "torch_threads": torch.get_num_threads(),
        "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "versions": {"surrogate": sg.__version__, "torch": torch.__version__, "numpy": numpy.__version__,
                     "sympy": sympy.__version__, "python": platform.python_version()},
        "command": " ".join(["python", "bench/build_catalogue.py", *sys.argv[1:]]) if sys.argv else "",
    }
    model.info["build"] = record
    e.path.parent.mkdir(parents=True, exist_ok=True)
    model.save(e.path)
    return {**record, "max_error": cert.max_error, "p99_error": cert.p99_error}


def write_index() -> dict:
    """equations/artifacts/catalogue.json from the artifacts themselves."""
    idx = shipped.index()
    path = shipped.directory() / shipped.INDEX
    path.parent.mkdir(parents=True, exist_ok=True)
    total = sum(r["size_bytes"] for r in idx.values())
    doc = {"about": "build records of the shipped surrogates (surrogate.shipped; rebuild with "
                    f"{shipped.BUILD_COMMAND}); generated, do not edit",
           "total_size_bytes": total, "relations": idx}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return idx


# -- datasheets ----------------------------------------------------------------------------------
inputs_text = report.inputs_text


def short_source(text: str, limit: int = 90) -> str:
    """The citation's head: authors up to the year, else the textbook equation, else `limit` characters."""
    year = re.search(r"\((1[89]|20)\d\d\)", text)
    if year and year.end() <= limit:
        return text[: year.end()]
    book = re.search(r"(Incropera|White), 7th ed\., (Eqs?\.|Table|sec\.|ch\.) [\w.\-]*\w(, Eqs?\. [\w.\-]*\w)?", text)
    if book:
        return book.group(0)
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def write_datasheet(name: str) -> str:
    """docs/catalogue/NAME/README.md (runs in a worker process): `surrogate report NAME`'s page,
    which for a shipped surrogate carries its source, validity, accuracy and build record."""
    import torch

    torch.set_num_threads(1)
    from surrogate.interface.report import write_report

    page = write_report(name, DOCS / name, format="md", points=DOC_POINTS, dpi=DOC_DPI)
    return str(page.relative_to(ROOT))


def write_catalogue_index(idx: dict) -> Path:
    """docs/catalogue/index.md: one row per relation."""
    rows, total, train_s = [], 0, 0.0
    below = []
    for e in shipped.entries():
        r = idx.get(e.name)
        if r is None:
            rows.append(f"| {e.name} | {inputs_text(e.relation)} | {short_source(e.source['source'])} | "
                        f"{e.source['accuracy']} | not built | | | |")
            continue
        total += r["size_bytes"]
        train_s += r.get("train_cpu_s") or 0.0
        mx = r["max_error"]
        flag = "" if mx is not None and mx <= BAR else " (above 1e-3)"
        if flag:
            below.append(e.name)
        kind = "" if e.relation.is_explicit else " (implicit: against the solve)"
        rows.append(f"| [{e.name}]({e.name}/README.md) | {inputs_text(e.relation)} | {short_source(e.source['source'])} | "
                    f"{e.source['accuracy']} | {mx:.2g}{flag}{kind} | {r['p99_error']:.2g} | "
                    f"{_budget_text(r)} / {r.get('train_cpu_s', '?')} CPU s | {r['size_bytes'] / 1024:.0f} KiB |")
    head = [
        "# The shipped catalogue",
        "",
        ("Textbook heat-transfer and fluid-flow correlations, trained once, certified over the range declared in "
        "`equations/`, and shipped in the package (`equations/artifacts/`). Load one without training:"),
        "",
        "```python",
        "import surrogate as sg",
        "model = sg.catalogue(\"gnielinski\")       # the NumPy runtime's model where torch is not installed",
        "print(model(Re=[1e5], Pr=[7.0])[\"Nu\"], model.certificate)",
        "```",
        "",
        "or `surrogate predict gnielinski in.csv`; `surrogate list --shipped` lists them with their certificates.",
        "",
        ("**The surrogates reproduce the correlations, not the physics.** The certified max error is measured "
        "against the correlation itself (implicit relations: against a numeric solve), over its whole declared "
        "range: a dense check of scrambled Sobol points and a worst-case search (`sg.verify`). Most correlations are "
        "themselves accurate to 10-25 % against experiment (the accuracy column, as their sources state it); "
        "that error is the one that matters against measurements."),
        "",
        ("| relation | inputs and range | source | accuracy of the correlation | certified max error | p99 | "
        "training budget (2-core machine, one thread) | artifact |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    points = sorted({r.get("verify_points") for r in idx.values()} - {None})
    head[-2:-2] = [(f"Each certificate: {', '.join(f'{p:,}' for p in points)} scrambled Sobol points, then the "
                   "worst-case search."), ""]
    off_table = [n for n, r in idx.items() if any(r.get(k) != v for k, v in plan(n, 1.0, POINTS).items())]
    if off_table:
        head[-2:-2] = [(f"**A trial build**: {len(off_table)} of these artifacts were built with budgets or verification "
                       "points other than the table `BUDGETS` in `bench/build_catalogue.py` states (the budget "
                       f"column says what each had); `{shipped.BUILD_COMMAND} --jobs 2` rebuilds them as stated."), ""]
    tail = [
        "",
        (f"Total size of the artifacts: {total / 1024:.0f} KiB ({len(idx)} files); training {train_s / 60:.1f} CPU minutes "
        "in all."),
    ]
    if below:
        tail.append(f"Above the bar of {BAR:g}: {', '.join(below)} (each shipped with its true certificate).")
    tail += [
        "",
        (f"Generated by `{shipped.BUILD_COMMAND} --docs-only` from the artifacts and their build records "
        "(`equations/artifacts/catalogue.json`); the budgets and seeds are the table `BUDGETS` in "
        "`bench/build_catalogue.py`. Each page is `surrogate report`'s datasheet with the source added."),
    ]
    path = DOCS / "index.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(head + rows + tail) + "\n", encoding="utf-8")
    return path


_budget_text = report.budget_text


# -- the driver ----------------------------------------------------------------------------------
def _pool(jobs: int):
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"))


def _run(jobs: int, fn, items: list[tuple]):
    """fn(*item) for each item, `jobs` at a time; {item[0]: result or exception}."""
    out = {}
    if jobs <= 1:
        for it in items:
            try:
                out[it[0]] = fn(*it)
            except Exception as err:  # noqa: BLE001  (one relation failing does not stop the others)
                out[it[0]] = err
            yield it[0], out[it[0]]
        return
    with _pool(jobs) as pool:
        futures = {pool.submit(fn, *it): it[0] for it in items}
        for fut in cf.as_completed(futures):
            name = futures[fut]
            try:
                out[name] = fut.result()
            except Exception as err:  # noqa: BLE001  (as above)
                out[name] = err
            yield name, out[name]


def recertify_one(name: str) -> dict:
    """Verify a shipped artifact again with its recorded settings and the current `verify`,
    keeping its network and build record (a change of the certificate's search, not of the
    training, needs no retraining); returns the updated record."""
    import torch

    torch.set_num_threads(1)
    import surrogate as sg

    e = shipped.entry(name)
    model = sg.load(e.path)
    rec = dict(model.info.get("build") or {})
    if not rec:
        raise RuntimeError(f"{name} has no build record: rebuild it with {shipped.BUILD_COMMAND} --only {name}")
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    cert = sg.verify(model, points=rec["verify_points"], seed=rec["verify_seed"])
    rec.update(verify_wall_s=round(time.perf_counter() - t_wall, 1), verify_cpu_s=round(time.process_time() - t_cpu, 1),
               recertified=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    model.certificate = cert
    model.info = {k: v for k, v in model.info.items() if k != "versions"}
    model.info["build"] = rec
    model.save(e.path)
    return {**rec, "max_error": cert.max_error, "p99_error": cert.p99_error}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", metavar="NAME", help="build this relation (repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="relations trained at once, one process each (default 1)")
    p.add_argument("--force", action="store_true", help="rebuild even when the artifact is up to date")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply every training budget (a trial build: 0.1); recorded in the artifacts")
    p.add_argument("--points", type=int, default=POINTS, help=f"points of each certificate's dense check ({POINTS:,})")
    p.add_argument("--docs-only", action="store_true", help="only regenerate the index and the datasheets")
    p.add_argument("--no-docs", action="store_true", help="skip the datasheets")
    p.add_argument("--recertify", action="store_true",
                   help="verify the shipped artifacts again with the current verify, without training")
    args = p.parse_args(argv)
    # one thread per process: here (jobs=1 trains in this process) and in the workers, which inherit it
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.jobs < 1 or not args.scale > 0 or args.points < 16:
        p.error("--jobs must be >= 1, --scale > 0 and --points >= 16")
    all_entries = shipped.entries()
    if args.only:
        for n in args.only:
            try:
                shipped.entry(n)
            except shipped.UnknownRelation as err:
                p.error(str(err))
    chosen = [e for e in all_entries if not args.only or e.name in args.only]
    failed = []
    t0 = time.perf_counter()
    if args.recertify and not args.docs_only:
        for name, res in _run(args.jobs, recertify_one, [(e.name,) for e in chosen]):
            if isinstance(res, Exception):
                failed.append(name)
                print(f"{name:<36} FAILED: {type(res).__name__}: {res}", flush=True)
            else:
                print(f"{name:<36} max {res['max_error']:.3g}  p99 {res['p99_error']:.3g}  (recertified)", flush=True)
    elif not args.docs_only:
        todo = []
        for e in chosen:
            want = plan(e.name, args.scale, args.points)
            ok, why = up_to_date(e, want)
            if ok and not args.force:
                print(f"{e.name:<36} skipped: up to date (--force rebuilds it)", flush=True)
            else:
                todo.append((e.name, want))
                print(f"{e.name:<36} to build ({why}): {_budget_text(want)}, seed {want['seed']}", flush=True)
        est = sum(w.get("budget_s", 0.0) for _, w in todo) / args.jobs
        print(f"building {len(todo)} relations with {args.jobs} job(s): about {est / 60:.1f} min of timed training "
              "plus verification", flush=True)
        for name, res in _run(args.jobs, build_one, todo):
            if isinstance(res, Exception):
                failed.append(name)
                print(f"{name:<36} FAILED: {type(res).__name__}: {res}", flush=True)
            else:
                print(f"{name:<36} max {res['max_error']:.3g}  p99 {res['p99_error']:.3g}  {res['method']}, "
                      f"{res['steps']} steps, train {res['train_wall_s']} s ({res['train_cpu_s']} CPU s), "
                      f"verify {res['verify_wall_s']} s", flush=True)
            write_index()
    idx = write_index()
    if not args.no_docs:
        names = [e.name for e in chosen if e.name in idx and idx[e.name]["state"] == "ok"]
        for name, res in _run(args.jobs, write_datasheet, [(n,) for n in names]):
            if isinstance(res, Exception):
                failed.append(name)
                print(f"{name:<36} datasheet FAILED: {type(res).__name__}: {res}", flush=True)
            else:
                print(f"wrote {res}", flush=True)
        print(f"wrote {write_catalogue_index(idx).relative_to(ROOT)}", flush=True)
    total = sum(r["size_bytes"] for r in idx.values())
    print(f"{len(idx)} artifacts, {total / 1024:.0f} KiB in all; {time.perf_counter() - t0:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

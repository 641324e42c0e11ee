"""Build the shipped catalogue: train, certify and save every textbook relation, then its datasheets.

    OMP_NUM_THREADS=1 python bench/build_catalogue.py --jobs 2     # the full build (about 20 min on 2 idle cores)
    python bench/build_catalogue.py --only gnielinski --force       # one relation again
    python bench/build_catalogue.py --scale 0.1 --points 100000    # a trial build: a tenth of each budget
    python bench/build_catalogue.py --docs-only                    # the index and datasheets from the artifacts
    python bench/build_catalogue.py --cluster local:2              # the same on a local Dask cluster

A thin wrapper over `surrogate build` (surrogate/interface/build.py): the catalogue is every
relation of the modules of equations.MODULES that carry a SOURCES dict, built by

    surrogate build equations.convection equations.external equations.conduction \
        equations.exchangers equations.radiation equations.pipe_flow equations.systems \\
        -o equations/artifacts --docs docs/catalogue

with the command's default budget (400 Levenberg-Marquardt steps, seed 0) and each module's
`BUILD` dict for the relations that need more (the flat plate's pieces, the six-input grey
surfaces, the pump-pipe system).  This script adds the catalogue's index page (its title,
introduction and the bar of 1e-3), the datasheets' "sg.catalogue" lines, the trial build's
--scale, and --recertify.  Each artifact goes to equations/artifacts/NAME.surrogate with its
certificate and its build record (``info["build"]``); equations/artifacts/catalogue.json indexes
them; docs/catalogue/NAME/README.md is each datasheet, docs/catalogue/index.md the table of all.

Resumable: a relation whose artifact is up to date (same declaration, budget, seed, config,
verification points and package version) is skipped unless --force.  --jobs N builds N
relations at once, each in its own process with one torch thread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# the checkout's package, not an installed one (an import statement here would have to follow the path change)
shipped = importlib.import_module("surrogate.persistence.shipped")
build = importlib.import_module("surrogate.interface.build")
SurrogateError = importlib.import_module("surrogate.errors").SurrogateError
report = importlib.import_module("surrogate.interface.report")

DOCS = ROOT / "docs" / "catalogue"
#: The bar of issue 10: a smooth relation's certified max error over its whole validity range.
BAR = report.BAR
#: Points of each certificate's dense check (then the worst-case search): verify's default.
POINTS = 1_000_000


def modules() -> list[str]:
    """The catalogue's modules, in the order of equations.MODULES."""
    return list(dict.fromkeys(e.module for e in shipped.entries()))


INTRO = [
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
]


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
    p.add_argument("--cluster", metavar="ADDRESS", help="build on Dask instead: local:N or tcp://host:8786")
    p.add_argument("--force", action="store_true", help="rebuild even when the artifact is up to date")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply every training budget (a trial build: 0.1); recorded in the artifacts")
    p.add_argument("--points", type=int, default=POINTS, help=f"points of each certificate's dense check ({POINTS:,})")
    p.add_argument("--docs-only", action="store_true", help="only regenerate the index and the datasheets")
    p.add_argument("--no-docs", action="store_true", help="skip the datasheets")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--recertify", action="store_true",
                   help="verify the shipped artifacts again with the current verify, without training")
    args = p.parse_args(argv)
    # one thread per process: here (jobs=1 trains in this process) and in the workers, which inherit it
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.jobs < 1 or not args.scale > 0 or args.points < 16:
        p.error("--jobs must be >= 1, --scale > 0 and --points >= 16")
    if args.only:
        try:  # a plain name or module:name, as `surrogate list` prints it
            args.only = [shipped.entry(n).name for n in args.only]
        except shipped.UnknownRelation as err:
            p.error(str(err))
    if args.recertify and not args.docs_only:
        chosen = [e.name for e in shipped.entries() if not args.only or e.name in args.only]
        failed = []
        with build.executor(args.jobs, args.cluster) as (ex, width):
            for name, res in build.run_tasks(ex, width, recertify_one, [(n, n) for n in chosen]):
                if isinstance(res, Exception):
                    failed.append(name)
                    print(f"{name:<36} FAILED: {type(res).__name__}: {res}", flush=True)
                else:
                    print(f"{name:<36} max {res['max_error']:.3g}  p99 {res['p99_error']:.3g}  (recertified)", flush=True)
        if failed:
            return 1
        args.docs_only = True  # the index and the pages show the new certificates
    os.chdir(ROOT)  # the pages name the artifacts from the checkout's root (equations/artifacts/NAME.surrogate)
    result = build.build(modules(), shipped.directory(), points=args.points, jobs=args.jobs, cluster=args.cluster,
                         only=args.only, force=args.force, docs=DOCS, no_docs=args.no_docs, docs_only=args.docs_only,
                         progress=not args.quiet, scale=args.scale, shipped_names=True,
                         command=shipped.BUILD_COMMAND,
                         invocation=" ".join([shipped.BUILD_COMMAND, *(sys.argv[1:] if argv is None else argv)]),
                         title="The shipped catalogue", intro=INTRO, bar=BAR)
    return result.status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SurrogateError as err:
        sys.exit(f"build_catalogue: {err}")

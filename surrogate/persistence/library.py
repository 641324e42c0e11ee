"""A library of the user's own surrogates: which relations a build covers, with which budget,
whether each artifact is current, and the build of one (`surrogate build`; interface/build.py
runs these across processes or a Dask cluster).

    surrogate build mylib.relations -o lib/          # every Relation the module defines
    surrogate build path/to/my_relations.py -o lib/  # a file works too

What a module gives the build:

- every `Relation` it defines at module level (only the names of its ``__all__`` where it has
  one), named by its variable;
- optionally ``BUILD = {"name": {"steps": 600, "seed": 1, "config": {...}}}``: a relation's own
  budget (optimiser steps), seed and `TrainConfig` settings, over the command's defaults
  (``--steps``, ``--seed``, ``--method``); `config` is merged over ``{"method": METHOD}``;
- optionally ``SOURCES = {"name": {"source", "validity", "accuracy"}}``: the datasheet's
  "Source and validity" section (the shipped catalogue's modules have one).

Everything is checked when the modules are read, before any training: a path that does not
exist, a module that does not import, a module without relations, two relations of one name,
a BUILD entry for a relation the module does not have, an unknown key, or settings TrainConfig
refuses, each raise BuildError naming the fix.

An artifact is current when the declaration it was trained on has the same fingerprint
(`shipped.fingerprint`) and its build record holds the same budget, seed, config and
verification points (`plan`), and it was built by this version of the package; `state` says
which of these differs.  Budgets are steps, not seconds, so a build is the same on every run
and under any load (one torch thread per build; docs/architecture.md, "Reproducible").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import importlib.util
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SurrogateError
from . import shipped
from .shipped import Entry

__all__ = ["DEFAULT", "Budget", "BuildError", "INDEX", "build_one", "collect", "import_spec", "plan", "state", "write_index"]

#: The index of build records beside the artifacts (the shipped catalogue's name too).
INDEX = shipped.INDEX
#: What a BUILD entry may set.
BUILD_KEYS = ("steps", "seed", "config")


class BuildError(SurrogateError, ValueError):
    """A build that cannot start: a module, a relation or a budget that cannot be used."""


@dataclass(frozen=True)
class Budget:
    """The training budget of one relation: optimiser steps, the seed, and TrainConfig settings."""

    steps: int = 400
    seed: int = 0
    config: dict = field(default_factory=lambda: {"method": "lm"})


#: `surrogate build`'s default budget (its --steps, --seed, --method): the shipped catalogue's, 400
#: Levenberg-Marquardt steps (about a minute of one core for a two-input relation).
DEFAULT = Budget()


def _is_file(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or "/" in spec


def import_spec(spec: str, path: list[str] | None = None):
    """The module `spec` names: a dotted module name, or a .py file (imported on its own, under a
    private name).  `path`: folders to add to sys.path first (a worker process gets the build's)."""
    for p in path or ():
        if p not in sys.path:
            sys.path.append(p)
    if _is_file(spec):
        file = Path(spec)
        if not file.is_file():
            hint = " (a dotted module name has no slash and no .py)" if not spec.endswith(".py") else ""
            raise BuildError(f"no file {spec!r}{hint}: give the path of a Python file that defines Relations, "
                             "or a module's dotted name (mypackage.relations)")
        file = file.resolve()
        digest = hashlib.sha256(str(file).encode() + b"\0" + file.read_bytes()).hexdigest()[:12]
        name = f"_surrogate_build_{file.stem}_{digest}"
        if name in sys.modules:  # this file, with this content, was imported already (a worker's next task)
            return sys.modules[name]
        loader = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(loader)
        sys.modules[name] = module  # dataclasses and pickling look the module up by name
        try:
            loader.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as err:
        if err.name and (spec == err.name or spec.startswith(err.name + ".")):
            here = Path(*spec.split(".")).with_suffix(".py")
            hint = f" (the file {here} is here: give it as ./{here})" if here.is_file() else ""
            raise BuildError(f"no module {spec!r}{hint}: give a module importable from here (mypackage.relations, "
                             "with its folder on PYTHONPATH) or the path of a .py file") from None
        raise


def _relations(module) -> dict:
    from ..declaration.relation import Relation

    names = getattr(module, "__all__", None)
    if names is None:
        return {n: v for n, v in vars(module).items() if isinstance(v, Relation) and not n.startswith("_")}
    return {n: getattr(module, n) for n in names if isinstance(getattr(module, n, None), Relation)}


def _budget(spec: str, name: str, over, default: Budget) -> Budget:
    if not isinstance(over, dict):
        raise BuildError(f"{spec}: BUILD[{name!r}] must be a dict of {', '.join(BUILD_KEYS)}, not {over!r}")
    extra = sorted(set(over) - set(BUILD_KEYS))
    if extra:
        raise BuildError(f"{spec}: BUILD[{name!r}] has {', '.join(map(repr, extra))}; a relation's build may set "
                         f"{', '.join(BUILD_KEYS)} (time budgets are not offered: a step budget gives the same "
                         "result under any load)")
    steps, seed = over.get("steps", default.steps), over.get("seed", default.seed)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise BuildError(f"{spec}: BUILD[{name!r}]['steps'] must be a whole number >= 1, not {steps!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise BuildError(f"{spec}: BUILD[{name!r}]['seed'] must be a whole number, not {seed!r}")
    config = over.get("config", {})
    if not isinstance(config, dict):
        raise BuildError(f"{spec}: BUILD[{name!r}]['config'] must be a dict of TrainConfig settings, not {config!r}")
    return Budget(steps, seed, {**default.config, **config})


def check_config(config: dict, where: str) -> None:
    """Refuse settings TrainConfig refuses, or that its method would ignore, now rather than in a worker."""
    from ..training.config import TrainConfig, check_applies

    try:
        cfg = TrainConfig(**config)
        if cfg.method in ("adam", "lm"):
            check_applies(cfg, cfg.method)
    except (TypeError, ValueError) as err:
        raise BuildError(f"{where}: the config {config!r} cannot be used: {err}") from None


def collect(specs: list[str], out: str | os.PathLike, default: Budget = DEFAULT, *,
            command: str = "") -> tuple[list[Entry], dict[str, Budget], dict[str, str]]:
    """The relations of the modules `specs` (dotted names or .py paths), each as an `Entry` whose
    artifact is OUT/NAME.surrogate; their budgets (`default` under each module's BUILD); the
    module spec of each, for a worker to import.  Raises BuildError for anything that cannot be built."""
    if not specs:
        raise BuildError("no module given: name one or more modules (mypackage.relations) or .py files")
    out = Path(out)
    entries: list[Entry] = []
    budgets: dict[str, Budget] = {}
    where: dict[str, str] = {}
    for spec in specs:
        module = import_spec(spec)
        found = _relations(module)
        if not found:
            has_all = " (its __all__ names none)" if hasattr(module, "__all__") else ""
            raise BuildError(f"{spec} defines no Relation at module level{has_all}: declare them there, "
                             "e.g. rel = surrogate.Relation(...)")
        sources = getattr(module, "SOURCES", {}) or {}
        build = getattr(module, "BUILD", {}) or {}
        if not isinstance(build, dict):
            raise BuildError(f"{spec}: BUILD must be a dict {{name: {{'steps': ..., 'config': {{...}}}}}}, not {build!r}")
        unknown = sorted(set(build) - set(found))
        if unknown:
            raise BuildError(f"{spec}: BUILD names {', '.join(map(repr, unknown))}, which it does not define as a "
                             f"Relation (it has {', '.join(found)}); correct the name or remove the entry")
        for name, rel in found.items():
            if name in where:
                raise BuildError(f"two relations are named {name!r} ({where[name]} and {spec}): their artifacts "
                                 f"would both be {name}.surrogate; rename one, or build them into separate folders")
            budgets[name] = _budget(spec, name, build.get(name, {}), default)
            check_config(budgets[name].config, f"{spec}: {name}")
            where[name] = spec
            module_name = spec if not _is_file(spec) else str(Path(spec).resolve())
            entries.append(Entry(name, module_name, rel, dict(sources.get(name) or {}), out / f"{name}.surrogate",
                                 command))
    return entries, budgets, where


def plan(budget: Budget, points: int, scale: float = 1.0) -> dict:
    """What the build of a relation is asked: recorded in its artifact (``info["build"]``), and
    compared with the record to skip an up-to-date one.  `scale` multiplies the steps (a trial build)."""
    return {"budget_steps": max(1, round(budget.steps * scale)), "seed": budget.seed, "config": dict(budget.config),
            "verify_points": points, "verify_seed": 0}


def state(e: Entry, want: dict) -> tuple[str, str]:
    """(state, why) of e's artifact against the build `want`: 'ok' (up to date), 'missing', 'stale'
    (another declaration), 'changed' (other settings or another version), 'unreadable'."""
    import surrogate

    st = shipped.status(e)
    if st.state == "missing":
        return "missing", "not built yet"
    if st.state == "unreadable":
        return "unreadable", "this version cannot read it"
    if st.state == "stale":
        return "stale", "its declaration changed (equations, bounds or names)"
    rec = st.build
    if not rec:
        return "changed", "no build record"
    for k, v in want.items():
        if rec.get(k) != v:
            return "changed", f"{k} was {rec.get(k)!r}, now {v!r}"
    if rec.get("versions", {}).get("surrogate") != surrogate.__version__:
        return "changed", "built by another version of surrogate"
    return "ok", "up to date"


def build_one(task: dict) -> dict:
    """Train, verify and save one relation; returns its build record with the certified figures.

    The one function every way of building runs (this process, local processes, a Dask worker):
    `task` holds only plain data -- the module spec to import, the relation's name, the plan,
    the artifact's path, the command -- so it travels to any process.  One torch thread."""
    import numpy
    import sympy
    import torch

    torch.set_num_threads(1)
    from .._version import __version__
    from ..checking.verify import verify
    from ..training.config import TrainConfig
    from ..training.loop import train

    module = import_spec(task["module"], task.get("sys_path"))
    rel = _relations(module).get(task["name"])
    if rel is None or shipped.fingerprint(rel) != task["fingerprint"]:
        raise BuildError(f"{task['module']}.{task['name']} is not the declaration the build was started with "
                         "(the module changed since, or this worker has another copy, or imported an older one "
                         "before: a Dask worker keeps a module it imported; restart the workers); run the build again")
    want = task["want"]
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    model = train(rel, max_steps=want["budget_steps"], seed=want["seed"], config=TrainConfig(**want["config"]),
                  progress=False)
    train_wall, train_cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
    if model.info.get("stop") == "interrupted":
        # train ends early on Ctrl-C (a worker gets the terminal's SIGINT too); saved, it would pass
        # for a finished build of this plan, so nothing is saved and the rerun builds it
        raise KeyboardInterrupt
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    cert = verify(model, points=want["verify_points"], seed=want["verify_seed"])
    verify_wall, verify_cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
    model.certificate = cert
    record = {
        **want,
        "name": task["name"],
        "module": task["module"],
        "fingerprint": task["fingerprint"],
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
        "versions": {"surrogate": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
                     "sympy": sympy.__version__, "python": platform.python_version()},
        "command": task.get("command", ""),
    }
    model.info["build"] = record
    path = Path(task["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)  # atomic (model/format.py): an interrupted build leaves the old file or none
    return {**record, "max_error": cert.max_error, "p99_error": cert.p99_error}


def write_index(entries: list[Entry], folder: str | os.PathLike, about: str) -> dict:
    """FOLDER/catalogue.json: the build record, size and certified figures of each readable
    artifact of `entries`, read from the artifacts themselves (written atomically)."""
    idx = shipped.index(of=entries)
    doc = {"about": about, "total_size_bytes": sum(r["size_bytes"] for r in idx.values()), "relations": idx}
    path = Path(folder) / INDEX
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{INDEX}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return idx

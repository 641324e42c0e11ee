"""The shipped catalogue: textbook correlations trained once, certified, and loadable by name.

    import surrogate as sg
    model = sg.catalogue("gnielinski")          # no training: the shipped, certified surrogate
    model(Re=[1e5], Pr=[7.0])["Nu"]
    model.certificate.max_error

The catalogue is every relation named in the ``SOURCES`` dict of a module of
``equations.MODULES`` (the textbook relations, each with its source, validity and
accuracy).  Each is trained by ``surrogate build`` through ``python bench/build_catalogue.py`` (its budgets:
the command's default and the modules' ``BUILD`` dicts) and shipped as ``equations/artifacts/NAME.surrogate``, with
its certificate inside and the build's record in the artifact's training info
(``info["build"]``); ``equations/artifacts/catalogue.json`` is an index of those
records, regenerated from the artifacts.

An artifact is *stale* when the relation it was trained on is no longer the one
declared (the fingerprint of the declaration, `fingerprint`, differs) or when this
version cannot read it; loading a stale or missing one raises ArtifactError saying
how to rebuild it.  Importing this module does not import torch: without the
`train` extra, `load` returns the NumPy runtime's model.

A shipped name is resolved here and only here (`entry`): ``gnielinski`` or, as
`surrogate list` prints it, ``convection:gnielinski``.  `surrogate.load` (persistence/load.py)
tells a path from a name and comes here for the name.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ArtifactError, SurrogateError
from ..model import format as fmt
from ..model.records import Certificate

if TYPE_CHECKING:
    from ..model.piecewise import PiecewiseSurrogate
    from ..model.runtime import PiecewiseRuntime, Runtime
    from ..model.surrogate import Surrogate

__all__ = [
    "BUILD_COMMAND",
    "COSTS",
    "Entry",
    "UnknownRelation",
    "artifact",
    "costs",
    "directory",
    "entries",
    "entry",
    "fingerprint",
    "load",
    "names",
    "read",
    "record_costs",
    "status",
]

#: How to (re)build shipped artifacts; error messages append ``--only NAME``.
BUILD_COMMAND = "python bench/build_catalogue.py"
#: The index of build records beside the artifacts.
INDEX = "catalogue.json"
#: The measured cost per point of surrogates against their reference, beside the artifacts
#: (`record_costs`, written by bench/saving.py --write; `costs` reads it for the datasheets).
COSTS = "costs.json"


class UnknownRelation(SurrogateError, KeyError):
    """A name that is not in the shipped catalogue."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    """One relation of the catalogue: its declaration, its source and where its artifact lives."""

    name: str
    module: str  # e.g. "equations.convection"
    relation: Any  # surrogate.Relation
    source: dict[str, str]  # {"source", "validity", "accuracy"}, as the module's SOURCES states them
    path: Path  # the shipped artifact (which may be missing)
    #: the command that builds the folder `path` is in (a library of the user's own, persistence/library.py);
    #: empty for the shipped catalogue (BUILD_COMMAND)
    command: str = ""

    @property
    def rebuild(self) -> str:
        """The command that (re)builds this artifact."""
        return f"{self.command or BUILD_COMMAND} --only {self.name}"

    @property
    def qualname(self) -> str:
        """``module:name`` as `surrogate list` prints it, e.g. ``convection:gnielinski``."""
        return f"{_short(self.module)}:{self.name}"


def _short(module: str) -> str:
    return module.removeprefix("equations.")


def directory() -> Path:
    """The folder of the shipped artifacts: equations/artifacts (package data)."""
    import equations

    return Path(equations.__file__).resolve().parent / "artifacts"


def entries(folder: str | os.PathLike | None = None) -> list[Entry]:
    """Every relation of the catalogue, in the order of equations.MODULES and their SOURCES."""
    import equations

    from ..declaration.relation import Relation

    base = Path(folder) if folder is not None else directory()
    out = []
    for mod_name in equations.MODULES:
        module = importlib.import_module(mod_name)
        for name, source in getattr(module, "SOURCES", {}).items():
            rel = getattr(module, name, None)
            if not isinstance(rel, Relation):
                raise SurrogateError(f"{mod_name}.SOURCES names {name!r}, which is not a Relation of that module")
            out.append(Entry(name, mod_name, rel, dict(source), base / f"{name}.surrogate"))
    return out


def names(*, qualified: bool = False) -> list[str]:
    """The names of the catalogue's relations (`surrogate.catalogue_names`): plain (``gnielinski``),
    or with qualified=True as `surrogate list` prints them (``convection:gnielinski``).  Either
    form loads (`surrogate.load`, `surrogate.catalogue`, the command line)."""
    return [e.qualname if qualified else e.name for e in entries()]


def entry(name: str, folder: str | os.PathLike | None = None) -> Entry:
    """The catalogue entry called `name`: a plain name (``gnielinski``) or ``module:name`` as
    `surrogate list` prints it (``convection:gnielinski``; ``equations.convection:gnielinski``
    too).  This is the one resolution of a shipped name: `surrogate.load`, `surrogate.catalogue`,
    `surrogate.runtime.load` and the command line all come through here.

    Raises UnknownRelation naming the close matches and every name for a name it does not
    have, saying where a relation of that name is declared but not shipped trained, and
    listing the candidates for a plain name that two modules ship.
    """
    quick = _indexed(name, folder)
    if quick is not None:
        return quick
    found = entries(folder)
    text = name if isinstance(name, str) else repr(name)
    module, sep, base = text.rpartition(":")
    hits = [e for e in found if e.name == base and (not sep or module in (e.module, _short(e.module)))]
    if isinstance(name, str) and len(hits) == 1:
        return hits[0]
    if isinstance(name, str) and len(hits) > 1:
        raise UnknownRelation(f"the shipped name {name!r} is ambiguous: it is {' and '.join(e.qualname for e in hits)}; "
                              "give it as module:name")
    pool = [e.qualname for e in found] if sep else [e.name for e in found]
    close = difflib.get_close_matches(text if sep else base, pool, n=3, cutoff=0.6)
    elsewhere = [e.qualname for e in found if e.name == base]  # module:name with the wrong module
    close = elsewhere + [c for c in close if c not in elsewhere]
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    declared = [q for q in _declared(base) if q not in {e.qualname for e in found}]
    if declared and (not sep or _short(module) in {q.partition(':')[0] for q in declared}):
        hint += (f"{' and '.join(declared)} is declared but not shipped trained (train it with `surrogate train "
                 f"{declared[0]}`); ")
    raise UnknownRelation(f"no shipped surrogate named {name!r}; {hint}the catalogue has: "
                          f"{', '.join(e.name for e in found)} (see `surrogate list --shipped`)")


def _indexed(name, folder) -> Entry | None:
    """The entry called `name` found through the folder's index (catalogue.json names each
    artifact's module), importing that one module instead of every module of the catalogue:
    declaring all of them costs seconds, a first `sg.load("gnielinski")` in a notebook should not.
    None whenever the index cannot answer alone (no index, an unknown or ambiguous name, a module
    that no longer declares it): `entry` then resolves it the long way, with its messages."""
    import equations

    from ..declaration.relation import Relation

    if not isinstance(name, str):
        return None
    base_dir = Path(folder) if folder is not None else directory()
    try:
        records = json.loads((base_dir / INDEX).read_text())["relations"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    module, sep, base = name.rpartition(":")
    hits = [r for r in records.values() if isinstance(r, dict) and r.get("name") == base
            and (not sep or module in (r.get("module"), _short(str(r.get("module")))))]
    if len(hits) != 1 or hits[0].get("module") not in equations.MODULES:
        return None
    mod_name = hits[0]["module"]
    mod = importlib.import_module(mod_name)
    rel, source = getattr(mod, base, None), getattr(mod, "SOURCES", {}).get(base)
    if not isinstance(rel, Relation) or source is None:
        return None
    return Entry(base, mod_name, rel, dict(source), base_dir / f"{base}.surrogate")


def _declared(name: str) -> list[str]:
    """``module:name`` of every relation called `name` in the catalogue's modules (shipped or not)."""
    import equations

    from ..declaration.relation import Relation

    out = []
    for mod_name in equations.MODULES:
        module = importlib.import_module(mod_name)
        if name in getattr(module, "__all__", []) and isinstance(getattr(module, name, None), Relation):
            out.append(f"{_short(mod_name)}:{name}")
    return out


def artifact(name: str, folder: str | os.PathLike | None = None) -> Entry:
    """The entry called `name` (see `entry`) whose artifact is current; ArtifactError saying how
    to rebuild it for a missing, stale or unreadable one."""
    e = entry(name, folder)
    st = status(e)
    if not st.ok:
        raise ArtifactError(st.message)
    return e


def read(e: Entry, reader):
    """`reader(e.path)`, its ArtifactError said as this version not loading the shipped artifact
    and how to rebuild it."""
    try:
        return reader(e.path)
    except ArtifactError as err:
        raise ArtifactError(f"the shipped artifact of {e.name} does not load with this version ({err}): "
                            f"rebuild it with {e.rebuild}") from None


#: The parts of a stored relation that the fingerprint leaves out: they do not change what is
#: trained or certified.  Units (declaration/units.py) are labels and conversions at the model's
#: edge: the network sees the same numbers in the same declared units, so a unit added to a
#: declaration must not make its shipped artifact stale (its weights and certificate are still
#: those of this relation).  Files written before units existed have no "units" at all.
UNTRAINED = ("units",)


def fingerprint(relation_or_dict) -> str:
    """sha256 of the declaration as the artifact format stores it (equations, bounds,
    output ranges, scales, normaliser, names): a change to any of them changes it.
    Units are left out (`UNTRAINED`): they do not change training."""
    d = relation_or_dict if isinstance(relation_or_dict, dict) else fmt.relation_to_dict(relation_or_dict)
    d = {k: v for k, v in d.items() if k not in UNTRAINED}
    return hashlib.sha256(json.dumps(d, sort_keys=True, allow_nan=False).encode()).hexdigest()


@dataclass(frozen=True)
class Status:
    """What the shipped artifact of an entry is: 'ok', 'missing', 'stale' or 'unreadable', and why."""

    state: str
    message: str
    manifest: dict | None = None  # the artifact's manifest when it could be read

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @property
    def certificate(self) -> Certificate | None:
        """The stored certificate, the same `Certificate` a load gives (status checked it reads)."""
        return fmt.certificate(self.manifest) if self.manifest else None

    @property
    def build(self) -> dict:
        """The build record stored in the artifact (empty for an artifact made otherwise)."""
        info = (self.manifest or {}).get("training") or {}
        return info.get("build") or {} if isinstance(info, dict) else {}


def status(e: Entry) -> Status:
    """Whether e's artifact exists, is readable and was trained on the relation declared now.

    Reads the header only (no torch, no compilation); `load` also rebuilds the model,
    which catches a layout this version derives differently (ArtifactError)."""
    if not e.path.is_file():
        return Status("missing", f"no shipped artifact for {e.name} ({e.path}): build it with {e.rebuild}")
    try:
        manifest, _ = fmt.read(e.path)
        fmt.certificate(manifest)  # the one a load would refuse
    except ArtifactError as err:
        return Status("unreadable", f"the shipped artifact of {e.name} cannot be read by this version ({err}): "
                                    f"rebuild it with {e.rebuild}")
    if fingerprint(manifest.get("relation", {})) != fingerprint(e.relation):
        return Status("stale", f"the shipped artifact of {e.name} was trained on another declaration than "
                               f"{e.module}.{e.name} (its fingerprint differs: equations, bounds or names changed): "
                               f"rebuild it with {e.rebuild}", manifest)
    return Status("ok", "", manifest)


def load(name: str, *, runtime: bool | None = None, folder: str | os.PathLike | None = None,
         device="cpu") -> Surrogate | PiecewiseSurrogate | Runtime | PiecewiseRuntime:
    """The shipped surrogate called `name` (plain or ``module:name``, see `entry`), ready to
    predict: no training.  This is `surrogate.catalogue`; `surrogate.load` takes the same names.

    runtime=None (the default) returns the torch model (`Surrogate`, or `PiecewiseSurrogate`
    for a piecewise relation) where the `train` extra is installed and the NumPy runtime's
    (`Runtime` or `PiecewiseRuntime`) otherwise; True or False chooses.  Either carries its
    `Certificate`.  `device` places the torch model.  Raises UnknownRelation (with the
    catalogue's names) for a name it does not have, and ArtifactError saying how to rebuild
    for a missing, stale or unreadable artifact.
    """
    e = artifact(name, folder)
    if runtime is None:
        try:
            import torch  # noqa: F401
        except ModuleNotFoundError:
            runtime = True
        else:
            runtime = False
    if runtime:
        from ..model import runtime as rt

        return read(e, rt.load)
    from ..model.artifact import load as load_torch

    return read(e, lambda path: load_torch(path, device=device))


def index(folder: str | os.PathLike | None = None, *, of: list[Entry] | None = None) -> dict[str, dict]:
    """{name: build record + size_bytes + certificate figures} of every readable shipped artifact
    (or of the entries `of`: a library built by `surrogate build`, persistence/library.py)."""
    out = {}
    for e in (entries(folder) if of is None else of):
        st = status(e)
        if st.manifest is None:
            continue
        cert = st.certificate
        out[e.name] = {
            **st.build,
            "state": st.state,
            "size_bytes": e.path.stat().st_size,
            "max_error": cert.max_error if cert else None,
            "p99_error": cert.p99_error if cert else None,
            "verify_points": cert.points if cert else None,
        }
    return out


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def costs(e: Entry) -> dict | None:
    """The cost per point measured for e's artifact (the `COSTS` file of its folder), or None where
    none was measured or the artifact changed since (its sha256 differs: the figures were of
    another network).  A dict with "batches" (points a call), "ways" ({label: ns a point at each
    batch, None where not timed}), "reference" (the label the speed-up is against), "speedup" and
    "note" (what was measured where, on which machine, by which command)."""
    try:
        figures = json.loads((e.path.parent / COSTS).read_text(encoding="utf-8"))["relations"][e.name]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(figures, dict) or figures.get("artifact_sha256") != _digest(e.path):
        return None
    return figures


def record_costs(e: Entry, figures: dict) -> Path:
    """Store `figures` (as `costs` returns them) for e's artifact in the `COSTS` file of its folder,
    keyed by its sha256, keeping the other relations' figures; returns the file."""
    digest = _digest(e.path)
    if digest is None:
        raise ArtifactError(f"no artifact of {e.name} at {e.path} to measure: build it with {e.rebuild}")
    path = e.path.parent / COSTS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    relations = data.get("relations") if isinstance(data.get("relations"), dict) else {}
    relations[e.name] = {**figures, "artifact_sha256": digest}
    text = json.dumps({"relations": dict(sorted(relations.items()))}, indent=1, allow_nan=False) + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path

"""One load for a saved surrogate, named by its file or by its shipped name.

    import surrogate as sg
    model = sg.load("f.surrogate")              # a file saved by model.save
    nu = sg.load("gnielinski")                  # a shipped, certified surrogate: no training
    nu = sg.load("convection:gnielinski")       # the same, as `surrogate list` prints it

    from surrogate import runtime
    lean = runtime.load("gnielinski")           # the NumPy runtime's model: no torch imported

`load` returns the torch model, `load_runtime` (the public `surrogate.runtime.load`) the
NumPy one; each carries the artifact's `Certificate`.  The command line reads its file
arguments through `resolve`.  A name is resolved by `shipped.entry` and nowhere else.

An argument is a path when it is a path object, when a file or folder of that name
exists, or when it holds a path separator or ends in ``.surrogate``; anything else is a
shipped name.  Importing this module does not import torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from . import shipped

if TYPE_CHECKING:
    from ..model.piecewise import PiecewiseSurrogate
    from ..model.runtime import PiecewiseRuntime, Runtime
    from ..model.surrogate import Surrogate

__all__ = ["is_path", "load", "load_runtime", "resolve"]


def is_path(path_or_name) -> bool:
    """Whether `path_or_name` names a file rather than a shipped surrogate (see the module's doc)."""
    if not isinstance(path_or_name, str):
        return True  # a Path (or any os.PathLike): read it, and let format.read say what is wrong
    s = path_or_name
    return os.path.exists(s) or os.sep in s or "/" in s or s.endswith(".surrogate")


def _entry(name: str) -> shipped.Entry:
    """The shipped entry of a current artifact; an unknown name says it is neither a file nor a name."""
    try:
        return shipped.artifact(name)
    except shipped.UnknownRelation as err:
        raise shipped.UnknownRelation(f"{name!r} is neither a file nor a shipped surrogate: {err}") from None


def resolve(path_or_name) -> Path:
    """The artifact file `path_or_name` stands for: itself when it is a path, else the shipped
    artifact of that name (UnknownRelation with the close names when there is none, ArtifactError
    saying how to rebuild a missing or stale one)."""
    if is_path(path_or_name):
        return Path(path_or_name)
    return _entry(path_or_name).path


def load(path_or_name, *, device="cpu") -> Surrogate | PiecewiseSurrogate:
    """Load a saved surrogate as a torch model: `path_or_name` is a file saved by `save` (a
    path), or the name of a shipped surrogate (``gnielinski`` or ``convection:gnielinski``;
    `catalogue_names`).  `device` is where the model's tensors live ("cpu", "cuda", ...).

    Returns a `Surrogate`, or a `PiecewiseSurrogate` for a piecewise relation, with its
    `Certificate` (None if it was saved without one).  No pickle, no eval, every part
    checked: raises ArtifactError naming the problem for a corrupt, hostile or unknown
    file, and UnknownRelation (a KeyError) listing the close names for a name that is
    neither a file nor a shipped surrogate.
    """
    from ..model.artifact import load as load_file

    if is_path(path_or_name):
        return load_file(path_or_name, device=device)
    return shipped.read(_entry(path_or_name), lambda path: load_file(path, device=device))


def load_runtime(path_or_name, *, precision: str = "float64") -> Runtime | PiecewiseRuntime:
    """`load` for NumPy alone (`surrogate.runtime.load`): the same paths and names, a `Runtime`
    or `PiecewiseRuntime` with the same `Certificate`, and no torch imported.  See
    `surrogate.model.runtime.load` for `precision`."""
    from ..model.runtime import load as load_file

    if is_path(path_or_name):
        return load_file(path_or_name, precision=precision)
    return shipped.read(_entry(path_or_name), lambda path: load_file(path, precision=precision))

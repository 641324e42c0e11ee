"""One root exception; every subclass also derives from the builtin it refines.

So `except ValueError` in a user's code still catches a bad declaration, and
`except SurrogateError` catches everything this package raises on purpose.
"""

from __future__ import annotations

#: The distribution's name on the package index (the import name is `surrogate`), and the
#: install commands that error messages give.
DISTRIBUTION = "surrogate-formula"
INSTALL_TRAIN = f"pip install '{DISTRIBUTION}[train]'"  # torch, pandas, Hypothesis, tqdm
#: Modules of the `train` extra: an import of one of them failing means the extra is missing.
TRAIN_MODULES = ("torch", "pandas", "hypothesis", "tqdm")


class SurrogateError(Exception):
    """Root of every error raised on purpose by `surrogate`."""


class RelationError(SurrogateError, ValueError):
    """A relation's declaration is invalid; the message lists every problem found."""

    def __init__(self, problems: list[str] | str, name: str | None = None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        head = f"relation {name!r} is invalid" if name else "relation is invalid"
        if len(self.problems) == 1:
            super().__init__(f"{head}: {self.problems[0]}")
        else:
            body = "\n".join(f"  - {p}" for p in self.problems)
            super().__init__(f"{head} ({len(self.problems)} problems):\n{body}")


class UnsupportedExpressionError(SurrogateError, TypeError):
    """An expression uses a function the compiler has no translation for."""


class DomainError(SurrogateError, ValueError):
    """Input values lie outside the relation's domain, or are NaN."""


class UnitError(DomainError):
    """A prediction input given as a pint Quantity that cannot be taken: its dimension is not that of
    the input's declared unit, or the input declares no unit (a DomainError, as any refused input)."""


class TrainingError(SurrogateError, RuntimeError):
    """Training could not go on, for instance a NaN or inf appeared."""


class ArtifactError(SurrogateError, ValueError):
    """A saved surrogate file is corrupt, hostile or from an unknown format."""


class FitError(SurrogateError, ValueError):
    """Parameter fitting got data or settings it cannot use."""

"""Units: declared per symbol, shown with it, and used to take pint Quantities at prediction.

A relation's ``units={D: "m", Re: "", h: "W/(m^2*K)"}`` gives some of its symbols a unit
string; ``""`` or ``"1"`` says the symbol is dimensionless, a symbol left out has no unit.
The strings are kept as the user wrote them: they are what the listings, the report, the
plot axes and the prediction columns show (`declaration/display.py`), and what the artifact
stores (`model/format.py`).  Units change neither training nor the certificate: a surrogate
works in the declared units' numbers, as it always has.

pint is optional (the ``units`` extra) and imported only here, lazily:

- **with pint**, a unit string pint cannot read is refused at declaration, and a prediction
  input given as a pint ``Quantity`` is converted to the input's declared unit before the
  domain check (`magnitudes`); the outputs then come back as Quantities (`quantities`);
- **without pint**, the strings are kept and shown as given; nothing is checked or converted
  (a Quantity cannot reach a model where pint is not installed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp

from ..errors import UnitError

__all__ = ["DIMENSIONLESS", "check_units", "is_dimensionless", "is_quantity", "magnitudes", "quantities"]

#: The unit strings that say "dimensionless" (pint reads each as such too).
DIMENSIONLESS = ("", "1", "dimensionless")
#: The longest unit string a declaration (and so an artifact) takes.
MAX_UNIT_CHARS = 100


def is_dimensionless(unit: str) -> bool:
    """Whether a declared unit string says the symbol is dimensionless (``""``, ``"1"``)."""
    return unit.strip() in DIMENSIONLESS


def _pint():
    """The pint module, or None where it is not installed (the ``units`` extra)."""
    try:
        import pint
    except ImportError:
        return None
    return pint


def unit_problem(unit: Any) -> str | None:
    """Why `unit` cannot be a declared unit (None when it can): not a string, too long, not
    printable, or (where pint is installed) a string pint cannot read as a unit."""
    if not isinstance(unit, str):
        return f"is {unit!r} ({type(unit).__name__}), not a string"
    if len(unit) > MAX_UNIT_CHARS or not unit.isprintable():
        return f"is {unit[:40]!r}..., longer than {MAX_UNIT_CHARS} characters or not printable" \
            if len(unit) > MAX_UNIT_CHARS else f"is {unit!r}, which is not printable"
    pint = _pint()
    if pint is None or is_dimensionless(unit):
        return None
    try:
        pint.get_application_registry().parse_units(unit)
    except Exception as e:  # noqa: BLE001 - pint's parser raises UndefinedUnitError, ValueError, AssertionError...
        why = str(e) or type(e).__name__
        return f"is {unit!r}, which pint cannot read as a unit ({why})"
    return None


def check_units(units: Mapping | None, symbols: Mapping[str, Any], problems: list[str]) -> dict[str, str]:
    """{name: unit string} from a declaration's ``units=``, every problem appended to `problems`:
    a key that is not one of the relation's symbols (by symbol or by name), a value that is not
    a unit string (`unit_problem`).  `symbols` are the relation's, by name."""
    out: dict[str, str] = {}
    if units is None:
        return out
    if not isinstance(units, Mapping):
        problems.append(f"units must be a mapping {{symbol: unit string}}, not {type(units).__name__}; "
                        "e.g. units={D: 'm', Re: ''}")
        return out
    for key, unit in units.items():
        name = key.name if isinstance(key, sp.Symbol) else key
        if not isinstance(name, str) or name not in symbols:
            known = ", ".join(symbols)
            problems.append(f"units given for {key!r}, which is not a symbol of the relation (its symbols are "
                            f"{known}); key units by the relation's symbols or their names")
            continue
        why = unit_problem(unit)
        if why:
            problems.append(f"the unit of {name} {why}; give a unit string pint reads, such as 'm', 'W/(m^2*K)' "
                            f"or 'K', or '' for a dimensionless {name}")
            continue
        out[name] = unit
    return out


def is_quantity(value: Any) -> bool:
    """Whether `value` is a pint Quantity (told without importing pint)."""
    mod = type(value).__module__
    return (mod == "pint" or mod.startswith("pint.")) and hasattr(value, "m_as") and hasattr(value, "units")


def magnitudes(values: Mapping[str, Any], units: Mapping[str, str],
               inputs: Sequence[str]) -> tuple[dict[str, Any], Any]:
    """(`values` with each pint Quantity of one of `inputs` replaced by its magnitude in the input's
    declared unit, the pint registry of the quantities, or None where there was none).

    Plain numbers and arrays pass unchanged (they are read in the declared unit, as always), and
    so do values of names that are not inputs (the caller refuses those by name).
    Raises UnitError naming the input, the unit given and the unit declared for a Quantity
    whose dimension differs, and for a Quantity given to an input that declares no unit.
    """
    out: dict[str, Any] = {}
    registry = None
    for name, v in values.items():
        if not is_quantity(v) or name not in inputs:
            out[name] = v
            continue
        given = f"{v.units:~}" or "dimensionless"
        if name not in units:
            raise UnitError(f"input {name} was given as a quantity in {given}, but the relation declares no unit "
                            f"for {name}; declare it, Relation(..., units={{{name}: '...'}}), or pass {name} as a "
                            "plain number")
        declared = units[name]
        try:
            out[name] = v.m_as("dimensionless" if is_dimensionless(declared) else declared)
        except Exception as e:  # noqa: BLE001 - DimensionalityError, or pint refusing an offset unit
            shown = "dimensionless" if is_dimensionless(declared) else repr(declared)
            try:
                why = f"[{v._REGISTRY.parse_units(declared).dimensionality}]" if shown != "dimensionless" else ""
                why = why.replace("[[", "[").replace("]]", "]")
            except Exception:  # noqa: BLE001 - a unit this registry cannot read: say pint's own words
                why = str(e)
            has = f"in {given} ({v.dimensionality})" if v.dimensionality else "as a dimensionless quantity"
            fix = (f"give {name} in {shown} or in a unit of the same dimension" if shown != "dimensionless" else
                   f"give {name} as a plain number or a dimensionless quantity")
            raise UnitError(f"input {name} is given {has}, which does not convert to its declared unit "
                            f"{shown}{f' ({why})' if why else ''}; {fix}") from None
        registry = registry if registry is not None else v._REGISTRY
    return out, registry


def quantities(outputs: Mapping[str, Any], units: Mapping[str, str], registry) -> dict[str, Any]:
    """Each output with a declared unit as a Quantity of `registry` in that unit; the others as they are."""
    return {o: registry.Quantity(y, "dimensionless" if is_dimensionless(units[o]) else units[o]) if o in units else y
            for o, y in outputs.items()}

"""The artifact format, parsed in one place and without torch.

An artifact is one safetensors file: the network's weights as tensors, and in the
header's ``__metadata__`` a ``format`` tag, a ``schema`` version and a JSON
``manifest``.  Expressions are stored as JSON trees of whitelisted SymPy node
types (`surrogate.trees`), never as code: reading an artifact runs no pickle and
no `eval`, and everything is checked against limits before it is used.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import struct
from typing import Any

import numpy as np
import sympy as sp

from .._version import __version__
from ..declaration.relation import Relation
from ..declaration.trees import (
    as_float,
    check_name,
    expr_from_json,
    expr_to_json,
    read_expr,
    short,
)
from ..declaration.units import MAX_UNIT_CHARS
from ..errors import ArtifactError, SurrogateError
from .records import Certificate

__all__ = [
    "FORMAT",
    "SCHEMA",
    "expr_to_json",
    "expr_from_json",
    "relation_to_dict",
    "relation_from_dict",
    "write",
    "read",
]

FORMAT = "surrogate"
#: Bumped on any change a reader of an older version could not handle; every version stays readable.
#: 1: the first layout.  2: the network may have a linear skip path (network.skip, tensor
#: skip.weight) and linear or log heads a bound (bound * tanh(n / bound) before the head).
#: 3: a piecewise relation's networks, one per piece (manifest 'pieces', tensors 'piece<k>.*';
#: piecewise.py).  Files of one network are still written as version 2.
SCHEMA = 3
SINGLE_SCHEMA = 2
PIECEWISE_SCHEMA = 3
MAX_PIECES = 64
MAX_HEADER_BYTES = 4 << 20
MAX_FILE_BYTES = 512 << 20

_ASSUMPTIONS = ("real", "positive", "negative", "nonnegative", "nonpositive", "integer", "finite")


def versions() -> dict[str, str]:
    """The versions a saved file was written with (torch's: the one that trained it)."""
    import torch  # only a torch model is saved

    return {"surrogate": __version__, "torch": torch.__version__, "sympy": sp.__version__, "numpy": np.__version__}


def jsonable(v: Any) -> Any:
    """Training info may hold tuples and non-finite floats; JSON gets lists and null."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating, np.integer)):
        return jsonable(v.item())
    return v


def network_entry(net, dtype) -> dict[str, Any]:
    """A network's manifest entry: its config and the dtype of its weights."""
    return {**net.config, "dtype": str(dtype).replace("torch.", "")}


# -- relations -------------------------------------------------------------------------------
def relation_to_dict(rel) -> dict[str, Any]:
    """The relation as plain JSON data (names, trees, numbers)."""
    syms = rel.symbols
    return {
        "name": rel.name,
        "symbols": {n: {k: True for k in _ASSUMPTIONS if s.assumptions0.get(k) is True} for n, s in syms.items()},
        "equations": [[expr_to_json(e.lhs), expr_to_json(e.rhs)] for e in rel.equations],
        "bounds": [[n, expr_to_json(lo), expr_to_json(hi)] for n, (lo, hi) in rel.bounds.items()],
        "outputs": [[o, list(r) if r is not None else None] for o, r in rel.output_ranges.items()],
        "parameters": [[n, lo, hi] for n, (lo, hi) in rel.parameter_bounds.items()],
        "scales": dict(rel.scales),
        "normalizer": {o: expr_to_json(e) for o, e in rel.normalizer.items()},
        # {name: unit string} (declaration/units.py); absent in files written before units existed
        "units": dict(rel.units),
    }


def relation_from_dict(d: Any):
    """Rebuild (and re-validate) a Relation from `relation_to_dict` data."""
    if not isinstance(d, dict):
        raise ArtifactError("manifest 'relation' must be an object")
    raw = d.get("symbols")
    if not isinstance(raw, dict) or len(raw) > 256:
        raise ArtifactError("manifest relation needs a 'symbols' object (at most 256 symbols)")
    symbols = {}
    for n, a in raw.items():
        check_name(n)
        if not isinstance(a, dict) or any(k not in _ASSUMPTIONS or v is not True for k, v in a.items()):
            raise ArtifactError(f"assumptions of symbol {n} must be a subset of {', '.join(_ASSUMPTIONS)} set to true")
        try:
            symbols[n] = sp.Symbol(n, **a)
        except ValueError as e:  # inconsistent assumptions, e.g. positive and negative
            raise ArtifactError(f"assumptions of symbol {n} are inconsistent: {e}") from None
    try:
        count = [0]  # one node budget for the whole relation
        eqs = [sp.Eq(read_expr(lhs, symbols, count), read_expr(rhs, symbols, count), evaluate=False)
               for lhs, rhs in _list(d, "equations", 2)]
        bounds = {symbols[check_name(n)]: (read_expr(lo, symbols, count), read_expr(hi, symbols, count))
                  for n, lo, hi in _list(d, "bounds", 3)}
        outs = {}
        for n, r in _list(d, "outputs", 2):
            if r is not None and not (isinstance(r, list) and len(r) == 2):
                raise ArtifactError(f"range of output {short(n)} must be null or [low, high]")
            outs[symbols[check_name(n)]] = None if r is None else (as_float(r[0], "output range"), as_float(r[1], "output range"))
        params = {symbols[check_name(n)]: (as_float(lo, "parameter bound"), as_float(hi, "parameter bound"))
                  for n, lo, hi in _list(d, "parameters", 3)}
        scales = d.get("scales", {})
        norm = d.get("normalizer", {})
        if not isinstance(scales, dict) or not isinstance(norm, dict):
            raise ArtifactError("manifest relation 'scales' and 'normalizer' must be objects")
        norm = {symbols[check_name(o)]: read_expr(t, symbols, count) for o, t in norm.items()}
        if any(v not in ("linear", "log") for v in scales.values() if isinstance(v, str)) or \
                not all(isinstance(v, str) for v in scales.values()):
            raise ArtifactError(f"manifest relation scales {short(scales)} must each be 'linear' or 'log'")
        scales = {symbols[check_name(n)]: v for n, v in scales.items()}
        units = d.get("units", {})  # {} in a file written before units existed
        if not isinstance(units, dict) or len(units) > len(symbols) or \
                not all(isinstance(v, str) and len(v) <= MAX_UNIT_CHARS for v in units.values()):
            raise ArtifactError(f"manifest relation units {short(units)} must map symbol names to unit strings")
        units = {check_name(n): v for n, v in units.items()}
        name = d.get("name")
        if name is not None and not (isinstance(name, str) and len(name) <= 200):
            raise ArtifactError("relation name must be a short string")
    except KeyError as e:
        raise ArtifactError(f"manifest relation uses symbol {short(e.args[0])}, which it does not declare") from None
    except ArtifactError:
        raise
    except (TypeError, ValueError, ArithmeticError) as e:  # SymPy refusing to build an equation
        raise ArtifactError(f"manifest relation is malformed: {type(e).__name__}: {short(str(e))}") from None
    use_ranges = any(r is not None for r in outs.values())
    try:
        return Relation(eqs, bounds=bounds, outputs=outs if use_ranges else list(outs), parameters=params or None,
                        scales=scales or None, normalizer=norm or None, units=units or None, name=name)
    except (SurrogateError, ValueError, TypeError, ArithmeticError) as e:
        # RelationError for a declaration that does not validate; SymPy may raise the others
        raise ArtifactError(f"the relation stored in the artifact does not validate: {e}") from None


def _list(d: dict, key: str, width: int) -> list:
    v = d.get(key, [])
    if not isinstance(v, list) or len(v) > 1000 or any(not isinstance(r, list) or len(r) != width for r in v):
        raise ArtifactError(f"manifest relation '{key}' must be a list of {width}-element lists")
    return v


# -- files ---------------------------------------------------------------------------------
def write(path, manifest: dict[str, Any], tensors: dict[str, np.ndarray], *, schema: int = SCHEMA) -> None:
    """Write the artifact atomically (a crash never leaves half a file at `path`).

    `schema` is for tests that reproduce files of an older layout.
    """
    from safetensors.numpy import save

    text = json.dumps(manifest, allow_nan=False, sort_keys=True)
    blob = save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                metadata={"format": FORMAT, "schema": str(schema), "manifest": text})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    # os.open with 0o666 lets the umask decide the mode, as for any file the user writes
    # (tempfile.mkstemp would leave the artifact readable by its owner only)
    tmp = os.path.join(folder, f".surrogate-{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_DTYPES = {"F32": np.float32, "F64": np.float64}


def read(path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(manifest, tensors) of an artifact, after checking its structure and limits.

    Raises ArtifactError naming the problem for anything that is not a well-formed
    artifact of a known schema; executes nothing from the file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ArtifactError(f"{path!r} is {size} bytes, above the {MAX_FILE_BYTES}-byte limit for an artifact")
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ArtifactError(f"cannot read artifact {path!r}: {e.strerror or e}") from None
    return parse(data, path)


def parse(data: bytes, label: str = "artifact") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Like `read`, from bytes."""
    if len(data) < 8:
        raise ArtifactError(f"{label} is truncated: {len(data)} bytes, not even a header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES:
        raise ArtifactError(f"{label}: header length {n} is above the {MAX_HEADER_BYTES}-byte limit (a manifest "
                            "that large is refused); the file is hostile, corrupt or not an artifact")
    if 8 + n > len(data):
        raise ArtifactError(f"{label} is truncated or not an artifact: header length {n} runs beyond the file "
                            f"({len(data)} bytes)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise ArtifactError(f"{label} is not a surrogate artifact: its header is not JSON (wrong magic)") from None
    if not isinstance(header, dict):
        raise ArtifactError(f"{label} is not a surrogate artifact: its header is not a JSON object")
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(f"{label} is not a surrogate artifact (no format tag {FORMAT!r} in its metadata)")
    raw_schema = meta.get("schema")
    if not (isinstance(raw_schema, str) and raw_schema.isascii() and raw_schema.isdigit() and len(raw_schema) <= 6):
        raise ArtifactError(f"{label} has no valid schema version ({short(raw_schema)}); "
                            "it was not written by surrogate")
    schema = int(raw_schema)
    if schema < 1 or schema > SCHEMA:
        raise ArtifactError(f"{label} has schema version {schema}; this surrogate reads versions 1 to {SCHEMA}: "
                            "upgrade surrogate to load it")
    text = meta.get("manifest")
    if not isinstance(text, str):
        raise ArtifactError(f"{label}: manifest is missing or not a JSON string")
    try:
        manifest = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than the parser's stack
        raise ArtifactError(f"{label}: manifest is not valid JSON ({type(e).__name__}: {short(str(e))})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{label}: manifest must be a JSON object")
    end = len(data) - 8 - n
    for name, t in header.items():
        if not (isinstance(name, str) and _TENSOR_NAME.fullmatch(name)):
            raise ArtifactError(f"{label}: tensor name {short(name)} is not a plain identifier; refusing the artifact")
        if not isinstance(t, dict) or not isinstance(t.get("dtype"), str) or t["dtype"] not in _DTYPES:
            raise ArtifactError(f"{label}: tensor {name!r} has dtype {short(t.get('dtype') if isinstance(t, dict) else t)};"
                                " only F32 and F64 are allowed")
        shape, off = t.get("shape"), t.get("data_offsets")
        if not (isinstance(shape, list) and len(shape) <= 4 and all(isinstance(s, int) and 0 <= s < 1 << 24 for s in shape)):
            raise ArtifactError(f"{label}: tensor {name!r} has an invalid shape {short(shape)}")
        if not (isinstance(off, list) and len(off) == 2 and all(isinstance(o, int) for o in off) and 0 <= off[0] <= off[1] <= end):
            raise ArtifactError(f"{label}: tensor {name!r} has data offsets {short(off)} outside the file")
        if off[1] - off[0] != math.prod(shape) * np.dtype(_DTYPES[t["dtype"]]).itemsize:
            raise ArtifactError(f"{label}: tensor {name!r} has {off[1] - off[0]} bytes for shape {shape}")
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        tensors = load(data)
    except SafetensorError as e:
        raise ArtifactError(f"{label}: the weights are corrupt ({e})") from None
    for name, arr in tensors.items():
        if not np.all(np.isfinite(arr)):
            raise ArtifactError(f"{label}: tensor {name!r} holds NaN or inf values")
    return manifest, tensors


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed in a manifest")


# -- the model parts of a manifest -------------------------------------------------------------
_ACTIVATIONS = ("silu", "gelu", "tanh", "relu")
_TENSOR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,63}", re.ASCII)
_FEATURE_KEYS = {"linear": {"lo", "hi"}, "log": {"lo", "hi"}, "edge": {"lo", "hi", "side", "delta"},
                 "log_edge": {"lo", "hi", "side", "delta"}, "group": {"lo", "hi", "index", "expr"}}
_HEAD_KEYS = {"linear": {"a", "b"}, "log": {"a", "b", "sign"}, "signed_log": {"ap", "bp", "an", "bn"}}


def expected_weights(net: dict[str, int | str]) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of the MLP described by `net` (see network.MLP)."""
    shapes: dict[str, tuple[int, ...]] = {}
    size = net["n_in"]
    for i in range(net["depth"]):
        shapes[f"hidden.{2 * i}.weight"] = (net["width"], size)
        shapes[f"hidden.{2 * i}.bias"] = (net["width"],)
        size = net["width"]
    shapes["last.weight"] = (net["n_out"], size)
    shapes["last.bias"] = (net["n_out"],)
    if net.get("skip", False):  # the linear path features -> outputs (absent before it existed)
        shapes["skip.weight"] = (net["n_out"], net["n_in"])
    return shapes


def piece_parts(manifest: dict[str, Any], tensors: dict[str, np.ndarray]):
    """(relation, [(feature specs, head specs, network config, weights) or None for a constant
    piece] per piece) of a piecewise artifact (schema 3): the pieces are derived again from the stored relation
    and must be as many as the manifest's; every tensor belongs to one piece."""
    if "relation" not in manifest:
        raise ArtifactError("manifest has no 'relation' section; the file is not a complete surrogate artifact")
    parts = manifest["pieces"]
    if not isinstance(parts, list) or not 2 <= len(parts) <= MAX_PIECES or not all(isinstance(p, dict) for p in parts):
        raise ArtifactError(f"manifest 'pieces' must be a list of 2 to {MAX_PIECES} objects")
    relation = relation_from_dict(manifest["relation"])
    if relation.pieces is None or len(relation.pieces) != len(parts):
        raise ArtifactError(f"the manifest holds {len(parts)} piece networks but the stored relation has "
                            f"{len(relation.pieces or ())} pieces as this version derives them; retrain the surrogate "
                            "with this version")
    by_piece: list[dict[str, np.ndarray]] = [{} for _ in parts]
    for name, t in tensors.items():
        head, _, rest = name.partition(".")
        k = head.removeprefix("piece")
        if not (head.startswith("piece") and k.isascii() and k.isdigit() and int(k) < len(parts) and rest):
            raise ArtifactError(f"tensor {short(name)} belongs to no piece (names are piece<k>.<weight>)")
        by_piece[int(k)][rest] = t
    out = []
    for p, part, weights in zip(relation.pieces, parts, by_piece):
        if p.constant is not None:  # its value is derived from the relation; the file holds it for readers
            if set(part) != {"constant"} or weights or not isinstance(part["constant"], list) or \
                    [as_float(v, "constant piece value") for v in part["constant"]] != list(p.constant):
                raise ArtifactError(f"piece {p.number} of the stored relation is the constant {list(p.constant)}; "
                                    f"the manifest has {short(part)} and {len(weights)} tensors for it")
            out.append(None)
            continue
        _, feats, heads, cfg = model_parts(part, weights, relation=p.relation)
        out.append((feats, heads, cfg, weights))
    return relation, out


def model_parts(manifest: dict[str, Any], tensors: dict[str, np.ndarray], relation=None):
    """(relation, feature specs, head specs, network config) of a checked manifest.

    The network config holds n_in, n_out, width, depth, activation, skip (False
    when the manifest predates it) and dtype ('float32' or 'float64'); raises
    ArtifactError naming the first problem.
    """
    for key in ("relation", "features", "heads", "network"):
        if key not in manifest and not (key == "relation" and relation is not None):
            raise ArtifactError(f"manifest has no {key!r} section; the file is not a complete surrogate artifact")
    if relation is None:  # given: a piece's sub-relation, derived from the stored relation (piece_parts)
        relation = relation_from_dict(manifest["relation"])
    feats, heads = manifest["features"], manifest["heads"]
    if not isinstance(feats, list) or not 1 <= len(feats) <= 1024:
        raise ArtifactError("manifest 'features' must be a non-empty list")
    checked = []
    for f in feats:
        kind = f.get("kind") if isinstance(f, dict) else None
        if not isinstance(kind, str) or kind not in _FEATURE_KEYS or set(f) != _FEATURE_KEYS[kind] | {"kind", "input"}:
            raise ArtifactError(f"feature {short(f)} is not one of the known kinds {', '.join(_FEATURE_KEYS)}")
        if f["input"] not in relation.inputs:
            raise ArtifactError(f"feature refers to {short(f['input'])}, which is not an input")
        f = {**f, **{k: as_float(f[k], f"feature {k}") for k in _FEATURE_KEYS[kind] - {"side", "expr"}}}
        if kind == "group":
            groups = relation.program.feature_groups
            i = int(f["index"])
            if i != f["index"] or not 0 <= i < len(groups) or expr_to_json(groups[i][0]) != f["expr"]:
                raise ArtifactError(f"group feature {short(f['expr'])} is not group {short(f['index'])} of the relation "
                                    "as this version derives it; retrain the surrogate with this version")
            f["index"] = i
        checked.append(f)
        if kind in ("edge", "log_edge") and f["side"] not in ("low", "high"):
            raise ArtifactError(f"edge feature side must be 'low' or 'high', not {short(f['side'])}")
        if kind in ("edge", "log_edge") and not 0.0 < f["delta"] < 1.0:
            raise ArtifactError(f"edge feature delta must lie in (0, 1), not {short(f['delta'])}")
        if f["hi"] == f["lo"]:
            raise ArtifactError("feature has an empty range (lo == hi)")
    feats = checked
    net = manifest["network"]
    if not isinstance(net, dict):
        raise ArtifactError("manifest 'network' must be an object")
    for k in ("n_in", "n_out", "width", "depth"):
        if not isinstance(net.get(k), int) or isinstance(net.get(k), bool) or not 1 <= net[k] <= 4096:
            raise ArtifactError(f"network {k} must be an integer in [1, 4096], not {short(net.get(k))}")
    if not isinstance(net.get("activation"), str) or net["activation"] not in _ACTIVATIONS:
        raise ArtifactError(f"network activation {short(net.get('activation'))} is not one of {', '.join(_ACTIVATIONS)}")
    if not isinstance(net.get("skip", False), bool):
        raise ArtifactError(f"network skip must be true or false, not {short(net.get('skip'))}")
    dtype = net.get("dtype", "float32")
    if not isinstance(dtype, str) or dtype not in ("float32", "float64"):
        raise ArtifactError(f"network dtype {short(dtype)} is not float32 or float64")
    if net["n_in"] != len(feats):
        raise ArtifactError(f"network takes {net['n_in']} features but the manifest lists {len(feats)}")
    if not isinstance(heads, list) or len(heads) != len(relation.outputs):
        raise ArtifactError("manifest 'heads' must list one head per output")
    used, checked = [], []
    for h, o in zip(heads, relation.outputs):
        kind = h.get("kind") if isinstance(h, dict) else None
        base = _HEAD_KEYS.get(kind, set()) | {"kind", "output", "channels"} if isinstance(kind, str) else set()
        if not isinstance(kind, str) or kind not in _HEAD_KEYS or set(h) not in (base, base | {"bound"}):
            raise ArtifactError(f"head {short(h)} is not one of the known kinds {', '.join(_HEAD_KEYS)}")
        if h["output"] != o:
            raise ArtifactError(f"head for {short(h['output'])} where output {o} was expected")
        h = {**h, **{k: as_float(h[k], f"head {k}") for k in _HEAD_KEYS[kind] | ({"bound"} & set(h))}}
        if h.get("bound", 1.0) <= 0:
            raise ArtifactError(f"head bound must be positive, not {short(h['bound'])}")
        checked.append(h)
        if kind == "log" and h["sign"] not in (1.0, -1.0):
            raise ArtifactError(f"log head sign must be 1 or -1, not {short(h['sign'])}")
        ch = h["channels"]
        if not (isinstance(ch, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in ch)
                and len(ch) == (2 if kind == "signed_log" else 1)):
            raise ArtifactError(f"head channels {short(ch)} do not fit a {kind} head")
        used += ch
    heads = checked
    if sorted(used) != list(range(net["n_out"])):
        raise ArtifactError(f"heads use channels {used} but the network has {net['n_out']} outputs")
    want = expected_weights(net)
    if set(tensors) != set(want):
        raise ArtifactError(f"weights {sorted(tensors)} do not match the network in the manifest ({sorted(want)})")
    for name, shape in want.items():
        if tuple(tensors[name].shape) != shape:
            raise ArtifactError(f"weight {name} has shape {tuple(tensors[name].shape)}; the manifest implies {shape}")
    return relation, feats, heads, {**{k: net[k] for k in ("n_in", "n_out", "width", "depth", "activation")},
                                    "skip": net.get("skip", False), "dtype": dtype}


# -- the certificate -----------------------------------------------------------------------------
_CERT_NUMBERS = ("max_error", "p99_error", "mean_error", "dense_max_error", "atol", "seconds")
_CERT_INTS = ("points", "seed", "undefined_points", "refined_points")


def certificate(manifest: dict[str, Any]) -> Certificate | None:
    """The manifest's certificate, checked, as a `Certificate` (None if it has none).

    One reading for every load (the torch model, the NumPy runtime, the shipped
    catalogue's status), so each hands back the same type.  Non-finite errors are
    stored as null (JSON has no inf) and come back as NaN; any other value where a
    number belongs, and a field this version does not know or a missing one, raises
    ArtifactError, so that printing a loaded certificate cannot fail.
    """
    checked = _certificate_fields(manifest)
    if checked is None:
        return None
    try:
        return Certificate.from_dict(checked)
    except TypeError as e:
        raise ArtifactError(f"the certificate in the manifest is malformed: {e}") from None


def _certificate_fields(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest's certificate as a dict with its numbers checked (None if it has none)."""
    cert = manifest.get("certificate")
    if cert is None:
        return None
    if not isinstance(cert, dict):
        raise ArtifactError(f"manifest 'certificate' must be an object or null, not {short(cert)}")
    out = dict(cert)

    def number(v: Any, what: str) -> float:
        return math.nan if v is None else as_float(v, what)

    for k in _CERT_NUMBERS:
        if k in out:
            out[k] = number(out[k], f"certificate {k}")
    for k in _CERT_INTS:
        if k in out and (not isinstance(out[k], int) or isinstance(out[k], bool)):
            raise ArtifactError(f"certificate {k} must be an integer, not {short(out[k])}")
    for k in ("relation", "error", "note"):
        if k in out and not isinstance(out[k], str):
            raise ArtifactError(f"certificate {k} must be a string, not {short(out[k])}")
    if "outputs" in out and not (isinstance(out["outputs"], list) and all(isinstance(o, str) for o in out["outputs"])):
        raise ArtifactError(f"certificate outputs must be a list of names, not {short(out['outputs'])}")
    if "worst" in out:
        if not isinstance(out["worst"], dict):
            raise ArtifactError(f"certificate worst must be an object, not {short(out['worst'])}")
        out["worst"] = {k: number(v, f"certificate worst {k}") for k, v in out["worst"].items()}
    if "per_output" in out:
        per = out["per_output"]
        if not isinstance(per, dict) or not all(isinstance(v, dict) for v in per.values()):
            raise ArtifactError(f"certificate per_output must map outputs to objects, not {short(per)}")
        out["per_output"] = {o: {k: number(v, f"certificate per_output {o} {k}") for k, v in d.items()}
                             for o, d in per.items()}
    if "pieces" in out:  # a piecewise model's certificate: one entry per piece
        pieces = out["pieces"]
        if not isinstance(pieces, list) or len(pieces) > MAX_PIECES or not all(isinstance(p, dict) for p in pieces):
            raise ArtifactError(f"certificate pieces must be a list of objects, not {short(pieces)}")
        checked = []
        for p in pieces:
            if set(p) != {"piece", "condition", "max_error", "p99_error", "mean_error", "dense_max_error", "points",
                          "worst"} or not isinstance(p["condition"], str) or not isinstance(p["worst"], dict) or \
                    any(not isinstance(p[k], int) or isinstance(p[k], bool) for k in ("piece", "points")):
                raise ArtifactError(f"certificate piece {short(p)} is malformed")
            checked.append({**p, **{k: number(p[k], f"certificate piece {k}")
                                    for k in ("max_error", "p99_error", "mean_error", "dense_max_error")},
                            "worst": {k: number(v, "certificate piece worst") for k, v in p["worst"].items()}})
        out["pieces"] = checked
    for k in ("search", "unsolved", "residual"):
        if out.get(k) is not None and not isinstance(out[k], dict):
            raise ArtifactError(f"certificate {k} must be an object, not {short(out[k])}")
    return out


"""Write the declared units into the shipped artifacts' manifests, without retraining.

    python bench/catalogue_units.py            # rewrite the artifacts whose units differ from their declaration
    python bench/catalogue_units.py --check    # exit 1, naming them, if any differs (writes nothing)

Units (``Relation(units=...)``, surrogate/declaration/units.py) do not change what is trained
or certified, so they are left out of the shipped artifacts' fingerprint (persistence/shipped.py,
``UNTRAINED``): adding them to ``equations/*.py`` leaves every artifact current.  An artifact
built afterwards by ``bench/build_catalogue.py`` stores its relation's units like any saved model;
this script brings the artifacts built before to the same state.  For each artifact whose
stored ``relation.units`` differ from its declaration's, it rewrites the manifest's
``relation.units`` and nothing else: the weights (byte for byte), the certificate, the training
record and the schema version are kept, and the script re-reads each file to check that.  An
artifact that is stale or unreadable is refused: that one needs ``bench/build_catalogue.py``.
``equations/artifacts/catalogue.json`` gets the new file sizes (its only field that changes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from surrogate.model import format as fmt  # noqa: E402
from surrogate.persistence import shipped  # noqa: E402


def stored_schema(path: Path) -> int:
    """The schema version in the artifact's safetensors metadata (kept as it is on rewrite)."""
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        return int(f.metadata()["schema"])


def differing(entries: list[shipped.Entry]) -> list[tuple[shipped.Entry, dict, dict]]:
    """(entry, stored units, declared units) of each current artifact whose units differ from
    its declaration's; SystemExit naming a stale, missing or unreadable one."""
    out = []
    for e in entries:
        st = shipped.status(e)
        if not st.ok:
            raise SystemExit(f"{e.name}: {st.message} (units are written into current artifacts only)")
        stored = st.manifest["relation"].get("units", {})
        if stored != e.relation.units:
            out.append((e, stored, e.relation.units))
    return out


def rewrite(e: shipped.Entry, units: dict) -> int:
    """Write `units` into e's artifact; checks the weights, certificate and everything but the
    units read back unchanged.  Returns the new size in bytes."""
    manifest, tensors = fmt.read(e.path)
    schema = stored_schema(e.path)
    new = {**manifest, "relation": {**manifest["relation"], "units": dict(units)}}
    fmt.write(e.path, new, tensors, schema=schema)
    again, back = fmt.read(e.path)
    assert stored_schema(e.path) == schema, e.name
    assert set(back) == set(tensors) and all(back[k].dtype == tensors[k].dtype and
                                             back[k].tobytes() == tensors[k].tobytes() for k in tensors), e.name
    rel_before = {k: v for k, v in manifest["relation"].items() if k != "units"}
    rel_after = {k: v for k, v in again["relation"].items() if k != "units"}
    assert rel_after == rel_before and again["relation"]["units"] == units, e.name
    assert {k: v for k, v in again.items() if k != "relation"} == {k: v for k, v in manifest.items() if k != "relation"}
    assert shipped.status(e).ok, e.name
    return e.path.stat().st_size


def update_index(sizes: dict[str, int]) -> None:
    """catalogue.json with the rewritten artifacts' sizes (and the total): nothing else changes."""
    path = shipped.directory() / shipped.INDEX
    doc = json.loads(path.read_text())
    for name, size in sizes.items():
        doc["relations"][name]["size_bytes"] = size
    doc["total_size_bytes"] = sum(r["size_bytes"] for r in doc["relations"].values())
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report the artifacts whose units differ")
    args = ap.parse_args(argv)
    todo = differing(shipped.entries())
    for e, stored, declared in todo:
        print(f"{e.name}: stored units {stored or '{}'} -> declared {declared}")
    if args.check:
        return 1 if todo else 0
    sizes = {e.name: rewrite(e, declared) for e, _, declared in todo}
    if sizes:
        update_index(sizes)
    print(f"rewrote {len(sizes)} artifact(s); weights and certificates unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())

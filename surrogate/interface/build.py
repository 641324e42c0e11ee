"""`surrogate build`: train, certify and save every relation of one or more modules, with a
datasheet each, in local processes or on a Dask cluster.

    surrogate build mylib.relations -o lib/                       # one process
    surrogate build mylib.relations other.py -o lib/ --jobs 4     # four local processes
    surrogate build mylib.relations -o lib/ --cluster local:4     # a local Dask cluster of 4 workers
    surrogate build mylib.relations -o lib/ --cluster tcp://scheduler:8786

Writes lib/NAME.surrogate (the certificate inside, the build record in ``info["build"]``),
lib/catalogue.json (the records, certified figures and sizes) and, unless --no-docs, a datasheet
per relation (lib/docs/NAME/README.md: `surrogate report`'s page) and lib/docs/index.md.  A rerun
skips what is up to date (persistence/library.py says when), names what is stale and rebuilds it;
a relation that fails is reported without losing the others; Ctrl-C keeps every artifact that
finished (each is written atomically) and a rerun resumes.  The shipped catalogue is built by
this same code (bench/build_catalogue.py is a thin wrapper over `build`).

**One path for every executor.** Each relation is one task, `library.build_one(task)`, on a
`concurrent.futures.Executor`: this process (``--jobs 1``), a `ProcessPoolExecutor` of spawned
processes (``--jobs N``), or a Dask cluster's (`distributed.Client(...).get_executor()`, itself a
`concurrent.futures.Executor`); one submit/wait loop drives them all, at most one task per
worker in flight.  Dask rather than Ray: a lighter install (pure Python over Tornado), and its
executor is the standard interface, so no code differs between the local and the cluster
path.  Each task sets torch to one thread; a Dask worker must run one task at a time
(``dask worker --nthreads 1``; `local:N` starts them so), since two builds in one process
would share torch's global seed.  On a remote cluster the modules must import on the workers
(same path on a shared file system, or installed) and the output folder must be shared.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing as mp
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..persistence import library, shipped
from ..persistence.library import Budget, BuildError
from ..persistence.shipped import Entry
from ..training.progress import progress_bar
from .report import budget_text, catalogue_about, inputs_text, write_report

__all__ = ["BuildResult", "build", "executor", "run_tasks"]

#: Error maps of the datasheets: points of the dense sample behind them (at most), and resolution.
DOC_POINTS = 100_000
DOC_DPI = 60
INSTALL_CLUSTER = "pip install 'surrogate-formula[cluster]' (dask[distributed])"


@dataclass
class BuildResult:
    """What a build did, by relation name."""

    built: dict[str, dict] = field(default_factory=dict)  # name: record with max_error, p99_error
    skipped: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # rebuilt because their declaration changed
    failed: dict[str, str] = field(default_factory=dict)  # name: the error
    pages: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def status(self) -> int:
        """The command's exit status: 130 interrupted, 1 when something failed, else 0."""
        return 130 if self.interrupted else 1 if self.failed else 0


# -- executors -------------------------------------------------------------------------------------
class InlineExecutor(cf.Executor):
    """Runs each task in this process when it is submitted (``--jobs 1``): the same loop, no pickling."""

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as err:  # noqa: BLE001  (reported by the loop, as a worker's would be)
            fut.set_exception(err)
        return fut


def parse_cluster(cluster: str | None) -> tuple[str, int | str] | None:
    """('local', N) or ('address', 'tcp://...'); BuildError for anything else, before any work."""
    if cluster is None:
        return None
    m = re.fullmatch(r"local:(\d+)", cluster)
    if m:
        if int(m.group(1)) < 1:
            raise BuildError(f"--cluster {cluster}: a local cluster needs at least one worker (local:2)")
        return "local", int(m.group(1))
    if re.fullmatch(r"(tcp|tls|ws|wss|inproc|ucx)://\S+", cluster):
        return "address", cluster
    raise BuildError(f"--cluster {cluster!r} is neither local:N (a local Dask cluster of N worker processes) nor a "
                     "scheduler's address (tcp://host:8786)")


@contextlib.contextmanager
def executor(jobs: int = 1, cluster: str | None = None) -> Iterator[tuple[cf.Executor, int]]:
    """(executor, how many tasks it runs at once): this process, `jobs` spawned processes, or a
    Dask cluster (`cluster`: ``local:N`` or a scheduler's address)."""
    where = parse_cluster(cluster)
    if where is None:
        if jobs <= 1:
            yield InlineExecutor(), 1
            return
        pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"))
        try:
            yield pool, jobs
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:
        raise BuildError(f"--cluster needs Dask's distributed, which is not installed here: {INSTALL_CLUSTER}") from None
    local = None
    if where[0] == "local":
        local = LocalCluster(n_workers=where[1], threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(local)
    else:
        try:
            client = Client(where[1], timeout=30)
        except OSError as err:
            raise BuildError(f"--cluster {where[1]}: cannot reach the scheduler ({err}); start it with "
                             "`dask scheduler` and its workers with `dask worker ADDRESS --nthreads 1`") from None
    try:
        threads = client.nthreads()
        crowded = sorted(w for w, n in threads.items() if n > 1)
        if crowded:
            raise BuildError(f"--cluster {cluster}: workers {', '.join(crowded)} run {max(threads.values())} tasks "
                             "at once; two builds in one process share torch's seed, so start each worker with "
                             "`dask worker ADDRESS --nthreads 1` (more workers rather than more threads)")
        if not threads:
            raise BuildError(f"--cluster {cluster}: the scheduler has no workers; start them with "
                             "`dask worker ADDRESS --nthreads 1`")
        yield client.get_executor(pure=False), len(threads)
    finally:
        # a worker that imported torch may take longer to exit than the nanny waits (4 s) before it
        # kills it; every result is saved by then, so that warning says nothing wrong
        nanny = logging.getLogger("distributed.nanny")
        level = nanny.level
        nanny.setLevel(logging.ERROR)
        try:
            client.close()
            if local is not None:
                local.close()
        finally:
            nanny.setLevel(level)


def run_tasks(ex: cf.Executor, width: int, fn: Callable, items: Iterable[tuple[str, object]],
              started: Callable[[list[str]], None] = lambda names: None) -> Iterator[tuple[str, object]]:
    """fn(arg) for each (name, arg), at most `width` in flight; yields (name, result or exception)
    as each finishes.  `started(names)` is told the names in flight before each submit.  The one
    loop of every executor (this process, local processes, Dask)."""
    todo = iter(items)
    running: dict[cf.Future, str] = {}

    def fill():
        while len(running) < width:
            item = next(todo, None)
            if item is None:
                return
            started([*running.values(), item[0]])
            running[ex.submit(fn, item[1])] = item[0]

    try:
        fill()
        while running:
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                name = running.pop(fut)
                try:
                    res = fut.result()
                except Exception as err:  # noqa: BLE001  (one relation failing does not stop the others)
                    res = err
                yield name, res
            fill()
    finally:
        for fut in running:
            fut.cancel()


# -- pages -----------------------------------------------------------------------------------------
def short_source(text: str, limit: int = 90) -> str:
    """The citation's head: authors up to the year, else the textbook equation, else `limit` characters."""
    year = re.search(r"\((1[89]|20)\d\d\)", text)
    if year and year.end() <= limit:
        return text[: year.end()]
    book = re.search(r"(Incropera|White), 7th ed\., (Eqs?\.|Table|sec\.|ch\.) [\w.\-]*\w(, Eqs?\. [\w.\-]*\w)?", text)
    if book:
        return book.group(0)
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _shown(path: Path) -> str:
    """`path` as the user would type it: relative to the working folder where it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def write_datasheet(task: dict) -> str:
    """DOCS/NAME/README.md of one built relation (runs on the build's executor like `build_one`):
    `surrogate report`'s page with `report.catalogue_about`'s section (a shipped surrogate's by
    its name, as `surrogate report NAME` writes it)."""
    import torch

    torch.set_num_threads(1)
    from ..model.artifact import load

    docs, name = Path(task["docs"]), task["name"]
    if task.get("shipped"):
        page = write_report(name, docs / name, format="md", points=task["points"], dpi=DOC_DPI)
        return str(page)
    model = load(task["path"])
    e = Entry(name, task["module"], model.relation, task["source"], Path(task["path"]), task["command"])
    about, note = catalogue_about(e, model, artifact=task["shown"])
    page = write_report(model, docs / name, format="md", points=task["points"], dpi=DOC_DPI, about=about, note=note,
                        artifact=task["shown"])
    return str(page)


def write_index_page(entries: list[Entry], idx: dict, wants: dict[str, dict], docs: Path, *, title: str,
                     intro: list[str], command: str, bar: float | None = None) -> Path:
    """DOCS/index.md: one row per relation, linking its datasheet."""
    rows, total, train_s, above = [], 0, 0.0, []
    has_source = any(e.source for e in entries)
    for e in entries:
        r = idx.get(e.name)
        src = [short_source(e.source.get("source", "")), e.source.get("accuracy", "")] if has_source else []
        if r is None:
            rows.append("| " + " | ".join([e.name, inputs_text(e.relation), *src, "not built", "", "", ""]) + " |")
            continue
        total += r["size_bytes"]
        train_s += r.get("train_cpu_s") or 0.0
        mx = r["max_error"]
        flag = "" if bar is None or (mx is not None and mx <= bar) else f" (above {bar:g})"
        if flag:
            above.append(e.name)
        kind = "" if e.relation.is_explicit else " (implicit: against the solve)"
        link = f"[{e.name}]({e.name}/README.md)" if (docs / e.name / "README.md").is_file() else e.name
        rows.append("| " + " | ".join([link, inputs_text(e.relation), *src, f"{mx:.2g}{flag}{kind}", f"{r['p99_error']:.2g}",
                                       f"{budget_text(r)} / {r.get('train_cpu_s', '?')} CPU s",
                                       f"{r['size_bytes'] / 1024:.0f} KiB"]) + " |")
    cols = ["relation", "inputs and range", *(["source", "accuracy of the correlation"] if has_source else []),
            "certified max error", "p99", "training budget (one thread)", "artifact"]
    head = [f"# {title}", "", *intro]
    points = sorted({r.get("verify_points") for r in idx.values()} - {None})
    if points:
        head += [f"Each certificate: {', '.join(f'{p:,}' for p in points)} scrambled Sobol points, then the "
                 "worst-case search.", ""]
    off = [n for n, r in idx.items() if n in wants and any(r.get(k) != v for k, v in wants[n].items())]
    if off:
        head += [(f"**A trial build**: {len(off)} of these artifacts were built with budgets or verification points "
                  f"other than the build states now (the budget column says what each had); `{command}` rebuilds "
                  "them as stated."), ""]
    head += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    tail = ["", f"Total size of the artifacts: {total / 1024:.0f} KiB ({len(idx)} files); training {train_s / 60:.1f} CPU "
                "minutes in all."]
    if above:
        tail.append(f"Above the bar of {bar:g}: {', '.join(above)} (each shipped with its true certificate).")
    tail += ["", (f"Generated by `{command}` (`--docs-only` regenerates the pages alone) from the artifacts and their "
                  f"build records (`{INDEX_NAME}` beside them); "
                  "the budgets are the command's defaults and each module's `BUILD` dict. Each page is "
                  "`surrogate report`'s datasheet" + (" with the source added." if has_source else "."))]
    path = docs / "index.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(head + rows + tail) + "\n", encoding="utf-8")
    return path


INDEX_NAME = library.INDEX


# -- the build -------------------------------------------------------------------------------------
def _say(msg: str, bar) -> None:
    if bar is not None:
        bar.write(msg)
    else:
        print(msg, flush=True)


def build(specs: list[str], out: str | os.PathLike, *, default: Budget = library.DEFAULT, points: int = 1_000_000,
          jobs: int = 1, cluster: str | None = None, only: list[str] | None = None, force: bool = False,
          docs: str | os.PathLike | None = None, no_docs: bool = False, docs_only: bool = False,
          progress: bool = True, command: str = "", invocation: str = "", scale: float = 1.0,
          shipped_names: bool = False, title: str = "Surrogates", intro: list[str] | None = None,
          bar: float | None = None) -> BuildResult:
    """Build every relation of the modules `specs` into the folder `out` (see the module's doc).

    `default` is the budget of a relation its module's BUILD does not name; `points` the dense
    check of each certificate; `jobs` local processes, or `cluster` (``local:N`` or a scheduler's
    address); `only` names the relations to build (the index covers all); `force` rebuilds up-to-date
    ones; `docs` is the datasheets' folder (default OUT/docs); `command` is what the pages and
    messages say rebuilds them, `invocation` the command line the records keep (default `command`);
    `scale` multiplies every step budget (a trial build).  `shipped_names`, `title`, `intro` and
    `bar` shape the pages (bench/build_catalogue.py gives the shipped
    catalogue's).  Everything that can be refused is refused before any training.
    """
    if jobs < 1:
        raise BuildError(f"--jobs {jobs}: give 1 or more local processes")
    if points < 16:
        raise BuildError(f"--points {points}: a certificate needs at least 16 points (default 1000000)")
    parse_cluster(cluster)
    if cluster is not None and jobs > 1:
        raise BuildError("--jobs and --cluster both say where to run: give one (local:N is N Dask workers here)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BuildError(f"-o {out}: that is a file; give a folder for the artifacts (it is created if missing)")
    docs = Path(docs) if docs is not None else out / "docs"
    command = command or " ".join(["surrogate", "build", *specs, "-o", str(out)])
    if default.steps < 1 or not scale > 0:
        raise BuildError(f"--steps {default.steps}: give 1 or more optimiser steps (and a scale > 0)")
    entries, budgets, where = library.collect(specs, out, default, command=command)
    try:  # a folder that cannot be written is said now, not after the first training
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BuildError(f"-o {out}: cannot create that folder ({err.strerror}); choose another") from None
    if not os.access(out, os.W_OK):
        raise BuildError(f"-o {out}: the folder is not writable; choose another")
    if not no_docs:  # the datasheets need matplotlib: said now, not after the builds
        from .plot import PlotDependencyError, require_matplotlib

        try:
            require_matplotlib()
        except PlotDependencyError as err:
            raise BuildError(f"{err}; or build without datasheets: --no-docs") from None
    by_name = {e.name: e for e in entries}
    unknown = [n for n in only or () if n not in by_name]
    if unknown:
        raise BuildError(f"--only {', '.join(unknown)}: no such relation here; the build has {', '.join(by_name)}")
    chosen = [e for e in entries if not only or e.name in only]
    wants = {e.name: library.plan(budgets[e.name], points, scale) for e in entries}
    about = f"build records of the surrogates in this folder; rebuild with {command}; generated, do not edit"
    if shipped_names:
        about = ("build records of the shipped surrogates (surrogate.shipped; rebuild with "
                 f"{shipped.BUILD_COMMAND}); generated, do not edit")
    result = BuildResult()
    t0 = time.perf_counter()
    fresh: set[str] = set()
    todo = []
    if not docs_only:
        for e in chosen:
            st, why = library.state(e, wants[e.name])
            if st == "ok" and not force:
                result.skipped.append(e.name)
                continue
            if st == "stale":
                result.stale.append(e.name)
            print(f"{e.name:<36} {'to build' if st == 'missing' else st + ', rebuilding'} ({why}): "
                  f"{budget_text(wants[e.name])}, seed {wants[e.name]['seed']}", flush=True)
            todo.append((e.name, {"module": where[e.name], "name": e.name, "want": wants[e.name],
                                  "path": str(e.path.resolve()), "fingerprint": shipped.fingerprint(e.relation),
                                  "command": invocation or command, "sys_path": [p for p in sys.path if p]}))
        if result.skipped:
            print(f"up to date, skipped: {', '.join(result.skipped)} (--force rebuilds them)", flush=True)
    # pages to (re)write: every one with --docs-only, else the missing ones and those older than their
    # artifact (the ones built now are added after their build)
    pages = [] if no_docs else [e for e in chosen if e.path.is_file() and (docs_only or _page_old(e, docs))]
    if todo or pages:
        with executor(jobs, cluster) as (ex, width):
            if todo:
                print(f"building {len(todo)} relation(s), {width} at a time"
                      f"{' on ' + cluster if cluster else ''}", flush=True)
                result.interrupted = _run(ex, width, library.build_one, todo, "build", progress, result, fresh,
                                          lambda: library.write_index(entries, out, about))
            if not no_docs and not result.interrupted:
                pages = [e for e in chosen if e.path.is_file() and (docs_only or e.name in fresh or _page_old(e, docs))]
                items = [(e.name, {"path": str(e.path.resolve()), "name": e.name, "module": where[e.name],
                                   "source": e.source, "shown": _shown(e.path), "shipped": shipped_names,
                                   "command": command, "docs": str(docs.resolve()),
                                   "points": min(points, DOC_POINTS)}) for e in pages]
                if items:
                    result.interrupted = _run(ex, width, write_datasheet, items, "datasheets", progress, result, None,
                                              None)
    idx = library.write_index(entries, out, about)
    if not no_docs and not result.interrupted:
        page = write_index_page(entries, idx, wants, docs, title=title, intro=intro if intro is not None else _intro(),
                                command=command, bar=bar)
        print(f"wrote {_shown(page)}", flush=True)
    total = sum(r["size_bytes"] for r in idx.values())
    print(f"{len(idx)} artifacts in {_shown(out)}, {total / 1024:.0f} KiB in all; built {len(result.built)}, "
          f"skipped {len(result.skipped)}, failed {len(result.failed)}; {time.perf_counter() - t0:.0f} s", flush=True)
    rebuilt = [n for n in result.stale if n in result.built]
    if rebuilt:
        print(f"stale (their declaration changed), rebuilt: {', '.join(rebuilt)}", flush=True)
    if result.failed:
        print(f"failed: {', '.join(result.failed)} (the others are kept; rerun to retry them)", file=sys.stderr)
    if result.interrupted:
        print(f"interrupted: {len(result.built)} built and kept; rerun the same command to resume", file=sys.stderr)
    return result


def _page_old(e: Entry, docs: Path) -> bool:
    """Whether e's datasheet is missing or older than its artifact or than the cost figures it shows."""
    page = docs / e.name / "README.md"
    if not page.is_file():
        return True
    costs = e.path.parent / shipped.COSTS
    shown = [costs.stat().st_mtime] if costs.is_file() and shipped.costs(e) else []
    return page.stat().st_mtime < max([e.path.stat().st_mtime, *shown])


def _intro() -> list[str]:
    return [("Trained and certified by `surrogate build`: each relation's certified max error is measured against "
             "its own formula (implicit relations: a numeric solve) over its whole declared range, by a dense check "
             "and a worst-case search (`sg.verify`). Load one with `sg.load(PATH)`, or `surrogate predict PATH in.csv`."),
            ""]


def _run(ex, width, fn, items, what, progress, result: BuildResult, fresh: set | None, after) -> bool:
    """Drive `items` through `fn` on `ex` with a progress bar; record each outcome in `result`.
    Returns True when interrupted (Ctrl-C): what finished is kept."""
    bar = None
    if progress:
        bar = progress_bar(True, total=len(items), desc=what, unit="relation", file=sys.stderr, dynamic_ncols=True)
    try:
        for name, res in run_tasks(ex, width, fn, items,
                                   started=lambda names: bar and bar.set_postfix_str(", ".join(names), refresh=True)):
            if isinstance(res, BaseException):
                result.failed[name] = f"{type(res).__name__}: {res}"
                _say(f"{name:<36} FAILED: {result.failed[name]}", bar)
            elif fresh is not None:
                result.built[name] = res
                fresh.add(name)
                _say(f"{name:<36} max {res['max_error']:.3g}  p99 {res['p99_error']:.3g}  {res['method']}, "
                     f"{res['steps']} steps, train {res['train_cpu_s']} CPU s, verify {res['verify_wall_s']} s", bar)
            else:
                result.pages.append(res)
                _say(f"wrote {_shown(Path(res))}", bar)
            if after is not None:
                after()
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt:
        return True
    finally:
        if bar is not None:
            bar.close()
    return False


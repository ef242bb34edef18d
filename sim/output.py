"""Write a run's results folder: summary.json, CSV tables and plots, all or nothing.

Files are written into a temporary folder beside the target and moved into place
only when complete, so a results folder is never half-written. CSV and JSON are
written with fixed formatting so that the same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import math
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.errors import UsageError
from sim.files import cannot_write, umask
from sim.record import Trip
from sim.report import publish
from sim.runner import RunResult
from sim.saved import Saved
from sim.schema import Scenario

TMP_PREFIX = ".tmp-surge-sim-"


def _fmt(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet must show scenario text, never evaluate it as a formula
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return f"{value:.10g}"
    return value


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """Write rows as CSV with the given columns and fixed number formatting."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_fmt(row.get(c, "")) for c in columns])


TRIP_COLUMNS = ("carrier_id", "carrier_type", "fleet", "mode", "leg", "from", "to", "load_start_h", "departure_h",
                "departure_time", "arrival_h", "arrival_time", "unload_end_h", "tonnes")
UTILIZATION_COLUMNS = ("resource", "kind", "where", "capacity", "day", "date", "busy_h_mean", "utilization_mean")
DELIVERY_COLUMNS = ("class", "unit", "day", "date", "target", "cumulative_mean", "cumulative_p10", "cumulative_p50", "cumulative_p90")


def trip_rows(scenario: Scenario, trips: list[Trip]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and columns of trips.csv: one row per loaded movement, one quantity column per class."""
    start = dt.datetime.combine(scenario.start_date, dt.time())
    classes = list(scenario.requirements)
    rows = []
    for t in sorted(trips, key=lambda t: (t.departure_h, t.carrier_id)):
        row = {
            "carrier_id": t.carrier_id, "carrier_type": t.carrier_type, "fleet": t.fleet, "mode": t.mode, "leg": t.leg,
            "from": t.origin, "to": t.destination, "load_start_h": round(t.load_start_h, 4),
            "departure_h": round(t.departure_h, 4), "departure_time": (start + dt.timedelta(hours=t.departure_h)).isoformat(timespec="minutes"),
            "arrival_h": round(t.arrival_h, 4), "arrival_time": (start + dt.timedelta(hours=t.arrival_h)).isoformat(timespec="minutes"),
            "unload_end_h": round(t.unload_end_h, 4), "tonnes": round(t.tonnes, 4),
        }
        row.update({c: 0 for c in classes})
        row.update({c: q for c, q in t.cargo})
        rows.append(row)
    return rows, [*TRIP_COLUMNS, *classes]


# The files that mark a folder as one each command may write (`sim bound` adds bounds.json to a run's folder);
# only such a folder, or an empty one, is ever replaced.
MARKERS: dict[str, tuple[str, ...]] = {
    "run": ("summary.json", "bounds.json"), "bound": ("bounds.json", "summary.json"),
    "compare": ("compare.json",), "size": ("size.json",), "sweep": ("sweep.json",),
}
ANY_RESULTS = tuple(dict.fromkeys(m for names in MARKERS.values() for m in names))


def check_target(out_dir: Path, markers: Sequence[str]) -> None:
    """Raise `UsageError` unless surge-sim may write results folder `out_dir`; call it before any simulation.

    `out_dir` may be missing, an empty folder, or a folder holding one of `markers`. It must not be the
    current folder, one above it or the home folder, and its nearest existing parent must be a writable folder.
    """
    out_dir = Path(out_dir)
    try:
        _check_not_precious(out_dir)
        if out_dir.is_symlink():
            raise UsageError(f"--out {out_dir}: is a symbolic link; give the folder it points to")
        if out_dir.exists():
            if not out_dir.is_dir():
                raise UsageError(f"--out {out_dir}: exists and is not a folder")
            if not _holds_results(out_dir, markers):
                other = [m for m in ANY_RESULTS if (out_dir / m).is_file()]
                if other:
                    raise UsageError(f"--out {out_dir}: holds another command's results ({', '.join(other)}), not "
                                     f"{' or '.join(markers)}; choose another --out")
                raise UsageError(f"--out {out_dir}: exists and is not a surge-sim results folder (it is not empty "
                                 f"and has no {' or '.join(markers)}); choose another --out or remove it")
        _check_writable_parent(out_dir)
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: cannot use it ({exc.strerror or exc})") from None


def _check_not_precious(out_dir: Path) -> None:
    """Refuse the current folder, any folder above it, and the home folder."""
    target = out_dir.resolve()
    here = Path.cwd().resolve()
    if target == here or target in here.parents:
        raise UsageError(f"--out {out_dir}: is the current folder or one above it; choose another --out")
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):  # no home folder known
        return
    if target == home:
        raise UsageError(f"--out {out_dir}: is your home folder; choose another --out")


def _holds_results(folder: Path, markers: Sequence[str]) -> bool:
    """True for an empty folder or one holding any of `markers`."""
    return any((folder / m).is_file() for m in markers) or not any(folder.iterdir())


def _check_writable_parent(out_dir: Path) -> None:
    """Probe, by creating and removing a temporary folder, that the nearest existing parent is a writable folder."""
    parent = out_dir.absolute().parent
    while not parent.exists() and not parent.is_symlink() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"--out {out_dir}: {parent} is not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: cannot write in {parent} ({exc.strerror or exc})") from None


def check_same_scenario(out_dir: Path, scenario: Scenario) -> None:
    """Raise `UsageError` when `out_dir` holds results of another scenario (`sim bound --out RUNFOLDER`).

    The scenario's fingerprint must match the one recorded in the folder's summary.json
    (`reproduce.scenario_sha256`) or bounds.json (`scenario_sha256`); the scenario without its
    uncertainty block (a `sim run --deterministic`) counts as the same. A folder that records no
    fingerprint is not judged.
    """
    ours = {scenario.fingerprint(), scenario.planned().fingerprint()}
    for name, keys in (("summary.json", ("reproduce", "scenario_sha256")), ("bounds.json", ("scenario_sha256",))):
        recorded = _recorded(Path(out_dir) / name, keys)
        if recorded is not None and recorded not in ours:
            raise UsageError(f"--out {out_dir}: {name} is the result of another scenario (its scenario_sha256 "
                             f"{str(recorded)[:12]}... is not {scenario.name}'s {scenario.fingerprint()[:12]}...); "
                             "bounds go beside their own scenario's run: choose another --out")


def _recorded(path: Path, keys: Sequence[str]) -> Any:
    """The value at `keys` in a JSON file, or None when the file, or the value, is not there or not readable."""
    try:
        if not path.is_file():
            return None
        value: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


@contextmanager
def atomic_folder(out_dir: Path, markers: Sequence[str] = ANY_RESULTS) -> Iterator[Path]:
    """Yield a temporary folder beside `out_dir`; on success it replaces `out_dir`, on any error it is removed.

    `out_dir` is checked by `check_target(out_dir, markers)` first, so a folder not written by surge-sim is never replaced.
    A failed write (disk full, read-only file system) is a `UsageError` naming the file, with `out_dir` left as it was.
    """
    out_dir = Path(out_dir)
    check_target(out_dir, markers)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temporaries(out_dir.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=out_dir.parent))
    except OSError as exc:
        raise cannot_write(out_dir, exc) from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700; a results folder gets the usual mode
        _replace_dir(tmp, out_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise cannot_write(_as_written(exc, tmp, out_dir), exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _as_written(exc: OSError, tmp: Path, out_dir: Path) -> Path:
    """The file an error was about, named as it would have been in `out_dir` (not in the temporary folder)."""
    if isinstance(exc.filename, str) and exc.filename:
        try:
            return out_dir / Path(exc.filename).relative_to(tmp)
        except ValueError:
            pass
    return out_dir


def json_bytes(doc: Any) -> bytes:
    """JSON with fixed formatting (2-space indent, UTF-8, newline at the end)."""
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_json(path: Path, doc: Any) -> None:
    """Write JSON with fixed formatting (2-space indent, UTF-8, newline at the end)."""
    Path(path).write_bytes(json_bytes(doc))


def write_results(result: RunResult, out_dir: Path) -> Path:
    """Write every output file of a run into `out_dir`, replacing it only once all are written."""
    with atomic_folder(out_dir, MARKERS["run"]) as tmp:
        write_tables(result, tmp)
        publish(saved_of(result, tmp))  # every picture (PNG + SVG) and report.html, from the results in memory
    return Path(out_dir)


def tables(result: RunResult) -> dict[str, tuple[list[dict[str, Any]], Sequence[str]]]:
    """A run's CSV tables, by file name: rows and columns (trips.csv only when the run kept a trip log)."""
    out: dict[str, tuple[list[dict[str, Any]], Sequence[str]]] = {
        "deliveries.csv": (result.aggregate.delivery_rows(), DELIVERY_COLUMNS),
        "utilization_daily.csv": (result.aggregate.utilization_rows(), UTILIZATION_COLUMNS),
        "replications.csv": result.replication_rows(),
    }
    if result.record is not None and result.record.trips is not None:
        out["trips.csv"] = trip_rows(result.scenario, result.record.trips)
    return out


def write_tables(result: RunResult, folder: Path) -> None:
    """Write a run's data files (summary.json, the CSV tables, the resolved scenario) into an existing `folder`."""
    write_json(folder / "summary.json", result.summary().to_dict())
    found = tables(result)
    for name in ("deliveries.csv", "utilization_daily.csv"):
        write_csv(folder / name, *found[name])
    write_json(folder / "scenario_resolved.json", result.scenario.model_dump(mode="json", by_alias=True))
    for name in ("replications.csv", "trips.csv"):
        if name in found:
            write_csv(folder / name, *found[name])


def _cells(rows: list[dict[str, Any]], columns: Sequence[str]) -> list[dict[str, str]]:
    """Rows as their CSV cells (text, "" for none), exactly what reading the CSV back gives."""
    return [{c: "" if (v := _fmt(row.get(c, ""))) is None else str(v) for c in columns} for row in rows]


def saved_of(result: RunResult, folder: Path) -> Saved:
    """A run's results in memory, in the form the pictures and the report read (`sim.saved.Saved`), for `folder`."""
    found = tables(result)
    saved = Saved(folder, result.summary(), json.loads(json_bytes(result.scenario.model_dump(mode="json", by_alias=True))))
    for name, attr in (("deliveries.csv", "deliveries"), ("utilization_daily.csv", "utilization"),
                       ("trips.csv", "trips"), ("replications.csv", "replications")):
        if name in found:
            setattr(saved, attr, _cells(*found[name]))
        else:
            saved.missing.append(name)
    return saved


RENAME_EXCHANGE = 2  # linux/fs.h
AT_FDCWD = -100
RETRIES = 8  # swaps tried while other writers keep replacing the same folder
OLD = "old-"  # a kept previous folder: TMP_PREFIX + pid + "-old-" + token + "-" + the target's name


def _replace_dir(new: Path, target: Path) -> None:
    """Put folder `new` in place of `target`, so that `target` always holds either its old or its new contents.

    Where the system can (Linux renameat2 RENAME_EXCHANGE) the two are swapped in one step and the old contents,
    now in `new`, are removed. Elsewhere the old folder is kept under a name saying where it belongs until the
    new one is in place (`clean_stale_temporaries` puts it back if the process dies between the two renames).
    Another writer replacing `target` at the same moment is not an error: the last swap wins.
    """
    for _ in range(RETRIES):
        if not os.path.lexists(target):
            try:
                os.rename(new, target)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                continue  # another writer put its folder there first: swap with it
        swapped = _exchange(new, target)
        if swapped is None:
            _replace_keeping_old(new, target)
            return
        if swapped:
            shutil.rmtree(new, ignore_errors=True)  # the old contents
            return
    raise OSError(errno.EBUSY, "other writers keep replacing it; try again", str(target))


_RENAMEAT2: Any = False  # not looked up yet; None when the system has none


def _exchange(a: Path, b: Path) -> bool | None:
    """Swap folders `a` and `b` in one step; False if `b` vanished meanwhile, None where the system cannot swap."""
    global _RENAMEAT2
    if _RENAMEAT2 is False:
        _RENAMEAT2 = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                fn = ctypes.CDLL(None, use_errno=True).renameat2
                fn.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
                fn.restype = ctypes.c_int
                _RENAMEAT2 = fn
            except (OSError, AttributeError):
                pass
    if _RENAMEAT2 is None:
        return None
    import ctypes

    if _RENAMEAT2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.ENOENT and os.path.lexists(a):
        return False
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return None  # this file system cannot swap
    raise OSError(err, os.strerror(err), str(b))


def _replace_keeping_old(new: Path, target: Path) -> None:
    """Rename `target` aside under a name that says where it belongs, `new` into place, then remove the old one.

    SIGINT and SIGTERM are held until this is done; if the second rename fails, the old folder goes back.
    """
    old = target.parent / f"{TMP_PREFIX}{os.getpid()}-{OLD}{secrets.token_hex(4)}-{target.name}"
    with _signals_held():
        os.rename(target, old)
        try:
            os.rename(new, target)
        except BaseException:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (in the main thread, where Python handles them) and deliver them on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, frame: pending.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


def clean_stale_temporaries(folder: Path) -> None:
    """Remove temporary folders left by runs that were killed outright (SIGKILL) and are no longer alive.

    A previous results folder kept aside by a run killed between its two renames is put back where it
    belongs if nothing took its place; otherwise it is removed like any other temporary.
    """
    for stale in folder.glob(TMP_PREFIX + "*"):
        pid, _, rest = stale.name[len(TMP_PREFIX):].partition("-")
        if not stale.is_dir() or (pid.isdigit() and _alive(int(pid))):
            continue
        if rest.startswith(OLD) and rest.count("-") >= 2:
            home = folder / rest[len(OLD):].split("-", 1)[1]
            if not os.path.lexists(home):
                try:
                    os.rename(stale, home)
                    continue
                except OSError:
                    pass
        shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process has no temporary folder yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Write a run's results folder: summary.json, CSV tables and plots, all or nothing.

Files are written into a temporary folder beside the target and moved into place
only when complete, so a results folder is never half-written. CSV and JSON are
written with fixed formatting so that the same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.errors import UsageError
from sim.report import redraw
from sim.record import Trip
from sim.runner import RunResult
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


@contextmanager
def atomic_folder(out_dir: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `out_dir`; on success it replaces `out_dir`, on any error it is removed."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: exists and is not a folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(out_dir.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=out_dir.parent))
    try:
        yield tmp
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path: Path, doc: Any) -> None:
    """Write JSON with fixed formatting (2-space indent, UTF-8, newline at the end)."""
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_results(result: RunResult, out_dir: Path) -> Path:
    """Write every output file of a run into `out_dir`, replacing it only once all are written."""
    with atomic_folder(out_dir) as tmp:
        summary = result.summary()
        write_json(tmp / "summary.json", summary)
        rows = result.aggregate.delivery_rows()
        write_csv(tmp / "deliveries.csv", rows, DELIVERY_COLUMNS)
        write_csv(tmp / "utilization_daily.csv", result.aggregate.utilization_rows(), UTILIZATION_COLUMNS)
        write_json(tmp / "scenario_resolved.json", result.scenario.model_dump(mode="json", by_alias=True))
        rep_rows, rep_cols = result.replication_rows()
        write_csv(tmp / "replications.csv", rep_rows, rep_cols)
        if result.record is not None and result.record.trips is not None:
            trips, columns = trip_rows(result.scenario, result.record.trips)
            write_csv(tmp / "trips.csv", trips, columns)
        redraw(tmp)  # every picture (PNG + SVG) and report.html, drawn from the files just written
    return Path(out_dir)


def _replace_dir(new: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def clean_stale_temporaries(folder: Path) -> None:
    """Remove temporary folders left by runs that were killed outright (SIGKILL) and are no longer alive."""
    for stale in folder.glob(TMP_PREFIX + "*"):
        pid = stale.name[len(TMP_PREFIX):].split("-", 1)[0]
        if stale.is_dir() and not (pid.isdigit() and _alive(int(pid))):
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

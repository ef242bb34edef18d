"""Read a scenario file into a validated `Scenario`: TOML, `extends`, the asset library, checks.

The flow is: parse TOML (and every file it `extends`, child keys winning), merge the
asset library's carrier and cargo entries under the scenario's own, validate types
with pydantic, then check cross-references and whether every class can be moved.
Every problem found is collected and raised together as a `ScenarioError`.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import stat
import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.checks import check_calendar, check_movable, check_references, check_reliability
from sim.errors import Problem, ScenarioError, did_you_mean
from sim.schema import Scenario

MAX_EXTENDS_DEPTH = 16
MAX_FILE_BYTES = 5_000_000
LIBRARY_SECTIONS = ("carriers", "cargo")


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge and validate the scenario at `path`; raise `ScenarioError` listing every problem."""
    path = Path(path)
    raw = resolve_raw(path)
    return validate_raw(raw, file=str(path))


def resolve_raw(path: Path) -> dict[str, Any]:
    """The scenario as plain data after `extends` and library merges, before type checks."""
    raw = _read_with_extends(path, chain=())
    library_paths = raw.pop("library", None)
    raw.pop("extends", None)
    library = _read_library(path, library_paths)
    _merge_library(raw, library, file=str(path))
    return raw


def validate_raw(raw: dict[str, Any], file: str = "") -> Scenario:
    """Type-check plain scenario data and its cross-references; raise `ScenarioError` on any problem."""
    problems = check_references(raw, file)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, file, raw) + problems
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    problems = check_calendar(scenario, file) + check_movable(scenario, file) + check_reliability(scenario, file)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; only a regular file is read (a named pipe would block, a device never end)."""
    text = _read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([Problem("", f"not valid TOML: {exc}", str(path))]) from None
    except RecursionError:
        raise ScenarioError([Problem("", "not valid TOML: nested too deeply", str(path))]) from None


def _read_text(path: Path) -> str:
    """The UTF-8 text of a regular file of at most `MAX_FILE_BYTES`; anything else is a `ScenarioError` naming it.

    The file is opened without blocking and checked on the open descriptor, so a named pipe, a
    device or a folder is refused before a byte is read, and no more than the limit is ever read.
    """
    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem("", message, str(path))])

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise fail(f"is {_file_kind(mode)}, not a regular file: give a scenario file (TOML)")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise fail(f"file is over {MAX_FILE_BYTES:,} bytes; a scenario may be at most {MAX_FILE_BYTES:,}")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"not valid UTF-8 text (byte {exc.start})") from None


def _file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a special file"


def _missing(path: Path, folder: bool = False) -> str | None:
    """Why `path` is not an existing file (or folder), or None if it is one; never raises (a name too long is a reason)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "no such folder" if folder else "no such file"
    except OSError as exc:
        return f"cannot use it ({exc.strerror or exc})"
    if folder and not stat.S_ISDIR(mode):
        return "not a folder"
    if not folder and not stat.S_ISREG(mode):
        return f"is {_file_kind(mode)}, not a regular file"
    return None


def _short(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters for a message (a 5,000-character name is not repeated whole)."""
    return text if len(text) <= limit else f"{text[:limit - 3]}... ({len(text):,} characters)"


def _read_with_extends(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    try:
        resolved = path.resolve()
    except OSError as exc:
        raise ScenarioError([Problem("", f"cannot read file: {exc.strerror or exc}", _short(str(path)))]) from None
    if resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, resolved))
        raise ScenarioError([Problem("extends", f"extends itself in a cycle: {cycle}", str(path))])
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError([Problem("extends", f"more than {MAX_EXTENDS_DEPTH} levels of extends", str(path))])
    data = _read_toml(path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent:
        raise ScenarioError([Problem("extends", f"must be a file name (text), got {parent!r}", str(path))])
    parent_path = path.parent / parent
    why = _missing(parent_path)
    if why == "no such file":
        raise ScenarioError([Problem("extends", f'no such scenario file "{_short(parent)}" beside this one', str(path))])
    if why:
        raise ScenarioError([Problem("extends", f'"{_short(parent)}": {why}', str(path))])
    base = _read_with_extends(parent_path, (*chain, resolved))
    base.pop("name", None)  # a child is its own scenario: it must name itself
    base.pop("title", None)
    base.pop("description", None)
    if "library" not in data:
        # the parent's library (its own setting, or its default folder) stays relative to the parent's folder
        if "library" in base and all(isinstance(p, str) for p in _as_list(base["library"])):
            base["library"] = [str((parent_path.parent / p).resolve()) for p in _as_list(base["library"])]
        elif "library" not in base and _default_library(parent_path):
            base["library"] = [str(d.resolve()) for d in _default_library(parent_path)]
    return deep_merge(base, data)


def _default_library(scenario_path: Path) -> list[Path]:
    """`library/` beside the scenario file, else beside its folder; none if neither exists."""
    return [d for d in (scenario_path.parent / "library", scenario_path.parent.parent / "library") if d.is_dir()][:1]


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key, recursively; any other value in `override` replaces the base value.

    A distribution (a table with `dist`) and `route_shares` replace the base table whole.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not _replaces_whole(key, value):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


REPLACED_WHOLE = ("route_shares",)


def _replaces_whole(key: str, value: dict[str, Any]) -> bool:
    """Tables that are one value, not a set of keys: a distribution (it has `dist`) and route shares."""
    return "dist" in value or key in REPLACED_WHOLE


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _read_library(scenario_path: Path, library: Any) -> dict[str, dict[str, Any]]:
    """Asset entries by section from the library folders (default: `library/` beside the file or its parent)."""
    if library is None:
        folders = _default_library(scenario_path)
    else:
        if not all(isinstance(p, str) for p in _as_list(library)):
            raise ScenarioError([Problem("library", "must be a folder name or a list of folder names", str(scenario_path))])
        folders = [scenario_path.parent / p for p in _as_list(library)]
        missing = [(f, _missing(f, folder=True)) for f in folders]
        if any(why == "no such folder" for _, why in missing):
            names = ", ".join(_short(str(f)) for f, why in missing if why == "no such folder")
            raise ScenarioError([Problem("library", f"no such folder: {names}", str(scenario_path))])
        bad = [Problem("library", f"{_short(str(f))}: {why}", str(scenario_path)) for f, why in missing if why]
        if bad:
            raise ScenarioError(bad)
    assets: dict[str, dict[str, Any]] = {s: {} for s in LIBRARY_SECTIONS}
    problems: list[Problem] = []
    for folder in folders:
        for file in sorted(folder.glob("*.toml")):
            data = _read_toml(file)
            for section, entries in data.items():
                if section not in LIBRARY_SECTIONS or not isinstance(entries, dict):
                    problems.append(Problem(section, f"a library file holds only tables {' and '.join(LIBRARY_SECTIONS)}", str(file)))
                    continue
                for key, entry in entries.items():
                    if key in assets[section]:
                        problems.append(Problem(f"{section}.{key}", "defined twice in the library", str(file)))
                    if not isinstance(entry, dict):
                        problems.append(Problem(f"{section}.{key}", f"a library asset must be a table, got {_show(entry)}", str(file)))
                        continue
                    assets[section][key] = entry
    if problems:
        raise ScenarioError(problems)
    return assets


def _merge_library(raw: dict[str, Any], library: dict[str, dict[str, Any]], file: str) -> None:
    """Fill scenario carrier and cargo entries from library assets (by `base`, or by their own id).

    Carrier types named by a fleet and cargo classes named by a requirement that the scenario
    does not define are taken from the library as they are.
    """
    problems: list[Problem] = []
    # any TOML value may stand where a name belongs (a table, a list, ...): only text names an asset
    wanted = {
        "carriers": {f.get("carrier") for f in _table_values(raw.get("fleets")) if isinstance(f.get("carrier"), str)},
        "cargo": set(raw.get("requirements", {}) if isinstance(raw.get("requirements"), dict) else ()),
    }
    for section in LIBRARY_SECTIONS:
        own = raw.get(section, {})
        if not isinstance(own, dict):
            continue  # the type check reports it
        merged: dict[str, Any] = {}
        for key, entry in own.items():
            if not isinstance(entry, dict):
                merged[key] = entry
                continue
            base_id = entry.get("base", key if key in library[section] else None)
            entry = {k: v for k, v in entry.items() if k != "base"}
            if base_id is None:
                merged[key] = entry
            elif not isinstance(base_id, str):
                problems.append(Problem(f"{section}.{key}.base", f"must be the name of a library asset (text), got {_show(base_id)}", file))
                merged[key] = entry
            elif base_id not in library[section]:
                hint = did_you_mean(base_id, library[section])
                problems.append(Problem(f"{section}.{key}.base", f'no library asset "{base_id}"{hint}', file))
                merged[key] = entry
            else:
                merged[key] = deep_merge(library[section][base_id], entry)
        for key in sorted(wanted[section]):
            if key not in merged and key in library[section]:
                merged[key] = copy.deepcopy(library[section][key])
        raw[section] = merged
    _drop_unused_library_carriers(raw, library)
    if problems:
        raise ScenarioError(problems)


def _drop_unused_library_carriers(raw: dict[str, Any], library: dict[str, dict[str, Any]]) -> None:
    """Cargo entries may name library carrier types the scenario does not use; forget those names.

    A library cargo class lists counts per load for every aircraft it knows; a scenario that
    flies no An-124 must not fail for it. Names unknown to both stay, so typos are still reported.
    """
    carriers = raw.get("carriers") if isinstance(raw.get("carriers"), dict) else {}
    unused = set(library["carriers"]) - set(carriers)
    for entry in (raw.get("cargo") or {}).values() if isinstance(raw.get("cargo"), dict) else ():
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("per_load"), dict):
            entry["per_load"] = {k: v for k, v in entry["per_load"].items() if k not in unused}
        if isinstance(entry.get("carriers"), list):  # an entry that is not text stays, for the type check to report
            entry["carriers"] = [c for c in entry["carriers"] if not (isinstance(c, str) and c in unused)]


def _table_values(table: Any) -> list[dict[str, Any]]:
    return [v for v in table.values() if isinstance(v, dict)] if isinstance(table, dict) else []


_MESSAGES = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be a table",
    "tuple_type": "must be a list",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a date without a time of day",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "model_type": "must be a table",
}


def _pydantic_problems(exc: ValidationError, file: str, raw: Any = None) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = [part for part in err["loc"] if part not in ("function-after[_ordered(), Closure]",)]
        loc = _file_path(loc, raw)
        if loc and loc[-1] == "[key]":  # the table key itself is bad: name it, not a pseudo-key
            loc = loc[:-1]
        kind = err["type"]
        ctx = err.get("ctx", {})
        value = err.get("input")
        if kind in ("union_tag_invalid", "union_tag_not_found"):  # pydantic names the table; the key at fault is its tag
            loc = [*loc, ctx.get("discriminator", "").strip("'")]
        path = _format_path(loc)
        if kind == "extra_forbidden":
            parent = _expected_keys(loc[:-1])
            message = f"unknown key{did_you_mean(str(loc[-1]), parent)}"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
            limit = next(iter(ctx.values()))
            message = f"must be {sign} {limit}, got {value!r}"
        elif kind == "value_error":
            message = str(ctx.get("error", err["msg"]))
        elif kind == "union_tag_invalid":
            message = f"must be one of {ctx.get('expected_tags')}, got {_show(_value_at(raw, loc, ctx.get('tag')))}"
        elif kind == "union_tag_not_found":
            message = f"required key is missing (one of {_distribution_kinds()})"
        elif kind == "enum":
            message = f"must be one of {ctx.get('expected')}, got {value!r}"
        elif kind == "string_pattern_mismatch":
            dot = " and '.'" if loc and loc[-1] == "name" else ""
            message = f"{value!r} may hold only letters, digits, '_', '-'{dot} (and must start with a letter, digit or '_')"
        elif kind in ("too_short", "string_too_short"):
            message = f"must have at least {ctx.get('min_length', 1)} {'character' if kind.startswith('string') else 'entry'}(s)"
        elif kind in ("too_long", "string_too_long"):
            message = f"must have at most {ctx.get('max_length')} {'characters' if kind.startswith('string') else 'entries'}"
        elif kind == "int_type" and isinstance(value, float):
            message = f"must be a whole number, got {value!r}"
        elif kind.startswith("date_") and isinstance(value, (int, float)) and not isinstance(value, bool):
            message = f"must be a date (YYYY-MM-DD), got {_show(value)}"  # not a count of seconds since 1970
        elif kind in _MESSAGES:
            message = _MESSAGES[kind]
            if kind != "missing":
                message += f", got {_show(value)}"
        else:
            message = err["msg"]
        problems.append(Problem(path, message, file))
    # a bad entry of a list also makes pydantic call the list too short: report the entry only
    return [p for p in problems if not p.message.startswith("must have at least")
            or not any(q.path.startswith(p.path + "[") or q.path.startswith(p.path + ".") for q in problems)]


def _distribution_kinds() -> str:
    from sim.distributions import Distribution

    kinds = [repr(t) for member in typing.get_args(typing.get_args(Distribution)[0])
             for t in typing.get_args(member.model_fields["dist"].annotation)]
    return ", ".join(kinds)


def _show(value: Any) -> str:
    """A value as the scenario file spells it (`true`, `2024-01-01`), cut to 60 characters."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _file_path(loc: list[Any], raw: Any) -> list[Any]:
    """`loc` as keys of the file: without the tag pydantic adds inside a distribution (`...air.triangular.low`).

    Walks `raw` along `loc`; a part that is not a key of a table, but is that table's `dist`, is the
    tag of the distribution's kind, not a key the user wrote.
    """
    out: list[Any] = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("dist") == part:
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return out


def _value_at(raw: Any, loc: list[Any], default: Any) -> Any:
    """The value at key path `loc` in plain data, or `default` if there is none."""
    for part in loc:
        if isinstance(raw, dict) and part in raw:
            raw = raw[part]
        elif isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
            raw = raw[part]
        else:
            return default
    return raw


def _format_path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _expected_keys(loc: list[Any]) -> list[str]:
    """Keys a table at `loc` may hold, for 'did you mean' hints on unknown keys."""
    from sim import schema

    by_section = {
        "nodes": schema.Node, "legs": schema.Leg, "routes": schema.Route, "carriers": schema.CarrierType,
        "cargo": schema.CargoClass, "requirements": schema.Requirement, "fleets": schema.Fleet,
    }
    if not loc:
        return list(schema.Scenario.model_fields)
    model = by_section.get(str(loc[0]))
    if model is None:
        return []
    if len(loc) >= 3 and loc[0] == "requirements" and loc[2] == "release":
        model = schema.Release
    elif len(loc) >= 3 and loc[0] == "nodes" and loc[2] == "closures":
        model = schema.Closure
    return [f.alias or name for name, f in model.model_fields.items()]


__all__ = ["load_scenario", "resolve_raw", "validate_raw", "deep_merge"]

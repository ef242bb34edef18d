"""Checks that need more than one key: references between sections, the calendar, and whether cargo can move.

`check_references` works on plain data (so it runs even when types are wrong and all
problems are reported together); `check_calendar` and `check_movable` work on the typed scenario.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sim.errors import Problem, did_you_mean
from sim.packing import floor_share, why_not_aboard
from sim.schema import Mode, Scenario


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _entries(raw: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v) for k, v in _table(raw, key).items() if isinstance(v, dict)]


def _ids(value: Any) -> list[tuple[int, str]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def check_references(raw: dict[str, Any], file: str = "") -> list[Problem]:
    """Every name that points at another entry must exist; routes must chain; fleets must share a home."""
    problems: list[Problem] = []
    nodes, legs, routes = _table(raw, "nodes"), _table(raw, "legs"), _table(raw, "routes")
    carriers, cargo = _table(raw, "carriers"), _table(raw, "cargo")

    def ref(path: str, name: Any, table: dict[str, Any], what: str) -> bool:
        if isinstance(name, str) and name not in table:
            problems.append(Problem(path, f'unknown {what} "{name}"{did_you_mean(name, table)}', file))
            return False
        return isinstance(name, str)

    for leg_id, leg in _entries(raw, "legs"):
        ref(f"legs.{leg_id}.from", leg.get("from"), nodes, "node")
        ref(f"legs.{leg_id}.to", leg.get("to"), nodes, "node")

    for route_id, route in _entries(raw, "routes"):
        chain = [(i, legs[name]) for i, name in _ids(route.get("legs")) if ref(f"routes.{route_id}.legs[{i}]", name, legs, "leg")]
        for (i, a), (j, b) in zip(chain, chain[1:]):
            if isinstance(a, dict) and isinstance(b, dict) and j == i + 1 and a.get("to") != b.get("from"):
                problems.append(Problem(f"routes.{route_id}.legs[{j}]", f'starts at "{b.get("from")}" but the leg before ends at "{a.get("to")}"', file))
        visited = [leg.get("from") for _, leg in chain if isinstance(leg, dict)][:1] + [leg.get("to") for _, leg in chain if isinstance(leg, dict)]
        repeats = sorted({n for n in visited if isinstance(n, str) and visited.count(n) > 1})
        if repeats:
            problems.append(Problem(f"routes.{route_id}.legs", f"visits node(s) {', '.join(repeats)} more than once (a route may not loop)", file))

    for fleet_id, fleet in _entries(raw, "fleets"):
        carrier_ok = ref(f"fleets.{fleet_id}.carrier", fleet.get("carrier"), carriers, "carrier type")
        homes = set()
        for i, name in _ids(fleet.get("legs")):
            if not ref(f"fleets.{fleet_id}.legs[{i}]", name, legs, "leg") or not isinstance(legs[name], dict):
                continue
            home = legs[name].get("from")
            if isinstance(home, str):  # a value of the wrong type is reported by the type checks
                homes.add(home)
            carrier = carriers.get(fleet.get("carrier")) if carrier_ok else None
            modes = {m.value for m in Mode}
            leg_mode, carrier_mode = legs[name].get("mode"), carrier.get("mode") if isinstance(carrier, dict) else None
            if isinstance(leg_mode, str) and isinstance(carrier_mode, str) and leg_mode in modes and carrier_mode in modes \
                    and carrier_mode != leg_mode:
                problems.append(Problem(f"fleets.{fleet_id}.legs[{i}]", f'leg "{name}" is by {leg_mode}, but carrier '
                                        f'"{fleet.get("carrier")}" is a carrier for {carrier_mode}', file))
        if len(homes) > 1:
            problems.append(Problem(f"fleets.{fleet_id}.legs",
                                    f"all legs of a fleet must start at one node (its home), got {', '.join(sorted(map(str, homes)))}", file))

    for cargo_id, entry in _entries(raw, "cargo"):
        for i, name in _ids(entry.get("carriers")):
            ref(f"cargo.{cargo_id}.carriers[{i}]", name, carriers, "carrier type")
        per_load = entry.get("per_load")
        for name in per_load if isinstance(per_load, dict) else ():
            ref(f"cargo.{cargo_id}.per_load.{name}", name, carriers, "carrier type")

    unc = _table(raw, "uncertainty")
    for section, table, what in (("reliability", carriers, "carrier type"), ("weather", nodes, "node"),
                                 ("activation", _table(raw, "fleets"), "fleet"), ("release", _table(raw, "requirements"), "cargo class")):
        for name in _table(unc, section):
            ref(f"uncertainty.{section}.{name}", name, table, what)

    for req_id, req in _entries(raw, "requirements"):
        ref(f"requirements.{req_id}", req_id, cargo, "cargo class")
        for i, name in _ids(req.get("routes")):
            ref(f"requirements.{req_id}.routes[{i}]", name, routes, "route")
        releases = req.get("release")
        for i, rel in enumerate(releases if isinstance(releases, list) else []):
            if isinstance(rel, dict):
                ref(f"requirements.{req_id}.release[{i}].node", rel.get("node"), nodes, "node")
    return problems


def check_calendar(scenario: Scenario, file: str = "") -> list[Problem]:
    """The whole horizon (and a day for plotting past it) must fit before the last calendar date, 9999-12-31."""
    last = dt.date.max - dt.timedelta(days=math.ceil(scenario.horizon) + 1)
    if scenario.start_date <= last:
        return []
    return [Problem("start_date", f"{scenario.start_date.isoformat()} is too late: the {scenario.horizon:g}-day horizon would "
                                  f"run past the last calendar date (9999-12-31); start on {last.isoformat()} or earlier", file)]


def check_movable(scenario: Scenario, file: str = "") -> list[Problem]:
    """Every class must be able to travel every route it is given, from where it is released, in time."""
    problems: list[Problem] = []
    s = scenario
    serving: dict[str, list[str]] = {}
    shuttled: set[str] = set()  # legs with carriers that take parking spots or berths (timetabled services take none)
    for fleet_id, fleet in s.fleets.items():
        if fleet.count == 0:
            continue
        for leg in fleet.legs:
            serving.setdefault(leg, []).append(fleet_id)
            if fleet.count is not None:
                shuttled.add(leg)

    for req_id, req in s.requirements.items():
        cargo = s.cargo[req_id]
        path = f"requirements.{req_id}"
        if not cargo.divisible:
            for i, qty in enumerate(req.release_quantities()):
                if qty != int(qty):
                    problems.append(Problem(f"{path}.release[{i}].quantity", f"{cargo.unit} come in whole units, got {qty:g}", file))
            for i, rel in enumerate(req.release):
                if rel.per_day is not None and rel.per_day != int(rel.per_day):
                    problems.append(Problem(f"{path}.release[{i}].per_day", f"{cargo.unit} come in whole units, got {rel.per_day:g}", file))
        first_nodes = {r: s.legs[s.routes[r].legs[0]].from_ for r in req.routes}
        shared = [r for r in req.routes if not req.route_shares or req.route_shares.get(r, 0) > 0]
        for i, rel in enumerate(req.release):
            starts = {first_nodes[r] for r in shared}
            if req.route_shares and starts != {rel.node}:
                problems.append(Problem(f"{path}.release[{i}].node", f'with route_shares, every shared route must start at "{rel.node}"; '
                                                                      f'they start at {", ".join(sorted(starts))}', file))
            elif rel.node not in starts:
                problems.append(Problem(f"{path}.release[{i}].node",
                                        f'"{rel.node}" is not the first node of any of its routes ({", ".join(sorted(starts))})', file))
        if min(rel.start_day for rel in req.release) >= s.deadline_days:
            problems.append(Problem(f"{path}.release", f"nothing is released before the deadline (day {s.deadline_days:g}): the target cannot be met", file))
        ends = {s.legs[s.routes[r].legs[-1]].to for r in req.routes}
        for r in req.routes:
            inner = {s.legs[leg].to for leg in s.routes[r].legs[:-1]}
            for node in sorted(inner & ends):
                problems.append(Problem(f"routes.{r}", f'passes through "{node}", which is a hand-over point of another route of {req_id}', file))
        for i, route_id in enumerate(req.routes):
            for leg_id in s.routes[route_id].legs:
                problem = _leg_problem(s, leg_id, req_id, serving.get(leg_id, []))
                if problem:
                    problems.append(Problem(f"{path}.routes[{i}]", f'route "{route_id}", leg "{leg_id}": {problem}', file))
                    break
    for fleet_id, fleet in s.fleets.items():
        carrier = s.carriers[fleet.carrier]
        if carrier.mode is not Mode.sea:
            continue
        for i, leg_id in enumerate(fleet.legs):
            leg = s.legs[leg_id]
            for end, own, what in ((leg.from_, carrier.load_time_h, "load_time_h"), (leg.to, carrier.unload_time_h, "unload_time_h")):
                if own is None and s.nodes[end].handling_rate_t_per_day is None:
                    problems.append(Problem(f"fleets.{fleet_id}.legs[{i}]", f'carrier "{fleet.carrier}" has no {what} and port "{end}" '
                                            f"has no handling_rate_t_per_day: give one of them", file))
    for leg_id, leg in s.legs.items():
        for end in (leg.from_, leg.to):
            node = s.nodes[end]
            if leg.mode is Mode.air and node.parking_spots == 0 and leg_id in shuttled:
                problems.append(Problem(f"nodes.{end}.parking_spots", f'is 0, but air leg "{leg_id}" lands or loads there', file))
            if leg.mode is Mode.sea and node.berths == 0 and leg_id in shuttled:
                problems.append(Problem(f"nodes.{end}.berths", f'is 0, but sea leg "{leg_id}" berths there', file))
    return sorted(set(problems), key=lambda p: p.path)


def check_reliability(scenario: Scenario, file: str = "") -> list[Problem]:
    """A carrier type that breaks down before every departure can never leave: its shuttle would loop forever.

    With `breakdown_probability = 1` at the origin every sortie is lost before departure, so the carrier only
    ever repairs and tries again (a short repair time makes that loop spin without end).
    """
    problems = []
    for ctype, rel in scenario.uncertainty.reliability.items():
        if rel.breakdown_probability >= 1 and rel.breakdown_at == "origin" and rel.repair_time_h is not None \
                and rel.repair_time_h.mean > 0:
            problems.append(Problem(f"uncertainty.reliability.{ctype}.breakdown_probability",
                                    f'is 1 with breakdown_at = "origin": every sortie of carrier type "{ctype}" is lost '
                                    "before departure, so it can never leave; give a probability below 1", file))
    return problems


def _leg_problem(s: Scenario, leg_id: str, cargo_id: str, fleets: list[str]) -> str:
    if not fleets:
        return "no fleet with carriers serves this leg"
    cargo = s.cargo[cargo_id]
    reasons = []
    for fleet_id in fleets:
        carrier_id = s.fleets[fleet_id].carrier
        if floor_share(cargo, s.carriers[carrier_id], carrier_id) is not None:
            return ""
        reasons.append(f"{fleet_id}: {why_not_aboard(cargo, cargo_id, s.carriers[carrier_id], carrier_id)}")
    return f"no fleet on it can carry {cargo_id} ({'; '.join(reasons)})"

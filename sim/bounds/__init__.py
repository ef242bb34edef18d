"""Bounds beside every result: AFPAM 10-1403 planning-factor capacities and a fluid linear-programming bound.

Two kinds of figure, for two jobs:

* **Planning factors** (`planning_factors`): the hand methods of the field, one capacity in
  tonnes per day per resource: fleets (carriers x payload per cycle, within the daily
  flying-hour budget), scheduled services (departures x payload), airfields (AFPAM 10-1403
  formula 9.0, with and without its 0.85 queueing efficiency), berths and land handling.
  Per route the smallest capacity along it binds. These are estimates at planned values,
  not bounds: the 0.85 makes them pessimistic and the steady-state rate ignores start-up.
* **The fluid bound** (`fluid_bound`): a time-expanded linear program in which every real
  run of the simulation is a feasible solution, so its optimum is an upper bound on what any
  plan can deliver by the deadline and its closure day is a lower bound on any plan's closure.
  The formulation and the argument for its validity are in the docstring of `_FluidModel`.

The package: `facts` (what both need of a scenario), `fluid` (the LP), `planning` (the factors);
`bounds_summary(scenario)` here puts both into one JSON-ready dict. Units: tonnes (metric), hours
inside the model, days in results. This package knows nothing of SimPy.
"""

from __future__ import annotations

import math
from typing import Any

from sim.bounds.facts import Basis, support
from sim.bounds.fluid import FluidBound, fluid_bound
from sim.bounds.planning import PlanningFactors, planning_factors
from sim.schema import Scenario

__all__ = ["Basis", "FluidBound", "PlanningFactors", "bounds_summary", "fluid_bound", "planning_factors", "support"]


# --- summary -------------------------------------------------------------------------------------


def _num(x: float, digits: int = 3) -> float | None:
    return round(x, digits) if math.isfinite(x) else None


def bounds_summary(scenario: Scenario, basis: Basis = "auto") -> dict[str, Any]:
    """Both bounds as a JSON-ready dict (the `bounds` block of summary.json); the same bytes every time.

    classes: per class the fluid LP's most deliverable by the deadline (units, class alone)
    and earliest closure day (None: not within the horizon), and the planning-factor closure
    estimate; planning_factor: resources ascending by tonnes per day; routes; binding and
    explanation.
    """
    fb = fluid_bound(scenario, basis)
    pf = planning_factors(scenario)
    classes = {}
    for c, req in scenario.requirements.items():
        classes[c] = {
            "unit": scenario.cargo[c].unit,
            "target": req.quantity,
            "max_by_deadline": _num(fb.max_by_deadline[c]),
            "earliest_closure_day": _num(fb.earliest_closure_day[c]),
            "planning_factor_closure_day": _num(pf.closure_estimate_day[c]),
        }
    return {
        "fluid": {
            "basis": fb.basis,
            "period_h": fb.period_h,
            "max_tonnes_by_deadline": _num(fb.max_tonnes_by_deadline),
            "earliest_closure_all_day": _num(fb.earliest_closure_all_day),
            "note": ("upper bound on delivered by the deadline and lower bound on closure: no plan can beat them"
                     + (" (best case of every uncertain input)" if fb.basis == "best_case" else " (planned values)")),
        },
        "classes": classes,
        "planning_factor": [
            {
                "resource": r.resource, "kind": r.kind, "where": r.where,
                "tonnes_per_day": round(r.tonnes_per_day, 1),
                "tonnes_per_day_without_0_85": round(r.tonnes_per_day_without_0_85, 1),
                "tonnes_total": round(r.tonnes_total, 1) if r.tonnes_total is not None else None,
                "formula": r.formula,
                "demand_t": round(r.demand_t, 1),
                "ready_day": round(r.ready_day, 2),
                "days_needed": _num(r.days_needed, 2),
                "load": _num(r.load, 3),
            }
            for r in pf.resources
        ],
        "routes": [{"route": r.route, "tonnes_per_day": round(r.tonnes_per_day, 1), "binding": r.binding} for r in pf.routes],
        "binding": pf.binding,
        "explanation": pf.explanation,
    }

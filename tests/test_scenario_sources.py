"""Shipped scenario files keep the project's sourcing rule: every number carries a comment on its
own line naming its public source or saying `assumption`, and every scenario file validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.loader import load_scenario

REPO = Path(__file__).resolve().parent.parent
SCENARIO_DIR = REPO / "scenarios"
ALL_TOML = sorted(SCENARIO_DIR.rglob("*.toml"))
SCENARIOS = [p for p in ALL_TOML if "library" not in p.relative_to(SCENARIO_DIR).parts]

# A number as a value (`key = 12`), inside an inline table (`{ node = "x", quantity = 5 }`), or
# alone on a line of a multi-line array; dates (`1949-01-01`) count as numbers too.
NUMBER_IN_CODE = re.compile(r"=\s*[-+]?\.?\d|\{[^}]*=\s*[-+]?\.?\d|^\s*[-+]?\.?\d")


def uncommented_numbers(text: str) -> list[tuple[int, str]]:
    """(line number, line) of each line that sets a number without a comment after it."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code, _, comment = line.partition("#")
        if NUMBER_IN_CODE.search(code) and not comment.strip():
            found.append((number, line.strip()))
    return found


def test_the_checker_flags_a_number_without_a_comment_and_accepts_one_with():
    text = 'name = "x"\ncount = 4\npayload_t = 77.5   # AFPAM 10-1403 table A3.1\n' \
           'release = [\n  { node = "a", quantity = 5 },\n  { node = "b", quantity = 6 },  # assumption\n]\n  12.5,\n'
    assert uncommented_numbers(text) == [(2, "count = 4"), (5, '{ node = "a", quantity = 5 },'), (8, "12.5,")]


def test_there_are_shipped_scenarios_and_library_files_to_check():
    assert len(SCENARIOS) >= 10
    assert any("library" in p.parts for p in ALL_TOML)
    assert any("validation" in p.parts for p in SCENARIOS)


@pytest.mark.parametrize("path", ALL_TOML, ids=lambda p: str(p.relative_to(SCENARIO_DIR)))
def test_every_number_in_a_shipped_file_has_a_source_comment(path):
    missing = uncommented_numbers(path.read_text(encoding="utf-8"))
    assert not missing, f"{path.relative_to(REPO)}: numbers without a source or 'assumption' comment: {missing}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(SCENARIO_DIR)))
def test_every_shipped_scenario_validates(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem

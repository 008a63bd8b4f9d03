"""Print requirements.txt for Hugging Face Spaces, generated from pyproject.toml.

pyproject.toml is the single source of dependencies; a Space installs from requirements.txt.
`make requirements` writes this script's output to requirements.txt, and
tests/test_requirements.py checks that the committed file still matches.
"""
from __future__ import annotations

import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomllib arrived in 3.11
    sys.exit("scripts/make_requirements.py needs Python 3.11 or newer (for tomllib)")

ROOT = Path(__file__).resolve().parent.parent
HEADER = ("# Generated from pyproject.toml by `make requirements` (scripts/make_requirements.py).\n"
          "# Do not edit by hand: change pyproject.toml and run `make requirements` again.\n")


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The runtime dependencies of `pyproject`, one per line, after a do-not-edit header."""
    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    lines = [dep.strip() for dep in project.get("dependencies", [])]
    return HEADER + "".join(f"{line}\n" for line in lines)


if __name__ == "__main__":
    sys.stdout.write(requirements())

"""requirements.txt (for Hugging Face Spaces) matches pyproject.toml; the Space front matter is valid."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_requirements_txt_is_generated_from_pyproject():
    generated = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_requirements.py")],
                               capture_output=True, text=True, check=True).stdout
    committed = (ROOT / "requirements.txt").read_text()
    assert committed == generated, "requirements.txt is stale: run `make requirements`"
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = [line for line in committed.splitlines() if line and not line.startswith("#")]
    assert lines == [d.strip() for d in deps]


def _front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with Space front matter between --- lines"
    fields = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        assert sep, f"bad front matter line {line!r}"
        fields[key.strip()] = value.strip().strip('"')
    return fields


def test_space_front_matter_matches_the_project():
    meta = _front_matter()
    for key in ("title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file",
                "python_version", "license"):
        assert meta.get(key), f"front matter lacks {key}"
    assert meta["sdk"] == "gradio"
    assert (ROOT / meta["app_file"]).is_file()
    colours = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
    assert meta["colorFrom"] in colours and meta["colorTo"] in colours
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in deps if re.match(r"gradio\s*==", d)]
    assert pins, "pyproject.toml must pin gradio exactly, so the Space runs the tested version"
    assert meta["sdk_version"] == pins[0].split("==")[1].split("#")[0].strip()
    assert re.fullmatch(r"3\.\d+", meta["python_version"])

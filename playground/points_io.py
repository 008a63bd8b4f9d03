"""2D points as CSV: your own data in (`read_points_csv`), generated points out (`points_csv`).

A points file is text: one point per line, x and y separated by a comma, a semicolon, a tab or
spaces; blank lines are skipped. A first line that is not numbers is a header; when it names
columns `x` and `y` those are read (so `playground sample --csv` output, `seed,x,y`, reads back),
otherwise a file must have exactly two columns. Anything else is refused with one sentence that
names the line: nothing is skipped silently, nothing is unpickled or evaluated.
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from typing import Any

from .settings import MAX_POINTS, SETTINGS, short_repr

MAX_CSV_BYTES = 2_000_000  # 10,000 points take ~250 KB; more is not a points file
_SPLIT = re.compile(r"[,;\t ]+")


class PointsError(ValueError):
    """A points file that cannot be read; the message says why, naming the line."""
    field = "points"


def _text(data: bytes | str, name: str) -> str:
    if isinstance(data, str):
        return data
    if len(data) > MAX_CSV_BYTES:
        raise PointsError(f"{name} is {len(data) / 1e6:.1f} MB: a points file holds at most "
                          f"{MAX_POINTS:,} points (under {MAX_CSV_BYTES // 1_000_000} MB)")
    if b"\x00" in data[:4096]:
        raise PointsError(f"{name} is not a text file: give a CSV of x,y rows")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PointsError(f"{name} is not UTF-8 text: give a CSV of x,y rows") from None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def read_points_csv(data: bytes | str, name: str = "the file") -> list[list[float]]:
    """[[x, y], ...] from a points file (see the module docstring), checked like the setting
    `points` (finite, within the toy sets' scale, at most MAX_POINTS)."""
    rows = []
    for number, line in enumerate(_text(data, name).splitlines(), start=1):
        cells = [c for c in _SPLIT.split(line.strip().strip(",;")) if c != ""]
        if cells:
            rows.append((number, [c.strip().strip('"').strip("'") for c in cells]))
    if not rows:
        raise PointsError(f"{name} holds no points: give one x,y pair per line")
    columns = (0, 1)
    first_line, first = rows[0]
    if any(_number(c) is None for c in first):  # a header
        names = [c.lower() for c in first]
        if "x" in names and "y" in names:
            columns = (names.index("x"), names.index("y"))
        elif len(first) != 2:
            raise PointsError(f"{name}, line {first_line}: the header {short_repr(line_of(first))} "
                              "names no columns x and y; give two columns x,y")
        rows = rows[1:]
        if not rows:
            raise PointsError(f"{name} holds a header but no points")
    elif len(first) != 2:
        raise PointsError(f"{name}, line {first_line}: {len(first)} columns; give two (x,y), "
                          "or a header naming the columns x and y")
    if len(rows) > MAX_POINTS:
        raise PointsError(f"{name} holds {len(rows):,} points: at most {MAX_POINTS:,}")
    points = []
    width = max(columns) + 1
    for number, cells in rows:
        if len(cells) < width or (columns == (0, 1) and len(cells) != 2):
            raise PointsError(f"{name}, line {number}: {short_repr(line_of(cells))} does not "
                              f"have the {max(width, 2)} columns of the lines before")
        x, y = (_number(cells[i]) for i in columns)
        if x is None or y is None:
            bad = cells[columns[0]] if x is None else cells[columns[1]]
            raise PointsError(f"{name}, line {number}: {short_repr(bad)} is not a number")
        if not (math.isfinite(x) and math.isfinite(y)):
            raise PointsError(f"{name}, line {number}: ({x:g}, {y:g}) is not finite")
        points.append([x, y])
    try:
        SETTINGS["points"].check(points)  # the setting's own bounds, in its words
    except ValueError as e:
        raise PointsError(f"{name}: {e}") from None
    return points


def line_of(cells: Sequence[Any]) -> str:
    return ",".join(str(c) for c in cells)


def points_csv(seeds: Sequence[int], points: Any) -> str:
    """Generated 2D points as CSV text: a `seed,x,y` header, then one line per point."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["seed", "x", "y"])
    for seed, (x, y) in zip(seeds, points.tolist() if hasattr(points, "tolist") else points):
        writer.writerow([seed, f"{x:.6g}", f"{y:.6g}"])
    return buf.getvalue()

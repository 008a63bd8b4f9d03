"""`make bench`: every speed comparison in one run, printed as a table and written as JSON.

    python -m benchmarks.run [--quick] [--only trainer,streaming,...] [--out PATH] [--threads N]
    python -m benchmarks.run --markdown benchmarks/results/latest.json   # the README's table

Sections (see each module's docstring for the method; both sides of a comparison always run
interleaved in this one run, several rounds, and we quote medians):
  trainer    benchmarks/trainer_overhead.py  Trainer vs a bare loop        bar <= 1.05x time/step
  streaming  benchmarks/streaming.py         app /train vs headless        bar >= 0.95 steps/s
  browser    benchmarks/browser.py           the live view in Chromium     bars: frames/s, paints/s,
                                             bytes/s, Train to first frame <= 0.5 s
  sampling   benchmarks/sampling.py          64-image grid, core and API   bar e2e <= 100 ms
  quality    benchmarks/time_to_quality.py   seconds to each preset's bar
  memory     benchmarks/memory.py            app RSS idle / 1 / 4 sessions bar <= 1,500 MB
  distributed benchmarks/distributed.py      1 process vs 2 (torchrun), mnist-dcgan steps/s
  gpu        benchmarks/gpu.py               the same on CUDA, bf16, channels-last; or "no GPU"
  reliability benchmarks/reliability.py      hostile requests' memory, a flood, kill -9 x 10
The app-side sections start `python app.py` on a free port (a fresh one for the memory figures).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch

from . import browser, distributed, gpu, memory, reliability, sampling, streaming, trainer_overhead
from . import precision as precision_bench
from .app_process import ROOT, AppProcess, write_checkpoint

SECTIONS = ("trainer", "streaming", "browser", "sampling", "quality", "precision", "memory",
            "distributed", "gpu", "reliability")
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"


def default_threads() -> int:
    """Torch threads for both sides of every comparison: what the app picks on this machine."""
    from app import cpu_threads  # app.py at the repository root

    return cpu_threads()


def machine(threads: int) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            mem_gb = int(next(line for line in f if line.startswith("MemTotal")).split()[1]) / 1e6
    except (OSError, StopIteration):
        pass
    import gradio  # only for its version; the app itself runs in a subprocess

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "torch": torch.__version__, "gradio": gradio.__version__, "torch_threads": threads,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def time_to_quality(quick: bool) -> Any:
    """The quality issue's figures, from its own module (benchmarks/time_to_quality.py).

    Trained with one torch thread per core, as `playground train` does: the bars are for
    training on this 2-core CPU, not for the app's share of it."""
    from . import time_to_quality as ttq

    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        # Five seeds per preset, each run stopping at its bar or its give-up time.
        return ttq.main(quick=quick)
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------- the table
def _f(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _verdict(ok: Any) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def table_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, value, bar, verdict) rows for the printed and README tables."""
    rows: list[tuple[str, str, str, str]] = []
    for r in results.get("trainer", []) or []:
        rows.append((f"trainer overhead, {r['preset']} (time/step vs bare loop)",
                     f"{r['median_ratio']:.3f}x ({r['trainer_steps_per_s']:.1f} vs "
                     f"{r['bare_steps_per_s']:.1f} steps/s; CPU time {r['cpu_median_ratio']:.3f}x)",
                     f"<= {r['bar']}x", _verdict(r["pass"])))
    for r in results.get("streaming", []) or []:
        rows.append((f"streaming, {r['preset']} (app /train, watched, vs headless steps/s)",
                     f"{r['median_ratio']:.3f} ({r['app_steps_per_s']:.1f} vs "
                     f"{r['headless_steps_per_s']:.1f} steps/s, {r['frames_per_s']:.1f} "
                     f"frames/s of {r['bytes_per_frame'] / 1024:.1f} KB; per CPU-second "
                     f"{r['cpu_median_ratio']:.3f})",
                     f">= {r['bar']}", _verdict(r["pass"])))
    for r in results.get("browser", []) or []:
        if r.get("layers"):  # the same view with every extra layer on (issue 14): no bars
            rows.append((f"browser, {r['preset']} with {', '.join(r['layers'])} on: frames, "
                         "paints and bytes per second",
                         f"{r['frames_per_s']:.1f} frames/s ({r['steps_per_s']:.0f} steps/s), "
                         f"{r['paints_per_s']:.0f} paints/s, {r['bytes_per_s'] / 1024:.1f} KB/s",
                         "", ""))
            continue
        rows.append((f"browser, {r['preset']}: fresh frames drawn per second",
                     f"{r['frames_per_s']:.1f} ({r['steps_per_s']:.0f} steps/s)",
                     f">= {r['frames_bar']:.0f}", _verdict(r["frames_per_s"] >= r["frames_bar"])))
        rows.append((f"browser, {r['preset']}: paints per second", f"{r['paints_per_s']:.0f}",
                     f">= {r['paints_bar']:.0f}", _verdict(r["paints_per_s"] >= r["paints_bar"])))
        rows.append((f"browser, {r['preset']}: bytes per second to the page",
                     f"{r['bytes_per_s'] / 1024:.1f} KB/s",
                     "" if r["bytes_bar"] is None else f"<= {r['bytes_bar'] / 1024:.0f} KB/s",
                     "" if r["bytes_bar"] is None else _verdict(r["bytes_per_s"] <= r["bytes_bar"])))
        bar = r["first_frame_bar_s"]
        rows.append((f"browser, {r['preset']}: Train click to first frame (median)",
                     f"{r['first_frame_s']:.2f} s", "" if bar is None else f"<= {bar} s",
                     "" if bar is None else _verdict(r["first_frame_s"] <= bar)))
    s = results.get("sampling")
    if isinstance(s, dict) and "e2e_ms" in s:
        rows.append(("sampling 64 mnist-dcgan images, core (G + grid + PNG)",
                     f"{s['core_ms']:.0f} ms (G alone {s['core_generate_ms']:.0f} ms)", "", ""))
        rows.append(("sampling 64 mnist-dcgan images, API request to PNG",
                     f"{s['e2e_ms']:.0f} ms (p90 {s['e2e_p90_ms']:.0f} ms)",
                     f"<= {s['bar_ms']:.0f} ms", _verdict(s["pass"])))
    q = results.get("quality")
    if isinstance(q, list):
        for r in q:
            seconds, target = r.get("seconds"), r.get("target_s")
            top = r.get("max_s")
            spread = (f"; seeds {r['seeds'][0]}-{r['seeds'][-1]}: {r['min_s']:.1f}-"
                      f"{'not reached' if top is None else f'{top:.1f}'} s, "
                      f"{r['reached']}/{len(r['seeds'])} reached" if "seeds" in r else "")
            rows.append((f"time to quality, {r.get('preset')} ({r.get('bar', '')}), median",
                         ("not reached" if seconds is None else f"{seconds:.1f} s")
                         + f" ({r.get('steps_per_s', 0):.0f} steps/s{spread})",
                         "" if target is None else f"<= {target:.0f} s", _verdict(r.get("pass"))))
    elif isinstance(q, dict):
        rows.append(("time to quality", q.get("status", str(q)), "", ""))
    rows += precision_rows(results.get("precision"))
    d = results.get("distributed")
    if isinstance(d, dict) and "ratio" in d:
        for key, words in (("one", "1 process"), ("two", "2 processes (torchrun)")):
            r = d[key]
            rows.append((f"{d['preset']} data-parallel, {words}",
                         f"{r['steps_per_s']:.1f} steps/s, {r['images_per_s']:.0f} images/s",
                         "", ""))
        rows.append((f"{d['preset']}: 2 processes / 1 on {d['cores']} cores",
                     f"{d['ratio']:.2f}x", "", ""))
    m = results.get("memory")
    if isinstance(m, dict) and "idle_mb" in m:
        rows.append(("app memory, idle (peak RSS)", f"{m['idle_mb']:.0f} MB", "", ""))
        rows.append(("app memory, 1 session training mnist-dcgan", f"{m['one_session_mb']:.0f} MB",
                     "", ""))
        rows.append(("app memory, 4 sessions training mnist-dcgan",
                     f"{m['four_sessions_mb']:.0f} MB", f"<= {m['bar_mb']:.0f} MB",
                     _verdict(m["pass"])))
    g = results.get("gpu")
    if isinstance(g, dict) and g.get("status") == "ok":
        for r in g["rows"]:
            if "error" in r:
                rows.append((f"GPU, {r['preset']}", r["error"], "", "MISS"))
                continue
            o = r["overhead"]
            rows.append((f"GPU trainer overhead, {r['preset']}", f"{o['median_ratio']:.3f}x",
                         f"<= {o['bar']}x", _verdict(o["pass"])))
            sps = ", ".join(f"{k} {v:.0f}" for k, v in r["steps_per_s"].items())
            rows.append((f"GPU steps/s, {r['preset']}", sps, "", ""))
            rows.append((f"GPU/CPU steps/s, {r['preset']}", _f(r["gpu_cpu_ratio"], ".1f") + "x",
                         "", ""))
        gs = g.get("sampling", {})
        if "core_ms" in gs:
            rows.append(("GPU sampling 64 images, core", f"{gs['core_ms']:.0f} ms", "", ""))
    elif isinstance(g, dict):
        rows.append(("GPU", g.get("status", "no GPU"), "", ""))
    rel = results.get("reliability")
    if isinstance(rel, dict):
        rows += reliability_rows(rel)
    for name in SECTIONS:
        err = results.get(f"{name}_error")
        if err:
            rows.append((name, f"failed: {err.splitlines()[-1]}", "", "MISS"))
    return rows


def precision_rows(p: Any) -> list[tuple[str, str, str, str]]:
    if not isinstance(p, dict):
        return []
    if p.get("status") != "ok":
        return [("bf16 vs fp32", str(p.get("status")), "", "")]
    rows = []
    for r in p["speed"]:
        bar = r.get("bar")
        rows.append((f"bf16 vs fp32 steps/s, {r['preset']} (CPU, {p['threads']} threads)",
                     f"{r['median_ratio']:.2f}x ({r['bf16_steps_per_s']:.1f} vs "
                     f"{r['fp32_steps_per_s']:.1f} steps/s)", "" if bar is None else f">= {bar}x",
                     "" if bar is None else _verdict(r["pass"])))
    q = p["quality"]
    rows.append((f"bf16 vs fp32 FD ratio, {q['preset']} at {q['steps']:,} steps",
                 f"{q['bf16']['fd_ratio']:.2f} vs {q['fp32']['fd_ratio']:.2f} "
                 f"({q['fd_change']:+.0%}; digits {q['bf16']['digits_covered']} vs "
                 f"{q['fp32']['digits_covered']})", f"within {p['fd_tolerance']:.0%}",
                 _verdict(q["pass"])))
    return rows


def reliability_rows(rel: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    a = rel.get("attacks") or {}
    if a:
        refused = sum(r["refused"] and r["sentence_ok"] for r in a["attacks"])
        worst = max(a["attacks"], key=lambda r: r["growth_mb"])
        rows.append(("hostile requests refused with their sentence",
                     f"{refused} of {len(a['attacks'])}", "all", _verdict(
                         refused == len(a["attacks"]))))
        rows.append(("peak memory growth, worst hostile request (vs a normal session)",
                     f"+{worst['growth_mb']:.0f} MB ({worst['name']}; a normal session "
                     f"+{a['normal_session_mb']:.0f} MB)", f"<= +{a['goal_mb']:.0f} MB more",
                     _verdict(worst["growth_mb"] <= a["normal_session_mb"] + a["goal_mb"])))
        s = a["sessions"]
        rows.append((f"{s['count']} plain-HTTP sessions with an mnist-dcgan run, memory held",
                     f"+{s['held_mb']:.0f} MB", "", ""))
    f = rel.get("flood") or {}
    if f:
        ans = f["flood_answers"]
        rows.append(("4 visitors training ring8 while a 5th floods: their steps/s",
                     f"{f['flood_steps_per_s']:.0f} vs {f['quiet_steps_per_s']:.0f} without "
                     f"({f['ratio']:.2f}); the flood: {ans['refused']} refused, "
                     f"{ans['served']} served; its client {f['flood_client_cpu']:.1f} cores",
                     "", ""))
    k = rel.get("kills") or {}
    if k:
        rows.append((f"kill -9 mid-training x {len(k['kills'])}, restart, continue: steps lost",
                     f"max {k['max_lost']}, median {k['median_lost']:.0f} (autosave every "
                     f"{k['autosave_s']} s)", "<= the interval's steps", _verdict(k["pass"])))
    return rows


def markdown_table(results: dict[str, Any]) -> str:
    lines = ["| figure | value | bar | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table_rows(results)]
    return "\n".join(lines)


def print_table(results: dict[str, Any]) -> None:
    rows = [("figure", "value", "bar", "")] + table_rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


# ---------------------------------------------------------------------------- running
def _section(results: dict[str, Any], name: str, fn: Callable[[], Any]) -> None:
    start = time.perf_counter()
    print(f"[bench] {name} ...", flush=True)
    try:
        results[name] = fn()
    except Exception:
        results[name] = None
        results[f"{name}_error"] = traceback.format_exc()
        print(results[f"{name}_error"], file=sys.stderr, flush=True)
    results.setdefault("seconds", {})[name] = round(time.perf_counter() - start, 1)
    print(f"[bench] {name} done in {results['seconds'][name]:.0f} s", flush=True)


def run(sections: tuple[str, ...], quick: bool, threads: int,
        app_threads: int | None = None) -> dict[str, Any]:
    """Run `sections`; this process uses `threads` torch threads, the app `app_threads` (None:
    its own choice, the same number unless --threads overrides it)."""
    from gradio_client import Client

    from playground.allocator import keep_freed_memory

    torch.set_num_threads(threads)
    keep_freed_memory()  # as app.py and `playground train` do, for every headless side
    results: dict[str, Any] = {
        "command": "make bench" if not quick else "python -m benchmarks.run --quick",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(threads), "load_before": load(), "quick": quick}
    work = Path(tempfile.mkdtemp(prefix="gp-bench-"))
    if "trainer" in sections:
        _section(results, "trainer", lambda: trainer_overhead.main(quick))
    if {"streaming", "browser", "sampling"} & set(sections):
        checkpoint = write_checkpoint(work)  # the Sample tab's bundled mnist-dcgan
        with AppProcess(work, work / "app.log", app_threads) as app:
            client = Client(app.url, verbose=False, download_files=False)
            if "streaming" in sections:
                _section(results, "streaming", lambda: streaming.main(app.url, app.pid, quick,
                                                                 verbose=True))
            if "browser" in sections:
                _section(results, "browser", lambda: browser.main(app.url, quick))
            if "sampling" in sections:
                _section(results, "sampling", lambda: sampling.measure(
                    app.url, checkpoint, rounds=6 if quick else 20, client=client))
    if "quality" in sections:
        _section(results, "quality", lambda: time_to_quality(quick))
    if "precision" in sections:
        _section(results, "precision", lambda: precision_bench.main(quick))
    if "memory" in sections:
        with AppProcess(work, work / "app-memory.log", app_threads) as app:
            _section(results, "memory", lambda: memory.measure(
                app, lambda: Client(app.url, verbose=False, download_files=False),
                seconds=3.0 if quick else 8.0))
    if "distributed" in sections:
        _section(results, "distributed", lambda: distributed.main(quick))
    if "gpu" in sections:
        cpu = {r["preset"]: r["trainer_steps_per_s"] for r in results.get("trainer") or []}
        _section(results, "gpu", lambda: gpu.main(cpu, quick))
    if "reliability" in sections:
        _section(results, "reliability", lambda: reliability.main(quick, work / "reliability"))
    results["load_after"] = load()
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="GAN Playground benchmarks: table + JSON.")
    p.add_argument("--quick", action="store_true", help="fewer, shorter rounds (a smoke run)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections, from: {', '.join(SECTIONS)}")
    p.add_argument("--out", default=None,
                   help=f"JSON file to write (default {DEFAULT_OUT.relative_to(ROOT)}; quick and "
                   "partial runs default to a file in the temp folder, leaving that one alone)")
    p.add_argument("--markdown", metavar="JSON",
                   help="print the Markdown table of an earlier run's JSON and exit")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads, for this process and the app (default: what the app "
                   f"picks here, {default_threads()})")
    args = p.parse_args(argv)
    if args.markdown:
        results = json.loads(Path(args.markdown).read_text())
        m = results["machine"]
        print(markdown_table(results))
        print(f"\n{m['cpu']}, {m['cores']} cores, {m['memory_gb']:.0f} GB; {m['os']}; Python "
              f"{m['python']}, torch {m['torch']} ({m['torch_threads']} thread(s)), gradio "
              f"{m['gradio']}. Load average {results['load_before']} before, "
              f"{results['load_after']} after; {results['total_seconds'] / 60:.1f} minutes; "
              f"{results['date']}.")
        return 0
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads={args.threads} must be at least 1")
    start = time.perf_counter()
    results = run(sections, args.quick, args.threads or default_threads(), args.threads)
    results["total_seconds"] = round(time.perf_counter() - start, 1)
    full = not args.quick and set(sections) == set(SECTIONS)
    out = Path(args.out) if args.out else (
        DEFAULT_OUT if full else Path(tempfile.gettempdir()) / "gp-bench-partial.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print()
    print_table(results)
    m = results["machine"]
    print(f"\n{m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads); "
          f"load average before {results['load_before']}, after {results['load_after']}; "
          f"{results['total_seconds']:.0f} s in all. JSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

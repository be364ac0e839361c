"""TNEF decode throughput over the shared corpus: swissbox vs the `tnef` C tool vs tnefparse.

Run: ``.venv/bin/python bench/tnef_bench.py [--rounds N] [--corpus DIR]``. Prints MB/s per
decoder and the ratios the project targets (>= 3x tnefparse, >= 0.5x the C tool).
The C tool runs as people use it (``tnef -C DIR --save-body FILE``, one process per file);
swissbox is timed decoding in memory (RTF bodies are decompressed on first use, as tnefparse
does), decoding with every body materialised, and extracting to files like the C tool.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from swissbox.tnef import TnefError, decode  # noqa: E402
from swissbox.tnef.command import main as tnef_command  # noqa: E402

TNEF_TOOL = "/usr/bin/tnef"


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "tnef").rglob("*") if p.suffix in (".tnef", ".dat"))


def timed(label: str, rounds: int, total: int, run: Callable[[], None]) -> float:
    run()  # warm-up (imports, caches, page cache)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    rate = total / best / 1e6
    print(f"  {label:<34} {best * 1000:9.1f} ms/pass  {rate:8.1f} MB/s")
    return rate


# tnefparse runs in a child process with a memory cap: on oom.tnef it tries to allocate
# gigabytes (the machine's OOM killer would end the whole benchmark).
_TNEFPARSE_CHILD = r"""
import json, logging, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
logging.disable(logging.CRITICAL)
import tnefparse
rounds = int(sys.argv[1])
paths = sys.argv[2:]
blobs = [open(p, "rb").read() for p in paths]
ok = []
for path, data in zip(paths, blobs):
    try:
        tnefparse.TNEF(data, do_checksum=True)
        ok.append(path)
    except Exception:
        pass
good = [open(p, "rb").read() for p in ok]
def run(items):
    for data in items:
        try:
            tnefparse.TNEF(data, do_checksum=True)
        except Exception:
            pass
def best(items, n):
    run(items)
    result = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        run(items)
        result = min(result, time.perf_counter() - start)
    return result
print(json.dumps({"version": getattr(tnefparse, "__version__", "") or "?", "ok": ok,
                  "best_ok": best(good, rounds), "best_all": best(blobs, 1)}))
"""


def tnefparse_run(paths: list[Path], rounds: int) -> dict[str, Any] | None:
    """Time tnefparse in a child; None when it is not installed or the child fails."""
    result = subprocess.run(
        [sys.executable, "-c", _TNEFPARSE_CHILD, str(rounds), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        reason = "not installed" if "No module named" in result.stderr else "failed"
        print(f"  {'tnefparse':<34} {reason}: skipped")
        return None
    return dict(json.loads(result.stdout))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    shared = Path(os.environ.get("SWISSBOX_SHARED", ROOT.parent / "shared"))
    parser.add_argument("--corpus", type=Path, default=shared / "corpus")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    files = corpus_files(args.corpus)
    if not files:
        print(f"no TNEF samples under {args.corpus}/tnef")
        return 1
    blobs = [(p, p.read_bytes()) for p in files]
    total = sum(len(b) for _, b in blobs)
    print(f"corpus: {len(blobs)} files, {total / 1e6:.2f} MB, best of {args.rounds} passes")

    def swissbox_decode() -> None:
        for _, data in blobs:
            with contextlib.suppress(TnefError):
                decode(data)

    def swissbox_bodies() -> None:
        for _, data in blobs:
            with contextlib.suppress(TnefError):
                message = decode(data)
                _ = (message.body_rtf, message.body_html, message.body_text)

    scratch = Path(tempfile.mkdtemp(prefix="tnef-bench-"))

    def swissbox_extract() -> None:
        shutil.rmtree(scratch / "sb", ignore_errors=True)
        devnull = open(os.devnull, "w")  # noqa: SIM115
        with devnull:
            for index, (path, _) in enumerate(blobs):
                out = open(os.devnull, "wb")  # noqa: SIM115
                with out:
                    tnef_command(
                        ["extract", str(path), "-o", str(scratch / "sb" / str(index))],
                        stdout=out,
                        stderr=devnull,
                    )

    rates: dict[str, float | None] = {}
    rates["swissbox"] = timed("swissbox decode (in memory)", args.rounds, total, swissbox_decode)
    timed("swissbox decode + all bodies", args.rounds, total, swissbox_bodies)
    rates["swissbox-extract"] = timed(
        "swissbox extract (files)", args.rounds, total, swissbox_extract
    )

    peer = tnefparse_run([p for p, _ in blobs], args.rounds)
    rates["tnefparse"] = None
    if peer is not None:
        ok = set(peer["ok"])
        subset = [(p, b) for p, b in blobs if str(p) in ok]
        sub_total = sum(len(b) for _, b in subset)
        label = f"tnefparse {peer['version']}, all files"
        all_rate = total / peer["best_all"] / 1e6
        print(f"  {label:<34} {peer['best_all'] * 1000:9.1f} ms/pass  {all_rate:8.1f} MB/s")
        print(
            f"  (tnefparse fails on {len(blobs) - len(subset)} file(s); "
            f"the fair comparison uses the {len(subset)} it decodes, {sub_total / 1e6:.2f} MB)"
        )
        label = "tnefparse, files it decodes"
        rates["tnefparse"] = sub_total / peer["best_ok"] / 1e6
        print(
            f"  {label:<34} {peer['best_ok'] * 1000:9.1f} ms/pass  {rates['tnefparse']:8.1f} MB/s"
        )

        def swissbox_subset() -> None:
            for _, data in subset:
                with contextlib.suppress(TnefError):
                    decode(data)

        rates["swissbox-subset"] = timed(
            "swissbox, same files", args.rounds, sub_total, swissbox_subset
        )

    if Path(TNEF_TOOL).exists():

        def c_tool() -> None:
            shutil.rmtree(scratch / "c", ignore_errors=True)
            for index, (path, _) in enumerate(blobs):
                target = scratch / "c" / str(index)
                target.mkdir(parents=True)
                subprocess.run(
                    [TNEF_TOOL, "-C", str(target), "--save-body", str(path)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )

        rates["tnef"] = timed("tnef C tool (-C DIR --save-body)", args.rounds, total, c_tool)
    else:
        print(f"  tnef C tool                        {TNEF_TOOL} not found: skipped")
        rates["tnef"] = None
    shutil.rmtree(scratch, ignore_errors=True)

    ours = rates["swissbox"] or 0.0
    extract = rates["swissbox-extract"] or 0.0
    print("ratios:")
    if rates["tnefparse"]:
        ratio = (rates.get("swissbox-subset") or ours) / rates["tnefparse"]
        verdict = "ok" if ratio >= 3 else "BELOW TARGET"
        print(f"  swissbox / tnefparse       {ratio:7.1f}x   (target >= 3x: {verdict})")
    if rates["tnef"]:
        ratio = ours / rates["tnef"]
        verdict = "ok" if ratio >= 0.5 else "BELOW TARGET"
        print(f"  swissbox / tnef C tool     {ratio:7.2f}x   (target >= 0.5x: {verdict})")
        print(f"  swissbox extract / tnef    {extract / rates['tnef']:7.2f}x   (both write files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

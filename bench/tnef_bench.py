"""TNEF decode throughput over the shared corpus: swissbox vs the `tnef` C tool vs tnefparse.

Run: ``.venv/bin/python bench/tnef_bench.py [--rounds N] [--corpus DIR]``. Prints MB/s per
decoder and the ratios the project targets (>= 3x tnefparse, >= 0.5x the C tool).

- swissbox "decode" parses everything but decompresses RTF bodies on first use (tnefparse
  does the same: its ``rtfbody`` is lazy); "decode + all bodies" also materialises the RTF,
  the HTML and the text; "extract" writes files like the C tool does.
- tnefparse runs in this process with checksums on, on the files it can decode (a capped
  child process tries each file first: tnefparse exhausts memory on oom.tnef, which is left
  out of the comparison); swissbox and tnefparse passes alternate, so load hits both alike,
  and, as with timeit, the garbage collector is paused inside every timed pass.
- the C tool runs as people use it (``tnef -C DIR --save-body FILE``, one process per file).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
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

TNEF_TOOL = shutil.which("tnef") or "tnef"  # Debian package `tnef`
Blobs = list[tuple[Path, bytes]]


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "tnef").rglob("*") if p.suffix in (".tnef", ".dat"))


def best_of(rounds: int, *runs: Callable[[], None]) -> list[float]:
    """Best wall time of each run over ``rounds`` alternating passes (after a warm-up)."""
    for run in runs:
        run()
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for index, run in enumerate(runs):
            gc.collect()
            gc.disable()  # as timeit does: no collector pauses inside a timed pass
            try:
                start = time.perf_counter()
                run()
                best[index] = min(best[index], time.perf_counter() - start)
            finally:
                gc.enable()
    return best


def show(label: str, seconds: float, size: int) -> float:
    rate = size / seconds / 1e6
    print(f"  {label:<40} {seconds * 1000:9.1f} ms/pass  {rate:8.1f} MB/s")
    return rate


_PROBE = r"""
import logging, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))
logging.disable(logging.CRITICAL)
import tnefparse
tnefparse.TNEF(open(sys.argv[1], "rb").read(), do_checksum=True)
"""


_ALL = r"""
import logging, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
logging.disable(logging.CRITICAL)
import tnefparse
blobs = [open(p, "rb").read() for p in sys.argv[1:]]
start = time.perf_counter()
for data in blobs:
    try:
        tnefparse.TNEF(data, do_checksum=True)
    except BaseException:
        pass
print(time.perf_counter() - start)
"""


def tnefparse_all(paths: list[Path]) -> float | None:
    """One pass of tnefparse over every file (in a capped child), or None if that fails."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", _ALL, *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return float(result.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return None


def tnefparse_decodes(path: Path) -> bool:
    """Whether tnefparse decodes ``path``, tried in a memory-capped child process."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, str(path)],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def swissbox_decode(blobs: Blobs, bodies: bool = False) -> Callable[[], None]:
    def run() -> None:
        for _, data in blobs:
            with contextlib.suppress(TnefError):
                message = decode(data)
                if bodies:
                    _ = (message.body_rtf, message.body_html, message.body_text)

    return run


def tnefparse_peer(blobs: Blobs) -> tuple[Any, Blobs] | None:
    """The tnefparse module and the files it decodes, or None when it is not installed."""
    try:
        import logging

        import tnefparse
    except ImportError:
        return None
    logging.getLogger("tnefparse").setLevel(logging.CRITICAL + 1)
    ok: Blobs = []
    for path, data in blobs:
        if tnefparse_decodes(path):
            ok.append((path, data))
        else:
            print(f"  (tnefparse fails on {path.name}: left out of the comparison)")
    return tnefparse, ok


def decodes(data: bytes) -> bool:
    try:
        decode(data)
    except TnefError:
        return False
    return True


def process_time(command: list[str], runs: int = 30) -> float:
    """Median wall time of a whole process (start-up included), in seconds, like hyperfine."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "tnef-bench-pyc")
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        if attempt:  # the first run fills the bytecode cache
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def startup(sample: Path) -> None:
    """Per-file cost of the command line, which people run once per file over folders."""
    python = sys.executable
    print(f"command start-up, one process per file (median of 30, {sample.name}):")
    rows = [
        ("python -c pass", [python, "-c", "pass"]),
        ("swissbox tnef --help", [python, "-m", "swissbox.entry", "tnef", "--help"]),
        ("swissbox tnef list FILE", [python, "-m", "swissbox.entry", "tnef", "list", str(sample)]),
        (
            "via swissbox.cli (all verbs)",
            [python, "-m", "swissbox.cli", "tnef", "list", str(sample)],
        ),
    ]
    if shutil.which(TNEF_TOOL):
        rows.append(("tnef -t FILE (C tool)", [TNEF_TOOL, "-t", str(sample)]))
    for label, command in rows:
        print(f"  {label:<32} {process_time(command) * 1000:7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    shared = Path(os.environ.get("SWISSBOX_SHARED", ROOT.parent / "shared"))
    parser.add_argument("--corpus", type=Path, default=shared / "corpus")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    files = corpus_files(args.corpus)
    if not files:
        print(f"no TNEF samples under {args.corpus}/tnef")
        return 1
    blobs = [(p, p.read_bytes()) for p in files]
    total = sum(len(b) for _, b in blobs)
    print(f"corpus: {len(blobs)} files, {total / 1e6:.2f} MB, best of {args.rounds} passes")
    scratch = Path(tempfile.mkdtemp(prefix="tnef-bench-"))

    def swissbox_extract() -> None:
        shutil.rmtree(scratch / "sb", ignore_errors=True)
        with open(os.devnull, "w") as quiet, open(os.devnull, "wb") as sink:
            for index, (path, _) in enumerate(blobs):
                target = str(scratch / "sb" / str(index))
                tnef_command(["extract", str(path), "-o", target], stdout=sink, stderr=quiet)

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

    startup(next(p for p, data in sorted(blobs, key=lambda b: len(b[1])) if decodes(data)))
    print("all files:")
    have_c = shutil.which(TNEF_TOOL) is not None
    runs = [swissbox_decode(blobs), swissbox_decode(blobs, bodies=True), swissbox_extract]
    if have_c:
        runs.append(c_tool)
    times = best_of(args.rounds, *runs)
    ours = show("swissbox decode", times[0], total)
    show("swissbox decode + all bodies", times[1], total)
    extract = show("swissbox extract (writes files)", times[2], total)
    c_rate = show("tnef C tool (-C DIR --save-body)", times[3], total) if have_c else None
    if not have_c:
        print("  tnef C tool: not installed (apt-get install tnef), skipped")
    shutil.rmtree(scratch, ignore_errors=True)

    peer = tnefparse_peer(blobs)
    tp_ratio = None
    if peer is None:
        print("tnefparse: not installed, skipped")
    else:
        tnefparse, subset = peer
        size = sum(len(b) for _, b in subset)
        print(f"files tnefparse decodes ({len(subset)}, {size / 1e6:.2f} MB):")

        def tnefparse_run() -> None:
            for _, data in subset:
                tnefparse.TNEF(data, do_checksum=True)

        ours_t, theirs_t = best_of(args.rounds, swissbox_decode(subset), tnefparse_run)
        ours_sub = show("swissbox decode", ours_t, size)
        theirs = show(f"tnefparse {getattr(tnefparse, '__version__', '')}", theirs_t, size)
        tp_ratio = ours_sub / theirs

    all_ratio = None
    if peer is not None:
        seconds = tnefparse_all([p for p, _ in blobs])
        if seconds is not None:
            rate = show("tnefparse, all files (one pass)", seconds, total)
            all_ratio = ours / rate
    print("ratios:")
    if all_ratio is not None:
        verdict = "ok" if all_ratio >= 3 else "BELOW TARGET"
        print(f"  swissbox / tnefparse, corpus {all_ratio:7.1f}x   (target >= 3x: {verdict})")
    if tp_ratio is not None:
        verdict = "ok" if tp_ratio >= 3 else "BELOW TARGET"
        print(
            f"  swissbox / tnefparse, files it decodes {tp_ratio:5.2f}x   (target >= 3x: {verdict})"
        )
    if c_rate:
        verdict = "ok" if ours / c_rate >= 0.5 else "BELOW TARGET"
        print(f"  swissbox / tnef C tool      {ours / c_rate:7.2f}x   (target >= 0.5x: {verdict})")
        print(f"  swissbox extract / tnef     {extract / c_rate:7.2f}x   (both write files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

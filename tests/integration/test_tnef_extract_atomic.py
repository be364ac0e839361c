"""`swissbox tnef extract` does all or nothing: a write that fails half-way (here the file
size limit of the process, as a full disk would) removes the files already written."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from tests.integration.test_tnef_command import ROOT


def _limit_file_size() -> None:
    # winmail-sample1.dat holds a 2,937-byte and then an 85,805-byte attachment
    resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))


def test_failed_extract_leaves_no_files(corpus_dir: Path, tmp_path: Path) -> None:
    sample = corpus_dir / "tnef" / "apache-poi-hmef" / "winmail-sample1.dat"
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-B",
            "-m",
            "swissbox.tnef.command",
            "extract",
            str(sample),
            "-o",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [f"swissbox tnef: {out}: [Errno 27] File too large"]
    assert result.stdout == ""
    assert list(out.iterdir()) == []
    # without the limit the same command writes every file
    result = subprocess.run(
        [sys.executable, "-m", "swissbox.tnef.command", "extract", str(sample), "-o", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert sorted(int(line.split()[0]) for line in result.stdout.splitlines())[-2:] == [
        2937,
        85805,
    ]

"""Sieve cost per delivered message: compile + run of the differential corpus's scripts over
its messages, and a typical 40-rule filter over a 100 KB message, against Pigeonhole's
sieve-test (one process per run, so it shows process start-up more than Pigeonhole's speed).

    python bench/sieve_bench.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from swissbox import sieve  # noqa: E402
from tests.unit.sieve import corpus, oracle  # noqa: E402

RULES = (
    'require ["fileinto", "imap4flags", "variables", "body"];\n'
    + "".join(
        f'if header :contains "subject" "topic{i}" {{ addflag "$T{i}"; fileinto "F{i}"; stop; }}\n'
        for i in range(40)
    )
    + 'if body :text :contains "zebra" { fileinto "zoo"; }\n'
)
BIG = corpus.PLAIN.replace(b"banana.", b"banana. " + b"lorem ipsum dolor sit amet " * 3800)


def timed(label: str, runs: int, func) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(runs):
        func()
    per = (time.perf_counter() - start) / runs
    print(f"{label:55s} {per * 1e6:10.1f} us")
    return per


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    env = sieve.Envelope("bob@example.org", "user@example.com")
    cases = [(c[1], corpus.MESSAGES[c[2]]) for c in corpus.CASES]

    def corpus_once() -> None:
        for text, message in cases:
            with contextlib.suppress(sieve.SieveError):
                sieve.run(sieve.compile_script(text), message, env)

    per = timed(
        f"corpus: {len(cases)} cases compiled and run, per round", rounds // 10 or 1, corpus_once
    )
    print(f"{'':55s} ({per / len(cases) * 1e6:.1f} us per case)")
    compiled = sieve.compile_script(RULES)
    timed("40-rule filter: compile", rounds, lambda: sieve.compile_script(RULES))
    timed(
        "40-rule filter: run over a 2 KB message",
        rounds,
        lambda: sieve.run(compiled, corpus.PLAIN, env),
    )
    timed(
        f"40-rule filter: run over a {len(BIG) // 1024} KB message",
        rounds,
        lambda: sieve.run(compiled, BIG, env),
    )
    if shutil.which("sieve-test"):
        work = oracle.oracle_dir()
        timed(
            "sieve-test (process per run), 40-rule filter, 2 KB",
            20,
            lambda: oracle.pigeonhole(
                work, RULES, corpus.PLAIN, "bob@example.org", "user@example.com"
            ),
        )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

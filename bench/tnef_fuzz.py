"""Mutation fuzzing of the whole TNEF pipeline: decode -> bodies -> calendar -> vCard -> MIME -> bytes.

Run: ``.venv/bin/python bench/tnef_fuzz.py [--count N] [--seed S] [DIR ...]``. Seeds are the
shared corpus (plus any directories given, e.g. other projects' samples) and the synthesized
samples of the unit tests. Prints inputs per second and every exception that is not TnefError
(the contract: only TnefError, or a warning). The bounded version runs in the unit tests.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from swissbox.tnef import TnefError, decode, message_to_mime  # noqa: E402
from swissbox.tnef.calendar import to_icalendar  # noqa: E402
from swissbox.tnef.contacts import to_vcard  # noqa: E402


def seeds(directories: list[Path]) -> list[bytes]:
    found = []
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and path.suffix in (".tnef", ".dat"):
                data = path.read_bytes()
                if data[:4] == b"\x78\x9f\x3e\x22":
                    found.append(data)
    from tests.unit.tnef.test_contacts import dist_list
    from tests.unit.tnef.test_meeting_itip import meeting
    from tests.unit.tnef.test_pipeline_robust import CLASSES, sample
    from tests.unit.tnef.test_task_request import task_request

    found += [sample(message_class=c) for c in CLASSES]
    found += [meeting(), dist_list(20), task_request()]
    return found


def mutate(rng: random.Random, original: bytes) -> bytes:
    data = bytearray(original)
    kind = rng.randrange(5)
    if kind == 0:
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.choice((0, 0x0A, 0x0D, 0x7F, 0xE4, 0xFF, 0x40))
    elif kind == 1:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(min(len(data), 4096))] = rng.randrange(256)
    elif kind == 2:
        data = data[: rng.randrange(len(data) + 1)]
    elif kind == 3:
        at = rng.randrange(max(1, len(data) - 4))
        data[at : at + 4] = rng.choice([b"\xff\xff\xff\x7f", b"\xff\xff\xff\xff", b"\0\0\0\x10"])
    else:
        a, b = sorted(rng.randrange(len(data) + 1) for _ in range(2))
        at = rng.randrange(len(data) + 1)
        data[at:at] = data[a : min(b, a + 2048)]
    return bytes(data)


def pipeline(data: bytes) -> None:
    try:
        message = decode(data, lenient=True)
    except TnefError:
        return
    _ = message.body_text, message.body_html, message.body_rtf
    to_icalendar(message)
    to_vcard(message)
    message_to_mime(message).as_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument("--count", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    shared = Path(os.environ.get("SWISSBOX_SHARED", ROOT.parent / "shared"))
    pool = seeds([shared / "corpus" / "tnef", *args.dirs])
    rng = random.Random(args.seed)
    failures: collections.Counter[str] = collections.Counter()
    start = time.perf_counter()
    for _ in range(args.count):
        data = mutate(rng, rng.choice(pool))
        try:
            pipeline(data)
        except Exception as exc:  # noqa: BLE001 - counting what escapes is the point
            where = traceback.extract_tb(exc.__traceback__)[-1]
            failures[f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"] += 1
    seconds = time.perf_counter() - start
    print(
        f"{args.count} mutated inputs from {len(pool)} seeds in {seconds:.1f} s "
        f"({args.count / seconds:.0f}/s): {sum(failures.values())} exceptions other than TnefError"
    )
    for what, count in failures.most_common():
        print(f"  {count:6}  {what}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

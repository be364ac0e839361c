"""Hostile scripts and messages: only SieveError ever comes out (no tracebacks for input)."""

from __future__ import annotations

import contextlib
import random

from swissbox import sieve

from . import corpus

SEED_SCRIPTS = [case[1] for case in corpus.CASES if case[1]]


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(4)
        pos = rng.randrange(len(out) + 1)
        if kind == 0 and out:
            del out[pos % len(out)]
        elif kind == 1:
            out[pos:pos] = bytes([rng.randrange(256)])
        elif kind == 2:
            out[pos:pos] = rng.choice(
                [b"{", b"}", b'"', b"text:\n", b"\\", b"${", b":", b"[", b"/*"]
            )
        else:
            a, b = sorted((rng.randrange(len(out) + 1), rng.randrange(len(out) + 1)))
            out[pos:pos] = out[a:b]
    return bytes(out)


def test_mutated_scripts_and_messages_raise_only_sieve_errors() -> None:
    rng = random.Random(5228)
    messages = list(corpus.MESSAGES.values())
    for _ in range(3000):
        text = mutate(rng, rng.choice(SEED_SCRIPTS).encode())
        try:
            script = sieve.compile_script(text)
        except sieve.SieveError:
            continue
        message = mutate(rng, rng.choice(messages)) if rng.random() < 0.5 else rng.choice(messages)
        with contextlib.suppress(sieve.SieveError):
            sieve.run(script, message, sieve.Envelope("bob@example.org", "user+x@example.com"))

"""What `swissbox status` prints of the ACME client."""

from __future__ import annotations

from swissbox.status import acme_lines

CERT = {
    "path": "/d/acme/cert.pem",
    "names": ["mx.example.org", "mta-sts.example.org"],
    "expires": "2027-03-01",
    "days_left": 87,
}


def report(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "certificate": CERT,
        "last_attempt": "",
        "last_success": "",
        "last_error": "",
        "failures": 0,
        "next_attempt": "",
    }
    return {**base, **fields}


def test_names_expiry_and_last_renewal() -> None:
    assert acme_lines(report(last_success="2026-12-01 04:00:00 UTC")) == [
        "acme: certificate for mx.example.org, mta-sts.example.org, expires 2027-03-01",
        "acme: last renewed 2026-12-01 04:00:00 UTC",
    ]


def test_last_error_with_the_next_try() -> None:
    lines = acme_lines(
        report(
            certificate=None,
            last_error="validation failed: mx.example.org: 404",
            last_attempt="2026-12-04 03:00:00 UTC",
            failures=2,
            next_attempt="2026-12-04 03:10:00 UTC",
        )
    )
    assert lines == [
        "acme: no certificate yet",
        "acme: last error (2026-12-04 03:00:00 UTC, 2 in a row, next try 2026-12-04 03:10:00 UTC):"
        " validation failed: mx.example.org: 404",
    ]

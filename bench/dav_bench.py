"""Organization directory at scale: a 10,000-member organization synced over CardDAV.

Two servers hold the same cards:
- swissbox (`swissbox serve`), whose directory address book is built from the directory
  database (10,000 members, 100 teams);
- plain Radicale 3.9 (`python -m radicale`, auth none, owner_only rights) serving the same
  10,100 vCards from its own file storage.

For each: an initial sync the way DAVx5/vdirsyncer do it (sync-collection REPORT for hrefs and
ETags, then addressbook-multiget in batches), first on a cold server and then again (warm),
and an incremental sync after one member changes (swissbox: `account set --phone` in the
database; Radicale: the card file rewritten), i.e. sync-collection with the previous token plus
a multiget of what changed.

    python bench/dav_bench.py [--members 10000] [--batch 500]

Prints the figures and the ratios; targets: initial sync no slower than plain Radicale,
incremental sync under 100 ms.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from swissbox.auth import HashParams, hash_secret  # noqa: E402
from swissbox.conf import load  # noqa: E402
from swissbox.dav.orgdir import build_views  # noqa: E402
from swissbox.directory import Directory  # noqa: E402
from tests.support.stack import Stack, free_port  # noqa: E402

NS = {"D": "DAV:", "CR": "urn:ietf:params:xml:ns:carddav"}
VIEWER, PASSWORD = "viewer@example.test", "bench-password-2026"


def request(
    port: int, method: str, path: str, body: str | None = None, depth: str = "1"
) -> tuple[int, bytes]:
    token = base64.b64encode(f"{VIEWER}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Depth": depth}
    if body is not None:
        headers["Content-Type"] = "application/xml; charset=utf-8"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request(method, path, body=body.encode() if body else None, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def sync_report(token: str) -> str:
    return (
        '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:">'
        f"<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )


def multiget(hrefs: list[str]) -> str:
    refs = "".join(f"<D:href>{h}</D:href>" for h in hrefs)
    return (
        f'<?xml version="1.0"?><CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="{NS["CR"]}">'
        f"<D:prop><D:getetag/><CR:address-data/></D:prop>{refs}</CR:addressbook-multiget>"
    )


def sync(port: int, path: str, token: str, batch: int) -> tuple[str, int, int]:
    """One client sync; returns (new token, hrefs reported, cards fetched)."""
    status, data = request(port, "REPORT", path, sync_report(token))
    assert status == 207, (status, data[:300])
    root = ET.fromstring(data)
    new_token = root.findtext("D:sync-token", namespaces=NS) or ""
    hrefs = []
    for resp in root.findall("D:response", NS):
        if resp.find("D:propstat", NS) is not None:
            hrefs.append(resp.findtext("D:href", namespaces=NS) or "")
    fetched = 0
    for i in range(0, len(hrefs), batch):
        status, data = request(port, "REPORT", path, multiget(hrefs[i : i + batch]))
        assert status == 207, (status, data[:300])
        fetched += data.count(b"BEGIN:VCARD")
    return new_token, len(root.findall("D:response", NS)), fetched


def timed(label: str, fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    elapsed = time.perf_counter() - start
    print(f"  {label:<34} {elapsed * 1000:9.1f} ms   {result[1]} reported, {result[2]} fetched")
    return elapsed, result


def populate(stack: Stack, members: int) -> int:
    """Bulk-inserts the organization (one transaction); returns the org id."""
    stack.init()
    config = load(data=str(stack.data))
    Directory(config.db_path).close()  # schema
    pw = hash_secret(PASSWORD, HashParams(8, 1, 1))
    conn = sqlite3.connect(config.db_path)
    now = int(time.time())
    with conn:
        org_id = conn.execute(
            "INSERT INTO orgs (name, created) VALUES ('Big Org', ?)", (now,)
        ).lastrowid
        rows = [(VIEWER, "Viewer Person", "+41 00", pw, now, now)]
        rows += [
            (f"m{i:05d}@example.test", f"Member {i:05d} Person", f"+41 21 {i:06d}", pw, now, now)
            for i in range(1, members)
        ]
        conn.executemany(
            "INSERT INTO accounts (login, display_name, phone, password_hash, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute(
            "INSERT INTO memberships (org_id, account_id, role) SELECT ?, id,"
            " CASE WHEN login = ? THEN 'legal' ELSE 'collaborator' END FROM accounts",
            (org_id, VIEWER),
        )
        for t in range(100):
            team_id = conn.execute(
                "INSERT INTO teams (org_id, name) VALUES (?, ?)", (org_id, f"Team {t:03d}")
            ).lastrowid
            conn.execute(
                "INSERT INTO team_members (team_id, account_id)"
                " SELECT ?, id FROM accounts WHERE id % 100 = ?",
                (team_id, t),
            )
    conn.close()
    return int(org_id or 0)


def plain_radicale_folder(root: Path, data_db: Path, org_id: int) -> tuple[Path, dict[str, str]]:
    """The same cards as files of a plain Radicale address book; returns (folder, uid->href)."""
    with Directory(data_db) as d:
        members, teams = d.directory_rows(org_id)
        cards = build_views(org_id, "Big Org", members, teams)["full"]
    book = root / "collection-root" / VIEWER / "directory"
    book.mkdir(parents=True)
    (root / "collection-root" / VIEWER / ".Radicale.props").write_text("{}")
    (book / ".Radicale.props").write_text(json.dumps({"tag": "VADDRESSBOOK"}))
    stamp = "REV:20260101T000000Z\r\nEND:VCARD\r\n"
    for href, card in cards.items():
        (book / href).write_text(card.body.replace("END:VCARD\r\n", stamp), newline="")
    return book, {card.uid: href for href, card in cards.items()}


def start_radicale(folder: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "radicale", "--config", "",
            "--server-hosts", f"127.0.0.1:{port}",
            "--storage-filesystem-folder", str(folder),
            "--auth-type", "none", "--rights-type", "owner_only", "--web-type", "none",
            "--logging-level", "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = request(port, "OPTIONS", "/", depth="0")
            if status < 500:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("radicale did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="hrefs per multiget")
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="dav-bench-") as tmp:
        base = Path(tmp)
        stack = Stack(base / "swissbox")
        start = time.perf_counter()
        org_id = populate(stack, args.members)
        config = load(data=str(stack.data))
        rad_folder = base / "radicale"
        book, _ = plain_radicale_folder(rad_folder, config.db_path, org_id)
        print(
            f"{args.members} members + 100 teams ({len(os.listdir(book)) - 1} cards)"
            f" prepared in {time.perf_counter() - start:.1f} s; multiget batches of {args.batch}"
        )
        rad_port = free_port()
        radicale_proc = start_radicale(rad_folder, rad_port)
        try:
            with stack:
                stack.start()
                port = stack.ports["http"]
                sb_path = f"/dav/{VIEWER}/directory-{org_id}/"
                rad_path = f"/{VIEWER}/directory/"
                request(port, "PROPFIND", f"/dav/{VIEWER}/", depth="0")  # login, principal
                print("swissbox (directory built from the database)")
                results["sb_cold"], (token, _, n) = timed(
                    "initial sync, cold", sync, port, sb_path, "", args.batch
                )
                assert n == len(os.listdir(book)) - 1, n
                results["sb_warm"], (token, _, _) = timed(
                    "initial sync, warm", sync, port, sb_path, "", args.batch
                )
                results["sb_noop"], (token, _, _) = timed(
                    "incremental, nothing changed", sync, port, sb_path, token, args.batch
                )
                with Directory(config.db_path) as d:
                    d.update_account("m00042@example.test", phone="+41 79 000 00 42")
                results["sb_incr"], (token, rep, n) = timed(
                    "incremental, one member changed", sync, port, sb_path, token, args.batch
                )
                assert (rep, n) == (1, 1), (rep, n)
                stack.stop()
            print("plain Radicale 3.9 (same cards, file storage)")
            results["rad_cold"], (rtoken, _, n) = timed(
                "initial sync, cold", sync, rad_port, rad_path, "", args.batch
            )
            results["rad_warm"], (rtoken, _, _) = timed(
                "initial sync, warm", sync, rad_port, rad_path, "", args.batch
            )
            results["rad_noop"], (rtoken, _, _) = timed(
                "incremental, nothing changed", sync, rad_port, rad_path, rtoken, args.batch
            )
            victim = sorted(p for p in book.iterdir() if not p.name.startswith("."))[42]
            victim.write_text(victim.read_text().replace("TEL;", "TEL;TYPE=CELL;"), newline="")
            results["rad_incr"], (rtoken, rep, n) = timed(
                "incremental, one member changed", sync, rad_port, rad_path, rtoken, args.batch
            )
        finally:
            radicale_proc.terminate()
            radicale_proc.wait(10)
    print("ratios (swissbox / plain Radicale; below 1 is faster)")
    for key in ("cold", "warm", "noop", "incr"):
        print(f"  {key:<6} {results['sb_' + key] / results['rad_' + key]:6.2f}")
    ok_initial = (
        results["sb_cold"] <= results["rad_cold"] and results["sb_warm"] <= results["rad_warm"]
    )
    ok_incr = results["sb_incr"] < 0.100
    print(f"target initial sync no slower than Radicale: {'met' if ok_initial else 'MISSED'}")
    print(
        f"target incremental sync under 100 ms: {'met' if ok_incr else 'MISSED'}"
        f" ({results['sb_incr'] * 1000:.1f} ms)"
    )
    return 0 if ok_initial and ok_incr else 1


if __name__ == "__main__":
    sys.exit(main())

"""The shared corpus: swissbox extracts what the reference tool extracts, byte for byte.

Deliberate differences from tnef 1.4.18 (the reference):
- the plain-text body (``attBody``/``PR_BODY``) is text without the terminating NUL that tnef
  copies into ``.txt`` files, so it is compared with that NUL removed;
- duplicate attachment names become ``name-2.ext`` where tnef writes ``name.ext.1``;
- bodies we derive (text from RTF, HTML de-encapsulated from RTF) are extra, not compared.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from swissbox.tnef import Limits, TnefError, decode
from tests.conftest import SHARED

SOURCES = ("verdammelt-tnef", "apache-poi-hmef")


def _samples() -> list[tuple[str, str]]:
    root = SHARED / "corpus" / "tnef"
    found = []
    for source in SOURCES:
        ref = root / source / "reference-tnef-1.4.18.json"
        if ref.exists():
            for sample in json.loads(ref.read_text())["samples"]:
                found.append((source, sample["file"]))
    # Names only; the files themselves are found through the corpus_dir fixture.
    return found or [("verdammelt-tnef", "datafiles/one-file.tnef")]


def _reference(corpus: Path, source: str, name: str) -> dict[str, Any]:
    ref = json.loads((corpus / "tnef" / source / "reference-tnef-1.4.18.json").read_text())
    for sample in ref["samples"]:
        if sample["file"] == name:
            return dict(sample)
    raise AssertionError(f"{name} not in reference")


def _ours(path: Path) -> dict[str, bytes]:
    message = decode(path.read_bytes())
    files = {a.name: a.data for a in message.attachments}
    if message.body_rtf is not None:
        files["__BODY__.rtf"] = message.body_rtf
    if message.body_html is not None and not message.html_from_rtf:
        files["__BODY__.html"] = message.body_html
    if message.body_text is not None and not message.text_from_rtf:
        files["__BODY__.txt"] = message.body_text.encode("cp1252", "replace") + b"\0"
    return files


@pytest.mark.parametrize(("source", "name"), _samples())
def test_matches_reference(corpus_dir: Path, source: str, name: str) -> None:
    sample = _reference(corpus_dir, source, name)
    path = corpus_dir / "tnef" / source / name
    if sample["tnef_extract"]["exit"] != 0:
        # The reference fails: we must fail cleanly, or recover in lenient mode.
        with pytest.raises(TnefError):
            decode(path.read_bytes())
        decode(path.read_bytes(), lenient=True)
        return
    ours = _ours(path)
    expected = {f["name"]: f for f in sample["tnef_extract"]["files"]}
    for fname, info in expected.items():
        assert fname in ours, f"{fname} missing; we have {sorted(ours)}"
        assert len(ours[fname]) == info["size"], fname
        assert hashlib.sha256(ours[fname]).hexdigest() == info["sha256"], fname
    attachments = {n for n in ours if not n.startswith("__BODY__")}
    assert attachments == {n for n in expected if not n.startswith("__BODY__")}


def test_listing_matches_reference(corpus_dir: Path) -> None:
    """Names, sizes and order of attachments equal the reference listing for every sample."""
    for source, name in _samples():
        sample = _reference(corpus_dir, source, name)
        if sample["tnef_list"]["exit"] != 0:
            continue
        message = decode((corpus_dir / "tnef" / source / name).read_bytes())
        rows = [(r["name"], r["size"]) for r in sample["tnef_list"]["rows"]]
        assert [(a.name, a.size) for a in message.attachments] == rows, name


def test_quick_contents_byte_exact(corpus_dir: Path) -> None:
    """Apache POI's expected files for quick-winmail.dat, including the decompressed RTF."""
    base = corpus_dir / "tnef" / "apache-poi-hmef"
    message = decode((base / "quick-winmail.dat").read_bytes())
    names = [a.name for a in message.attachments]
    assert names == ["quick.doc", "quick.html", "quick.pdf", "quick.txt", "quick.xml"]
    for attachment in message.attachments:
        assert attachment.data == (base / "quick-contents" / attachment.name).read_bytes()
        assert attachment.title is not None
        assert attachment.metafile is not None and len(attachment.metafile) == 3512
        assert attachment.modified is not None
        assert attachment.modified.strftime("%Y-%m-%d %H:%M:%S") == "2010-04-28 12:40:56"
    assert message.attachments[1].title == "QUICK~1.HTM"
    assert message.body_rtf == (base / "quick-contents" / "message.rtf").read_bytes()
    assert message.subject == "This is a test message"


def test_oom_sample_is_rejected_quickly(corpus_dir: Path) -> None:
    data = (corpus_dir / "tnef" / "apache-poi-hmef" / "oom.tnef").read_bytes()
    with pytest.raises(TnefError) as info:
        decode(data)
    assert "offset" in str(info.value)
    recovered = decode(data, lenient=True, limits=Limits(max_total_output=1 << 20))
    assert recovered.warnings


def test_poi_bodies(corpus_dir: Path) -> None:
    base = corpus_dir / "tnef" / "apache-poi-hmef"
    simple = decode((base / "bug52400-winmail-simple.dat").read_bytes())
    assert simple.body_html is not None and b"This is the message body." in simple.body_html
    big = decode((base / "bug63955-winmail.dat").read_bytes())
    assert big.body_html is not None
    assert len(big.body_html.decode(big.html_charset)) == 1697


def test_named_string_property(corpus_dir: Path) -> None:
    path = corpus_dir / "tnef" / "verdammelt-tnef" / "datafiles" / "multi-name-property.tnef"
    message = decode(path.read_bytes())
    named = {p.named.name: p.value for p in message.props if p.named and p.named.name}
    assert "Keywords" in named
    assert "Feiertag" in named["Keywords"]

"""``swissbox tnef`` as a process: list, extract (safely), to-mime, and clean failures."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from swissbox.tnef.command import main, safe_filename
from tests.unit.tnef import writer as w

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "swissbox.tnef.command", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def _poi(corpus_dir: Path) -> Path:
    return corpus_dir / "tnef" / "apache-poi-hmef"


def test_list(corpus_dir: Path) -> None:
    result = _run("list", str(_poi(corpus_dir) / "quick-winmail.dat"))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "message class: IPM.Microsoft Mail.Note" in out
    assert "body formats: text, rtf" in out
    assert "attachments: 5" in out
    for name, size in (("quick.doc", 19968), ("quick.pdf", 18638), ("quick.xml", 143)):
        assert any(
            line.split()[0] == str(size) and line.endswith(name) for line in out.splitlines()
        )


def test_extract_matches_reference(corpus_dir: Path, tmp_path: Path) -> None:
    base = corpus_dir / "tnef" / "verdammelt-tnef"
    reference = json.loads((base / "reference-tnef-1.4.18.json").read_text())
    compared = 0
    for sample in reference["samples"]:
        target = tmp_path / Path(sample["file"]).stem
        result = _run("extract", str(base / sample["file"]), "-o", str(target))
        assert result.returncode == 0, result.stderr
        for expected in sample["tnef_extract"]["files"]:
            name = expected["name"].replace("__BODY__", "body")
            if name == "body.txt":
                continue  # we write text without tnef's trailing NUL (see test_corpus)
            data = (target / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == expected["sha256"], name
            compared += 1
    assert compared  # an empty or renamed reference must not pass by comparing nothing


def test_extract_never_overwrites(corpus_dir: Path, tmp_path: Path) -> None:
    source = str(_poi(corpus_dir) / "quick-winmail.dat")
    assert _run("extract", source, "-o", str(tmp_path)).returncode == 0
    assert _run("extract", source, "-o", str(tmp_path)).returncode == 0
    assert (tmp_path / "quick.doc").read_bytes() == (tmp_path / "quick-2.doc").read_bytes()


def test_to_mime(corpus_dir: Path) -> None:
    result = _run(
        "to-mime",
        str(corpus_dir / "tnef" / "verdammelt-tnef" / "datafiles" / "unicode-mapi-attr-name.tnef"),
    )
    assert result.returncode == 0, result.stderr
    msg = email.message_from_bytes(result.stdout, policy=email.policy.default)
    assert msg["Subject"].startswith("RE: [ZGLOSZENIE]")
    names = sorted(p.get_filename() for p in msg.walk() if p.get_filename())
    assert names == ["image001.png", "image002.png", "image003.png", "spaconsole2.cfg"]


def test_bad_input_fails_cleanly(corpus_dir: Path, tmp_path: Path) -> None:
    result = _run("list", str(_poi(corpus_dir) / "oom.tnef"))
    assert result.returncode == 1
    assert b"checksum mismatch" in result.stderr and b"offset" in result.stderr
    assert b"Traceback" not in result.stderr
    garbage = tmp_path / "garbage.dat"
    garbage.write_bytes(b"hello world")
    result = _run("extract", str(garbage), "-o", str(tmp_path / "out"))
    assert result.returncode == 1 and b"bad TNEF signature" in result.stderr
    assert not (tmp_path / "out").exists()
    missing = _run("list", str(tmp_path / "missing.dat"))
    assert missing.returncode == 1 and b"Traceback" not in missing.stderr
    usage = _run("frobnicate")
    assert usage.returncode == 2


def test_stdin_and_lenient(corpus_dir: Path) -> None:
    data = (_poi(corpus_dir) / "oom.tnef").read_bytes()
    result = _run("--lenient", "list", "-", stdin=data)
    assert result.returncode == 0
    assert b"warning" in result.stderr


def test_warnings_of_lazily_decoded_bodies_are_printed(tmp_path: Path) -> None:
    """The RTF body is decompressed on first use, after decoding: its warning still shows."""
    broken = bytearray(w.rtf_compressed(b"{\\rtf1 hello}"))
    broken[-1] ^= 0xFF
    source = tmp_path / "broken-rtf.dat"
    source.write_bytes(w.message(subject="s", msg_props=[w.binary(0x1009, bytes(broken))]))
    for args in (["list"], ["to-mime"], ["extract", "-o", str(tmp_path / "out")]):
        out, err = io.BytesIO(), io.StringIO()
        assert main([args[0], str(source), *args[1:]], stdout=out, stderr=err) == 0
        assert "warning: RTF body not decoded" in err.getvalue(), args


@pytest.mark.parametrize(
    "hostile",
    [
        "../../escape.txt",
        "..\\..\\escape.txt",
        "/etc/passwd",
        "..",
        "a/../../b",
        "\0nul",
        "CON",
        "x" * 400,
    ],
)
def test_path_traversal_is_impossible(tmp_path: Path, hostile: str) -> None:
    data = w.message(attachments=[w.file_attachment("t.txt", b"payload", long_name=hostile)])
    source = tmp_path / "evil.dat"
    source.write_bytes(data)
    out = tmp_path / "jail" / "inner"
    assert main(["extract", str(source), "-o", str(out)]) == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != source]
    assert written and all(out in p.parents for p in written)
    assert all(p.read_bytes() == b"payload" for p in written)


def test_safe_filename() -> None:
    assert safe_filename("../../x") == "_.._x"
    assert safe_filename("..") == "attachment"
    assert safe_filename("") == "attachment"
    assert safe_filename("a\\b/c") == "a_b_c"
    assert safe_filename("nul.txt") == "attachment_nul.txt"
    assert len(safe_filename("é" * 300 + ".pdf").encode()) <= 200
    assert safe_filename("é" * 300 + ".pdf").endswith(".pdf")


def test_hostile_values_give_no_traceback(tmp_path: Path) -> None:
    """Values the decoder accepts but MIME/iCalendar cannot carry as they are (issue 19.4)."""
    source = tmp_path / "hostile.dat"
    source.write_bytes(
        w.message(
            message_class="IPM.Task",
            subject="t",
            msg_props=[
                w.unicode(0x0C1A, "Evil\r\nBcc: x@example.org"),
                w.unicode(0x5D01, "jörg@exämple.org"),
                w.unicode(0x1035, "<ä@example.org>"),
                w.prop(0x0005, 0x8001, b"\0\0\0\0\0\0\xf0\x7f", named=(w.PSETID_TASK, 0x8102)),
            ],
        )
    )
    for args in (["list"], ["to-mime"], ["extract", "-o", str(tmp_path / "out")]):
        result = _run(args[0], str(source), *args[1:])
        assert result.returncode == 0, result.stderr
        assert b"Traceback" not in result.stderr


def test_swissbox_tnef_imports_no_server_code(corpus_dir: Path) -> None:
    """`swissbox tnef` runs once per file over folders: it must not load auth, TLS, the store or
    the protocols (issue 19.5; the start-up figures are in bench/tnef_bench.py)."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["swissbox"] == "swissbox.entry:main"
    probe = (
        "import sys, io\n"
        "from swissbox.entry import main\n"
        "sys.stdout = io.StringIO(); sys.stdout.buffer = io.BytesIO()\n"
        "code = main(['tnef', 'list', sys.argv[1]])\n"
        "sys.stderr.write(' '.join(sorted(sys.modules)) + '\\n')\n"
        "sys.exit(code)\n"
    )
    sample = str(_poi(corpus_dir) / "quick-winmail.dat")
    result = subprocess.run(
        [sys.executable, "-c", probe, sample], cwd=ROOT, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stderr.decode().split())
    assert "swissbox.tnef.decoder" in loaded
    heavy = {"swissbox.cli", "swissbox.auth", "swissbox.tls", "swissbox.conf", "cryptography"}
    assert not loaded & heavy
    assert not {m for m in loaded if m.startswith(("swissbox.smtp", "swissbox.imap", "email."))}

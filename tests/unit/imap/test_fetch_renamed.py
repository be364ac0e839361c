"""A FETCH (and a SEARCH over bodies) reads the message file named by the index row; another front end's STORE may
rename it (new/KEY -> cur/KEY:2,S) between that read and the open: the body is then read
under its new name, not answered empty."""

from __future__ import annotations

from pathlib import Path

from swissbox.mailstore.paths import read_message

RAW = b"Subject: hi\r\n\r\nbody\r\n"


def test_a_file_renamed_by_a_flag_change_is_still_read(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "1700000000.M1P1Q1.host,S=21").write_bytes(RAW)
    old = str(tmp_path / "new" / "1700000000.M1P1Q1.host,S=21")
    (tmp_path / "new" / "1700000000.M1P1Q1.host,S=21").rename(
        tmp_path / "cur" / "1700000000.M1P1Q1.host,S=21:2,S"
    )
    assert read_message(old, len(RAW)) == RAW
    # renamed again (cur -> cur with other flags)
    (tmp_path / "cur" / "1700000000.M1P1Q1.host,S=21:2,S").rename(
        tmp_path / "cur" / "1700000000.M1P1Q1.host,S=21:2,FS"
    )
    assert read_message(str(tmp_path / "cur" / "1700000000.M1P1Q1.host,S=21:2,S"), 21) == RAW


def test_a_file_that_is_gone_reads_empty(tmp_path: Path) -> None:
    (tmp_path / "cur").mkdir()
    assert read_message(str(tmp_path / "cur" / "nothing:2,S"), 10) == b""

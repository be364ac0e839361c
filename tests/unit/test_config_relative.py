"""Files named in the settings ([tls] cert, [acme] ca_bundle, [smtp] outbound_ca_file) are
relative to the config file's folder; absolute names stay."""

from __future__ import annotations

from pathlib import Path

from swissbox.conf import Config
from swissbox.conf.schema import Settings


def test_relative_to_the_config_files_folder(tmp_path: Path) -> None:
    config = Config(Settings(), tmp_path / "data", tmp_path / "etc" / "swissbox.toml")
    assert config.relative("ca.pem") == tmp_path / "etc" / "ca.pem"
    assert config.relative("/srv/ca.pem") == Path("/srv/ca.pem")
    assert Config(Settings(), tmp_path, None).relative("ca.pem") == Path.cwd() / "ca.pem"

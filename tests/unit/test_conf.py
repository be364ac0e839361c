"""conf: defaults, every error path, env/flag precedence."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from swissbox.conf import ConfigError, load, parse_hostport, render_config, settings_from_dict


def test_defaults_are_standard_ports_plus_10000() -> None:
    s = settings_from_dict({})
    assert (s.smtp.mx_port, s.smtp.submission_port, s.smtp.submissions_port) == (
        10025,
        10587,
        10465,
    )
    assert (s.imap.port, s.imap.tls_port, s.dns.port) == (10143, 10993, 10053)
    assert (s.http.port, s.http.tls_port) == (10080, 10443)
    assert s.server.listen == ["127.0.0.1"]
    assert s.tnef.mode == "replace"


def test_template_round_trips_and_applies_overrides() -> None:
    text = render_config({"server": {"hostname": "mx.example.org"}, "smtp": {"max_recipients": 7}})
    s = settings_from_dict(tomllib.loads(text))
    assert s.server.hostname == "mx.example.org"
    assert s.smtp.max_recipients == 7
    assert "# mx_port = 10025" in text


def test_every_problem_is_reported_at_once_with_its_key() -> None:
    raw = {
        "smtp": {"mx_port": "x", "bogus": 1, "max_recipients": 0},
        "imap": {"enabled": "yes"},
        "nope": {},
        "tnef": {"mode": "shred"},
        "server": {"listen": "127.0.0.1"},
    }
    with pytest.raises(ConfigError) as err:
        settings_from_dict(raw)
    problems = "\n".join(err.value.problems)
    for key in (
        "smtp.mx_port",
        "smtp.bogus: unknown key",
        "smtp.max_recipients",
        "imap.enabled",
        "nope: unknown key",
        "tnef.mode",
        "server.listen",
    ):
        assert key in problems
    assert len(err.value.problems) == 7


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"imap": {"port": 10025}}, "imap.port: port 10025 is also used by smtp.mx_port"),
        ({"server": {"listen": ["not-an-ip"]}}, "server.listen[0]"),
        ({"server": {"listen": []}}, "server.listen: at least one"),
        ({"tls": {"cert": "a.pem"}}, "give both files or neither"),
        ({"dns": {"notify": ["1.2.3.4:99999"]}}, "dns.notify[0]"),
        ({"dns": {"allow_transfer": ["300.1.1.1"]}}, "dns.allow_transfer[0]"),
        ({"http": {"port": 70000}}, "out of range"),
        ({"smtp": {"idle_timeout": True}}, "expected a number"),
        ({"smtp": "x"}, "smtp: expected a table"),
        ({"auth": {"argon2_memory_kib": 8, "argon2_lanes": 4}}, "at least 8 x auth.argon2_lanes"),
    ],
)
def test_bad_values(raw: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(raw)
    assert fragment in str(err.value)


def test_disabled_service_ports_may_overlap() -> None:
    settings_from_dict({"imap": {"enabled": False, "port": 10025}})


def test_parse_hostport() -> None:
    assert parse_hostport("192.0.2.1", 53) == ("192.0.2.1", 53)
    assert parse_hostport("192.0.2.1:5300", 53) == ("192.0.2.1", 5300)
    assert parse_hostport("[2001:db8::1]:5300", 53) == ("2001:db8::1", 5300)
    assert parse_hostport("2001:db8::1", 53) == ("2001:db8::1", 53)
    assert parse_hostport("ns.example:53", 53) is None


def test_data_precedence_flag_env_default(tmp_path: Path) -> None:
    env = {"SWISSBOX_DATA": str(tmp_path / "from-env")}
    assert load(data=str(tmp_path / "flag"), env=env).data_dir == (tmp_path / "flag").resolve()
    assert load(env=env).data_dir == (tmp_path / "from-env").resolve()
    assert load(env={}).data_dir.name == "var"


def test_config_file_in_data_dir_is_read(tmp_path: Path) -> None:
    (tmp_path / "swissbox.toml").write_text("[smtp]\nmx_port = 2525\n")
    cfg = load(data=str(tmp_path), env={})
    assert cfg.settings.smtp.mx_port == 2525
    assert cfg.config_path == tmp_path / "swissbox.toml"


def test_explicit_config_sets_data_dir_relative_to_it(tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "swissbox.toml"
    conf.parent.mkdir()
    conf.write_text('[server]\ndata_dir = "../srv"\n')
    assert load(config=str(conf), env={}).data_dir == (tmp_path / "srv").resolve()
    conf.write_text("")
    assert load(config=str(conf), env={}).data_dir == conf.parent.resolve()
    # --data still wins over the file's data_dir
    assert (
        load(data=str(tmp_path / "d"), config=str(conf), env={}).data_dir
        == (tmp_path / "d").resolve()
    )


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load(config=str(tmp_path / "nope.toml"), env={})
    bad = tmp_path / "swissbox.toml"
    bad.write_text("[smtp\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(data=str(tmp_path), env={})

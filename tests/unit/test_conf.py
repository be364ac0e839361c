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


# -- check-config: keys, host name, listen addresses, host:port values ----------------------


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"smtp": {"mx_prot": 1}}, "smtp.mx_prot: unknown key — did you mean smtp.mx_port?"),
        ({"smtp": {"relayhost": "x"}}, "smtp.relayhost: unknown key — did you mean smtp.relay_host?"),
        ({"stmp": {}}, "stmp: unknown key — did you mean smtp?"),
        # the right key in the wrong table
        ({"server": {"relay_host": "x"}}, "server.relay_host: unknown key — did you mean smtp.relay_host?"),
        ({"imap": {"mx_port": 1}}, "imap.mx_port: unknown key — did you mean smtp.mx_port?"),
        ({"mx_port": 1}, "mx_port: unknown key — did you mean smtp.mx_port?"),
    ],
)  # fmt: skip
def test_unknown_key_suggests_the_nearest(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(raw)
    assert err.value.problems == [message]


def test_unknown_key_without_a_near_one_lists_the_table() -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"dns": {"zzzz": 1}})
    (problem,) = err.value.problems
    assert problem.startswith("dns.zzzz: unknown key (known here: ")
    assert "allow_transfer" in problem and "did you mean" not in problem


@pytest.mark.parametrize(
    "hostname, fragment",
    [
        ("", "empty domain name"),
        ("mx..example.org", "empty label"),
        ("mx example.org", "is not a valid DNS name"),
        ("-mx.example.org", "is not a valid DNS name"),
        ("mx_1.example.org", "is not a valid DNS name"),
        ("_mx.example.org", "no label may start with '_'"),
        ("a" * 64 + ".example.org", "is not a valid DNS name"),
        ("192.0.2.1", "is an IP address"),
        ("::1", "is an IP address"),
    ],
)
def test_hostname_must_be_a_dns_name(hostname: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"server": {"hostname": hostname}})
    (problem,) = err.value.problems
    assert problem.startswith(f"server.hostname: {hostname!r} ") and fragment in problem


def test_hostname_is_kept_in_normal_form() -> None:
    assert settings_from_dict({"server": {"hostname": "MX.Example.ORG."}}).server.hostname == (
        "mx.example.org"
    )
    assert settings_from_dict({"server": {"hostname": "mäil.example"}}).server.hostname == (
        "xn--mil-qla.example"
    )
    assert settings_from_dict({}).server.hostname == "localhost"


@pytest.mark.parametrize(
    "listen, problems",
    [
        (["127.0.0.1", "::1", "192.0.2.1"], []),
        (["127.0.0.1", "127.0.0.1"], ["server.listen[1]: '127.0.0.1' is listed twice"]),
        (["::1", "0:0:0:0:0:0:0:1"], ["server.listen[1]: '0:0:0:0:0:0:0:1' is listed twice"]),
        (
            ["0.0.0.0", "127.0.0.1", "::1"],
            [
                "server.listen[1]: '127.0.0.1' is already covered by '0.0.0.0' (binding both to"
                " one port fails): list one or the other"
            ],
        ),  # fmt: skip
        (["::", "::1"], ["server.listen[1]: '::1' is already covered by '::'"]),
        (["0.0.0.0", "::"], []),
        (["localhost"], ["server.listen[0]: 'localhost' is not an IP address"]),
        ([], ["server.listen: at least one address is needed"]),
    ],
)
def test_listen_addresses(listen: list[str], problems: list[str]) -> None:
    try:
        settings_from_dict({"server": {"listen": listen}})
        found: list[str] = []
    except ConfigError as exc:
        found = exc.problems
    assert len(found) == len(problems), found
    for got, want in zip(found, problems, strict=True):
        assert got.startswith(want), got


@pytest.mark.parametrize(
    "relay, fragment",
    [
        ("smtp.example.net:587", "'smtp.example.net' is not an IP address (host names are not"),
        ("smtp.example.net", "'smtp.example.net' is not an IP address"),
        ("192.0.2.25:99999", "port '99999' is not a number from 1 to 65535"),
        ("192.0.2.25:0", "port '0' is not a number from 1 to 65535"),
        ("192.0.2.25:smtp", "port 'smtp' is not a number"),
        ("[2001:db8::25]:x", "port 'x' is not a number"),
        ("[2001:db8::zz]:25", "'2001:db8::zz' is not an IP address"),
    ],
)
def test_relay_host_is_host_colon_port(relay: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"smtp": {"relay_host": relay}})
    (problem,) = err.value.problems
    assert problem.startswith(f"smtp.relay_host: {relay!r}: ") and fragment in problem


@pytest.mark.parametrize("relay", ["192.0.2.25", "192.0.2.25:587", "[2001:db8::25]:587", "::1"])
def test_good_relay_hosts(relay: str) -> None:
    assert settings_from_dict({"smtp": {"relay_host": relay}}).smtp.relay_host == relay


def test_machine_problems_name_listen_addresses_this_host_lacks() -> None:
    from swissbox.conf.machine import machine_problems

    ok = settings_from_dict({"server": {"listen": ["127.0.0.1"]}})
    assert machine_problems(ok) == []
    foreign = settings_from_dict({"server": {"listen": ["127.0.0.1", "192.0.2.55"]}})
    (problem,) = machine_problems(foreign)
    assert problem.startswith("server.listen[1]: cannot listen on '192.0.2.55': not an address")

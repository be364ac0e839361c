"""[acme] settings: off by default, and the combinations that cannot work refused at load."""

from __future__ import annotations

from typing import Any

import pytest

from swissbox.conf import ConfigError, settings_from_dict


def problems(acme: dict[str, Any], **sections: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"acme": {"enabled": True, **acme}, **sections})
    return str(err.value)


def test_defaults() -> None:
    a = settings_from_dict({}).acme
    assert (a.enabled, a.challenge, a.renew_days) == (False, "http-01", 30)
    assert a.directory_url.startswith("https://")


def test_refused_combinations() -> None:
    assert "not an https:// URL" in problems({"directory_url": "http://ca.test/dir"})
    assert "enable [http]" in problems({}, http={"enabled": False})
    assert "enable [dns]" in problems({"challenge": "dns-01"}, dns={"enabled": False})
    assert 'needs challenge = "dns-01"' in problems({"extra_names": ["*.example.org"]})
    assert "not an email address" in problems({"email": "nobody"})
    assert "acme.challenge" in problems({"challenge": "tls-alpn-01"})


def test_dns01_wildcard_accepted() -> None:
    s = settings_from_dict(
        {"acme": {"enabled": True, "challenge": "dns-01", "extra_names": ["*.example.org"]}}
    )
    assert s.acme.extra_names == ["*.example.org"]

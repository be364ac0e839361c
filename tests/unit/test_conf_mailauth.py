"""conf: the MX mail authentication settings ([smtp] inbound_*, dmarc_reject_action,
auth_temperror_action): defaults and refusals."""

from __future__ import annotations

import pytest

from swissbox.conf import ConfigError, settings_from_dict


def test_defaults_check_and_refuse() -> None:
    s = settings_from_dict({}).smtp
    assert (s.inbound_auth, s.inbound_resolvers, s.dmarc_reject_action) == (True, [], "reject")
    assert s.auth_temperror_action == "defer"


@pytest.mark.parametrize(
    "smtp, fragment",
    [
        ({"inbound_resolvers": ["127.0.0.1:99999"]}, "smtp.inbound_resolvers[0]"),
        ({"inbound_resolvers": ["resolver.example"]}, "smtp.inbound_resolvers[0]"),
        ({"dmarc_reject_action": "bounce"}, "smtp.dmarc_reject_action"),
        ({"auth_temperror_action": "accept"}, "smtp.auth_temperror_action"),
        ({"inbound_dns_timeout": 0}, "smtp.inbound_dns_timeout"),
    ],
)
def test_bad_values(smtp: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"smtp": smtp})
    assert fragment in str(err.value)


def test_good_values() -> None:
    s = settings_from_dict(
        {
            "smtp": {
                "inbound_resolvers": ["127.0.0.1:5353", "::1"],
                "dmarc_reject_action": "quarantine",
                "auth_temperror_action": "mark",
            }
        }
    ).smtp
    assert (
        s.inbound_resolvers == ["127.0.0.1:5353", "::1"] and s.dmarc_reject_action == "quarantine"
    )

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
        ({"dmarc_reject_action_domains": ["example.org"]}, "dmarc_reject_action_domains[0]"),
        ({"dmarc_reject_action_domains": ["a.test=mark", "b.test=x"]}, "domains[1]"),
        ({"dmarc_reject_action_domains": ["bad domain=mark"]}, "domains[0]"),
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


def test_reject_action_per_recipient_domain() -> None:
    from swissbox.smtp.authcheck import InboundAuth

    auth = InboundAuth.from_settings(
        "mx.test", None, 1.0, "reject", "defer", ["Lists.Example.ORG=mark", "q.test=quarantine"]
    )
    assert auth.reject_action_for([]) == "reject"
    assert auth.reject_action_for(["a@other.test", "b@other2.test"]) == "reject"
    assert auth.reject_action_for(["a@lists.example.org."]) == "mark"
    assert auth.reject_action_for(["a@lists.example.org", "b@q.test"]) == "quarantine"
    assert auth.reject_action_for(["a@lists.example.org", "b@other.test"]) == "quarantine"
    assert auth.reject_action_for(["a@LISTS.example.org", "b@lists.example.org"]) == "mark"

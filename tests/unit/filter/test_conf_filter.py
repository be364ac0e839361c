"""[filter]: off by default, unknown keys and bad values reported, as every section."""

from __future__ import annotations

import pytest

from swissbox.conf import ConfigError
from swissbox.conf.loader import settings_from_dict
from swissbox.filter.service import wanted


def test_off_by_default() -> None:
    assert not wanted(settings_from_dict({}).filter)


def test_a_full_section() -> None:
    f = settings_from_dict(
        {
            "filter": {
                "scanners": ["rspamd", "clamd"],
                "on_failure": "defer",
                "rspamd_url": "http://127.0.0.1:11333",
                "clamd_socket": "127.0.0.1:3310",
                "dnsbl_zones": ["zen.example.org=127.0.0.2,127.0.0.3", "bl.example.net"],
                "max_messages_per_hour": 100,
            }
        }
    ).filter
    assert wanted(f) and f.scanners == ["rspamd", "clamd"] and f.on_failure == "defer"


def test_problems_are_named() -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(
            {
                "filter": {
                    "scanners": ["rspamd", "spamassassin", "rspamd"],
                    "rspamd_url": "https://rspamd.example:11333",
                    "clamd_socket": "clamd.example:3310",
                    "dnsbl_zones": ["zen.example.org=banana"],
                    "on_failure": "ignore",
                    "rspamd_pasword": "x",
                }
            }
        )
    text = "\n".join(err.value.problems)
    assert "filter.rspamd_pasword: unknown key — did you mean filter.rspamd_password?" in text
    assert "filter.on_failure: 'ignore' is not one of" in text
    with pytest.raises(ConfigError) as err:
        settings_from_dict(
            {
                "filter": {
                    "scanners": ["rspamd", "spamassassin", "rspamd"],
                    "rspamd_url": "https://rspamd.example:11333",
                    "clamd_socket": "clamd.example:3310",
                    "dnsbl_zones": ["zen.example.org=banana"],
                }
            }
        )
    text = "\n".join(err.value.problems)
    assert "filter.scanners[1]: 'spamassassin' is not a scanner" in text
    assert "filter.scanners: a scanner is listed twice" in text
    assert "filter.rspamd_url:" in text and "filter.clamd_socket:" in text
    assert "filter.dnsbl_zones[0]:" in text

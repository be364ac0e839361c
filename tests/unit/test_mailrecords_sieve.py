"""ManageSieve is announced in DNS where clients look for it (RFC 5804 section 1.8)."""

from __future__ import annotations

from swissbox.conf.schema import Settings
from swissbox.directory.mailrecords import MailPorts, mail_records


def test_sieve_srv_record_names_the_configured_port() -> None:
    settings = Settings()
    settings.managesieve.port = 4190
    records = mail_records("example.test", "mx.example.test", MailPorts.from_settings(settings))
    assert ("_sieve._tcp.example.test", "SRV", 3600, "0 1 4190 mx.example.test.") in records

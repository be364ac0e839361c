"""The configuration documents, pure: (address, server settings) -> XML bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from swissbox.directory.mailrecords import MailPorts


@dataclass(frozen=True)
class MailServer:
    hostname: str
    ports: MailPorts

    @classmethod
    def from_settings(cls, s: Any) -> MailServer:
        """The host and ports this configuration's clients are told (autoconfig, and the
        Manager's devices page)."""
        return cls(s.server.hostname, MailPorts.from_settings(s))


def thunderbird(domain: str, server: MailServer) -> bytes:
    """Mozilla autoconfig `clientConfig` v1.1; login is the full address (%EMAILADDRESS%)."""
    host, d = escape(server.hostname), escape(domain)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="{d}">
    <domain>{d}</domain>
    <displayName>{d}</displayName>
    <displayShortName>{d}</displayShortName>
    <incomingServer type="imap">
      <hostname>{host}</hostname>
      <port>{server.ports.imaps}</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>{host}</hostname>
      <port>{server.ports.imap}</port>
      <socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>{host}</hostname>
      <port>{server.ports.submissions}</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>{host}</hostname>
      <port>{server.ports.submission}</port>
      <socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
""".encode()


_EMAIL = re.compile(rb"<(?:\w+:)?EMailAddress>\s*([^<\s]{3,320})\s*</(?:\w+:)?EMailAddress>", re.I)
MAX_REQUEST = 16 * 1024


def autodiscover_address(body: bytes) -> str | None:
    """The address in an Outlook autodiscover request. A pattern match rather than an XML
    parser: the request is untrusted and we need one element (no entity expansion risk)."""
    if len(body) > MAX_REQUEST or b"<!ENTITY" in body.upper():
        return None
    match = _EMAIL.search(body)
    return match.group(1).decode("utf-8", "replace") if match else None


def outlook(address: str, server: MailServer) -> bytes:
    """Outlook POX autodiscover response (MS-OXDSCLI, 'outlook' schema), IMAP + SMTP over TLS."""
    host, a = escape(server.hostname), escape(address)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <Protocol>
        <Type>IMAP</Type>
        <Server>{host}</Server>
        <Port>{server.ports.imaps}</Port>
        <LoginName>{a}</LoginName>
        <DomainRequired>off</DomainRequired>
        <SPA>off</SPA>
        <SSL>on</SSL>
        <AuthRequired>on</AuthRequired>
      </Protocol>
      <Protocol>
        <Type>SMTP</Type>
        <Server>{host}</Server>
        <Port>{server.ports.submissions}</Port>
        <LoginName>{a}</LoginName>
        <DomainRequired>off</DomainRequired>
        <SPA>off</SPA>
        <Encryption>SSL</Encryption>
        <AuthRequired>on</AuthRequired>
        <UsePOPAuth>off</UsePOPAuth>
        <SMTPLast>off</SMTPLast>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
""".encode()

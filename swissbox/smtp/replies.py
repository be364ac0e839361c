"""Every SMTP reply swissbox sends, as named constants (RFC 5321 code + RFC 3463 enhanced code).

`enhance()` gives aiosmtpd's own built-in replies an enhanced status code, since we advertise
ENHANCEDSTATUSCODES (RFC 2034: every reply but the greeting, EHLO lines and 334/354 carries one).
"""

from __future__ import annotations

import re

OK = "250 2.0.0 OK"
SENDER_OK = "250 2.1.0 Sender OK"
RECIPIENT_OK = "250 2.1.5 Recipient OK"
QUEUED = "250 2.0.0 OK: queued as {id}"
DELIVERED = "250 2.0.0 OK: delivered as {id}"
AUTH_OK = "235 2.7.0 Authentication successful"
BYE = "221 2.0.0 Bye"

# 4xx: try again later
TOO_MANY_CONNECTIONS = "421 4.7.0 {host} Too many connections from your address, try later"
TOO_MANY_ERRORS = "421 4.7.0 {host} Too many errors, closing connection"
SESSION_TIMEOUT = "421 4.4.2 {host} Session time limit exceeded, closing connection"
IDLE_TIMEOUT = "421 4.4.2 {host} Idle too long, closing connection"
SHUTTING_DOWN = "421 4.3.2 {host} Service shutting down"
MAILBOX_FULL_TEMP = "452 4.2.2 Mailbox full: {address}"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
NO_MEMORY = "452 4.3.1 Insufficient system resources, try again later"
LOCAL_ERROR = "451 4.3.0 Local error in processing, try again later"
TLS_FAILED = "454 4.7.0 TLS handshake failed"
AUTH_TEMP_FAILURE = "454 4.7.0 Temporary authentication failure"
CHECK_UNAVAILABLE = "451 4.7.0 The message could not be checked now, try again later"
DMARC_TEMPERROR = "451 4.7.0 DMARC of {domain} could not be checked now (DNS), try again later"

# 5xx: permanent
BAD_SYNTAX = "500 5.5.2 Syntax error"
LINE_TOO_LONG = "500 5.5.6 Line too long"
BARE_NEWLINE = "550 5.5.2 Bare <LF> or <CR> received; lines must end with <CR><LF>"
BARE_NEWLINE_COMMAND = "500 5.5.2 Bare <LF> received; commands must end with <CR><LF>"
AUTH_NOT_HERE = "502 5.5.1 AUTH is not available on this port; use submission"
NEED_MAIL = "503 5.5.1 Need MAIL command first"
NEED_RCPT = "503 5.5.1 Need RCPT command first"
UNKNOWN_USER = "550 5.1.1 <{address}>: Recipient address rejected: User unknown"
NO_ROLE_MAILBOX = (
    "550 5.1.1 <{address}>: Recipient address rejected: no administrator of this domain"
    " has a mailbox here"
)
BAD_SRS = "550 5.1.1 <{address}>: Recipient address rejected: invalid or expired SRS address"
MAIL_LOOP = "554 5.4.6 Mail forwarding loop detected; not delivered"
TOO_MANY_HOPS = "554 5.4.6 Too many hops ({hops} Received: fields); mail loop?"
BAD_ADDRESS = "501 5.1.3 Bad recipient address syntax"
RELAY_DENIED = "554 5.7.1 <{address}>: Relay access denied"
SENDER_NOT_OWNED = "553 5.7.1 <{address}>: Sender address not owned by the authenticated user"
HEADER_SENDER_NOT_OWNED = (
    "550 5.7.1 Header {field}: <{address}> is not an address the authenticated user may send as"
)
HEADER_SENDER_UNREADABLE = (
    "550 5.7.1 Header {field}: no address could be read; give an address you may send as"
)
DMARC_REJECT = "550 5.7.1 Rejected by the DMARC policy of {domain} (p=reject)"
MESSAGE_TOO_BIG = "552 5.3.4 Message size exceeds fixed limit"
MAILBOX_FULL = "552 5.2.2 Mailbox full: {address}"
AUTH_FAILED = "535 5.7.8 Authentication credentials invalid"
AUTH_REQUIRED = "530 5.7.0 Authentication required"
AUTH_SYNTAX = "501 5.5.2 Cannot decode authentication data"

_HAS_ENHANCED = re.compile(r"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}(\s|$)")
_NO_CODE = ("220", "334", "354")

# aiosmtpd's built-in texts (smtp.py, 1.4.6) -> our replies.
_BUILTIN = {
    "250 OK": OK,
    "221 Bye": BYE,
    "500 Error: bad syntax": BAD_SYNTAX,
    "500 Command line too long": "500 5.5.6 Command line too long",
    "500 Line too long (see RFC5321 4.5.3.1.6)": LINE_TOO_LONG,
    "552 Error: Too much mail data": MESSAGE_TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": MESSAGE_TOO_BIG,
    "503 Error: need MAIL command": NEED_MAIL,
    "503 Error: need RCPT command": NEED_RCPT,
    "503 Error: nested MAIL command": "503 5.5.1 Nested MAIL command",
    "553 5.1.3 Error: malformed address": "553 5.1.3 Malformed address",
    "530 Must issue a STARTTLS command first": "530 5.7.0 Must issue a STARTTLS command first",
    "554 Command refused due to lack of security": "554 5.7.0 Command refused: TLS required",
    "454 TLS not available": "454 4.7.0 TLS not available",
    "501 Syntax: STARTTLS": "501 5.5.4 Syntax: STARTTLS",
    "503 Already authenticated": "503 5.5.1 Already authenticated",
    "501 Not enough value": "501 5.5.4 AUTH needs a mechanism",
    "501 Too many values": "501 5.5.4 Too many AUTH arguments",
    "502 EXPN not implemented": "502 5.5.1 EXPN not implemented",
    "500 Error: strict ASCII mode": "500 5.6.7 Non-ASCII data needs SMTPUTF8",
    "501 Error: SMTPUTF8 disabled": "501 5.6.7 SMTPUTF8 disabled",
    "555 MAIL FROM parameters not recognized or not implemented": "555 5.5.4 MAIL FROM parameters not recognized",
    "555 RCPT TO parameters not recognized or not implemented": "555 5.5.4 RCPT TO parameters not recognized",
    "252 Cannot VRFY user, but will accept message and attempt delivery": "252 2.5.2 Cannot VRFY user",
}
_GENERIC = {"2": "2.0.0", "4": "4.0.0", "5": "5.5.0"}


def enhance(status: str) -> str:
    """The reply with an enhanced status code (unchanged when it has one or needs none)."""
    if status in _BUILTIN:
        return _BUILTIN[status]
    code = status[:3]
    if code in _NO_CODE or _HAS_ENHANCED.match(status) or not code.isdigit() or len(status) < 4:
        return status
    if status[3] == "-":  # a continuation line of a multi-line reply (EHLO is sent raw)
        return status
    generic = _GENERIC.get(code[0])
    if generic is None:
        return status
    if code.startswith("50") and code != "503":
        generic = "5.5.1" if code == "502" else "5.5.2"
    return f"{code} {generic} {status[4:]}"


def is_error(status: str) -> bool:
    return status[:1] in ("4", "5") and not status.startswith("421")


# The reply line a Sieve `reject`/`ereject` puts in its delivery report (RFC 5429: the
# message was accepted, then refused by the recipient's filter).
SIEVE_REJECTED = "550 5.7.1 Refused by the recipient's Sieve filter:"

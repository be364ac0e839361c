"""Delivery status notifications (RFC 3464): the bounce a sender gets for recipients we gave up on."""

from __future__ import annotations

import email.utils
import time

from swissbox.smtp.outbound.state import RecipientState


def _status(reply: str) -> str:
    """The enhanced status code in a reply ('550 5.1.1 ...' -> '5.1.1'), else from the code."""
    parts = reply.split()
    if len(parts) > 1 and parts[1].count(".") == 2 and parts[1][0] in "245":
        return parts[1]
    return "5.0.0" if parts and parts[0].startswith("5") else "4.4.7"


def bounce(
    hostname: str,
    queue_id: str,
    sender: str,
    failed: dict[str, RecipientState],
    original: bytes,
    arrival: float,
    now: float | None = None,
) -> bytes:
    """A multipart/report for `sender` naming each failed recipient and why."""
    headers, _, _ = original.partition(b"\r\n\r\n")
    when = now or time.time()
    boundary = f"=_swissbox_dsn_{queue_id}_{int(when)}"
    lines = [
        f"This is the mail system at {hostname}.",
        "",
        "Your message could not be delivered to one or more recipients.",
        "",
    ]
    for rcpt, state in failed.items():
        where = f" (from {state.remote})" if state.remote else ""
        lines.append(f"<{rcpt}>: {state.reply}{where}")
    report = [
        f"Reporting-MTA: dns; {hostname}",
        f"X-Swissbox-Queue-ID: {queue_id}",
        f"Arrival-Date: {email.utils.formatdate(arrival)}",
        "",
    ]
    for rcpt, state in failed.items():
        report += [
            f"Final-Recipient: rfc822; {rcpt}",
            "Action: failed",
            f"Status: {_status(state.reply)}",
        ]
        if state.remote:
            report.append(f"Remote-MTA: dns; {state.remote}")
        report += [f"Diagnostic-Code: smtp; {state.reply}", ""]
    head = [
        f"From: Mail Delivery System <postmaster@{hostname}>",
        f"To: <{sender}>",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {email.utils.formatdate(when)}",
        f"Message-ID: {email.utils.make_msgid(domain=hostname)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated delivery status notification.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        *lines,
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        *report,
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "Content-Transfer-Encoding: 8bit",
        "",
    ]
    tail = f"\r\n\r\n--{boundary}--\r\n"
    return "\r\n".join(head).encode() + b"\r\n" + headers + tail.encode()

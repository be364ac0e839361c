"""rspamd over its HTTP protocol: `/checkv2` on the normal worker for each message, and the
controller's `/learnspam` and `/learnham` for what people move into or out of Junk.

At the MX rspamd's action decides: `reject` refuses (550 5.7.1; or Junk when [filter]
rspamd_reject = "junk"), `soft reject`/`greylist` defer (451 4.7.1), `add header`/`rewrite
subject` deliver to Junk with X-Spam-* fields. Authenticated submission has its own threshold
([filter] submission_reject_score): outbound spam from a stolen password is refused there.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from swissbox.filter.base import Action, FailurePolicy, Request, ScanError, Scanner, Verdict
from swissbox.filter.httpclient import Endpoint, post

log = logging.getLogger("swissbox.filter")

SPAM_REJECTED = "550 5.7.1 Message refused as spam"
SPAM_DEFERRED = "451 4.7.1 Message deferred by the spam filter, try again later"
OUTBOUND_SPAM = "550 5.7.1 Message refused: it looks like spam (score {score:.1f})"
JUNK_ACTIONS = ("add header", "rewrite subject")
DEFER_ACTIONS = ("soft reject", "greylist")
KNOWN_ACTIONS = ("reject", "no action", *JUNK_ACTIONS, *DEFER_ACTIONS)
MAX_SYMBOLS_LOGGED = 30
LEARN_PATHS = {"spam": "/learnspam", "ham": "/learnham"}


def request_headers(request: Request, password: str = "") -> list[tuple[str, str]]:
    """rspamd's per-message HTTP headers (its protocol: IP, Helo, From, Rcpt, Queue-Id, User)."""
    headers = [("Queue-Id", request.qid), ("From", request.sender or "<>")]
    if request.client_ip:
        headers.append(("IP", request.client_ip))
    if request.helo:
        headers.append(("Helo", request.helo))
    headers += [("Rcpt", r) for r in request.recipients]
    if request.user:
        headers.append(("User", request.user))
    if password:
        headers.append(("Password", password))
    return headers


def parse_answer(body: bytes) -> dict[str, Any]:
    """The checkv2 answer: a JSON object with a known action and a numeric score."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ScanError(f"answer is not JSON: {body[:60]!r}") from None
    if not isinstance(answer, dict) or answer.get("action") not in KNOWN_ACTIONS:
        raise ScanError(f"answer has no known action: {body[:80]!r}")
    if not isinstance(answer.get("score"), int | float):
        raise ScanError("answer has no score")
    if not isinstance(answer.get("symbols", {}), dict):
        raise ScanError("answer's symbols are not an object")
    return answer


def symbols_text(answer: dict[str, Any], limit: int = MAX_SYMBOLS_LOGGED) -> str:
    """'NAME(score),...' for the symbols that scored, highest first."""
    scored = []
    for name, sym in answer.get("symbols", {}).items():
        score = sym.get("score", 0.0) if isinstance(sym, dict) else 0.0
        if isinstance(score, int | float):
            scored.append((float(score), str(name)))
    scored.sort(key=lambda s: (-abs(s[0]), s[1]))
    return ",".join(f"{n}({s:g})" for s, n in scored[:limit])


def decide(
    answer: dict[str, Any], user: str | None, reject_to_junk: bool, outbound_reject: float
) -> Verdict:
    """What an rspamd answer means for delivery (pure)."""
    action, score = answer["action"], float(answer["score"])
    required = answer.get("required_score", 0.0)
    symbols = symbols_text(answer)
    summary = f"action={action!r} score={score:g}/{required} symbols={symbols}"
    if user is not None:  # authenticated submission: our own threshold only
        if score >= outbound_reject:
            return Verdict(Action.REJECT, OUTBOUND_SPAM.format(score=score), summary=summary)
        return Verdict(summary=summary)
    spam = action != "no action"
    headers: tuple[str, ...] = (
        f"X-Spam-Status: {'Yes' if spam else 'No'}, score={score:.2f} required={required}",
        f"X-Spam-Action: {action}",
    )
    if spam:
        headers = ("X-Spam: Yes", *headers, f"X-Spam-Symbols: {symbols_text(answer, 20)}")
    if action == "reject":
        if reject_to_junk:
            return Verdict(Action.JUNK, headers=headers, summary=summary)
        return Verdict(Action.REJECT, SPAM_REJECTED, summary=summary)
    if action in DEFER_ACTIONS:
        return Verdict(Action.DEFER, SPAM_DEFERRED, summary=summary)
    if action in JUNK_ACTIONS:
        return Verdict(Action.JUNK, headers=headers, summary=summary)
    return Verdict(headers=headers, summary=summary)


class RspamdScanner(Scanner):
    name = "rspamd"

    def __init__(
        self,
        policy: FailurePolicy,
        url: str,
        controller_url: str = "",
        password: str = "",
        reject_to_junk: bool = False,
        outbound_reject: float = 15.0,
    ) -> None:
        super().__init__(policy)
        self.worker = Endpoint.parse(url)
        self.controller = Endpoint.parse(controller_url) if controller_url else None
        self.password = password
        self.reject_to_junk = reject_to_junk
        self.outbound_reject = outbound_reject

    @classmethod
    def from_settings(cls, settings: Any, policy: FailurePolicy) -> RspamdScanner:
        return cls(
            policy,
            settings.rspamd_url,
            settings.rspamd_controller_url,
            settings.rspamd_password,
            settings.rspamd_reject == "junk",
            settings.submission_reject_score,
        )

    async def scan(self, request: Request) -> Verdict:
        status, body = await post(
            self.worker, "/checkv2", request.data, request_headers(request, self.password)
        )
        if status != 200:
            raise ScanError(f"HTTP {status}: {body[:80]!r}")
        return decide(parse_answer(body), request.user, self.reject_to_junk, self.outbound_reject)

    async def learn(self, kind: str, data: bytes) -> str:
        """Teaches rspamd `kind` ("spam" or "ham") from `data`; returns its answer for the log.
        Raises ScanError or OSError when it could not."""
        if self.controller is None:
            raise ScanError("no rspamd_controller_url")
        headers = [("Password", self.password)] if self.password else []
        status, body = await post(self.controller, LEARN_PATHS[kind], data, headers)
        # 208: already learned as this class
        if status not in (200, 208):
            raise ScanError(f"HTTP {status}: {body[:120]!r}")
        return body[:120].decode("utf-8", "replace")

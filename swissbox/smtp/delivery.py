"""The end of DATA: TNEF rewriting, then the mail store (local) or the queue (remote).

Returns the SMTP reply to send: 250 only once every local copy is durable (mail store
commit) and every remote copy is in the outbound queue (fsynced).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from swissbox import metrics
from swissbox.directory import Mailbox
from swissbox.mailstore import MailStore, MailStoreError, NoSuchFolder, QuotaExceeded
from swissbox.mailstore.queue import OutboundQueue
from swissbox.mailstore.sieving import Filter
from swissbox.smtp import replies
from swissbox.smtp.headers import return_path
from swissbox.smtp.outbound import dsn
from swissbox.smtp.outbound.state import FAILED, RecipientState
from swissbox.tnef import rewrite

log = logging.getLogger("swissbox.smtp")

_TNEF_MARKS = (b"ms-tnef", b"winmail.dat")


def looks_tnef(data: bytes) -> bool:
    """Cheap pre-check (a case-insensitive regex costs ~0.3 ms per 10 KB; lower() ~5 us)."""
    lowered = data.lower()
    return any(mark in lowered for mark in _TNEF_MARKS)


def rewrite_tnef(data: bytes, mode: str) -> bytes:
    """winmail.dat -> MIME parts (mode "replace" or "keep"); the input if the rewrite fails.
    Callers check `mode != "off"` and `looks_tnef()` first."""
    try:
        new, report = rewrite(data, mode=mode)
    except Exception:  # the library promises not to raise; mail must flow regardless
        log.exception("tnef: rewrite failed; delivering the message unchanged")
        return data
    if new is not data:
        log.info("tnef: rewrote message (%s)", report)
    return new


@dataclass
class Outcome:
    reply: str
    delivered: int = 0
    queued: int = 0


class Deliverer:
    def __init__(
        self,
        store: MailStore,
        queue: OutboundQueue,
        tnef_mode: str,
        on_queued: Callable[[str], None] | None = None,
        sieve: Filter | None = None,
        redirect_sender: Callable[[str, str], str] | None = None,
    ) -> None:
        """`on_queued(queue_id)` runs after a message for other domains is durably queued
        (the service wakes its queue runner with it). `sieve`: runs each mailbox's active
        script; `redirect_sender(sender, mailbox)`: the envelope sender of a redirected copy
        (SRS, as for forwards)."""
        self.store = store
        self.queue = queue
        self.tnef_mode = tnef_mode
        self.on_queued = on_queued
        self.sieve = sieve
        self.redirect_sender = redirect_sender
        # the ARC set a redirected copy carries (message, the mailbox's domain), as forwards
        self.redirect_sealer: Callable[[bytes, str], bytes] | None = None

    async def prepare(self, data: bytes) -> bytes:
        if self.tnef_mode == "off" or not looks_tnef(data):
            return data
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, rewrite_tnef, data, self.tnef_mode)

    async def deliver(
        self,
        data: bytes,
        local: list[Mailbox],
        remote: list[str],
        sender: str,
        qid: str,
        folder: str = "INBOX",
        rcpts: Mapping[str, str] | None = None,
    ) -> Outcome:
        """`folder`: where local copies go (Junk for DMARC quarantine; INBOX when a mailbox
        has no such folder). `rcpts`: mailbox address -> the recipient as given at RCPT (for
        Sieve's envelope test; subaddress kept)."""
        outcome = Outcome(replies.DELIVERED.format(id=qid))
        ids = {"qid": qid}
        stored = ""
        sent: list[tuple[str, list[str], bytes]] = []
        if local:
            started = metrics.now()
            delivery = self.store.begin()
            for mailbox in local:
                filed = await self._filed(mailbox, folder, data, sender, rcpts, sent, qid)
                for target, flags in filed:
                    try:
                        delivery.add_recipient(
                            mailbox.address, target, flags, quota_bytes=mailbox.quota_bytes
                        )
                    except NoSuchFolder:
                        delivery.add_recipient(
                            mailbox.address, flags=flags, quota_bytes=mailbox.quota_bytes
                        )
            # what Sieve sends is queued first: a failure there is a temporary error for the
            # whole message (retried, perhaps duplicated; never lost)
            if sent and not await self.queue_copies(sent, qid):
                delivery.abort()
                return Outcome(replies.LOCAL_ERROR)
            done = []
            if delivery.targets:  # none when Sieve discarded or redirected every copy
                delivery.write(return_path(sender) + data)
                try:
                    done = await delivery.commit()
                except QuotaExceeded as exc:
                    log.info("smtp %s: %s", qid, exc, extra=ids)
                    metrics.delivered("local", "failed", len(local))
                    return Outcome(replies.MAILBOX_FULL.format(address=exc.address))
                except (MailStoreError, OSError):
                    log.exception("smtp %s: local delivery failed", qid, extra=ids)
                    metrics.delivered("local", "failed", len(local))
                    return Outcome(replies.LOCAL_ERROR)
            else:
                delivery.abort()
            metrics.delivery_time("local", started)
            metrics.delivered("local", "delivered", len(done))
            outcome.delivered = len(done)
            # where the store put it: IMAP shows these UIDs (uidvalidity/uid per folder)
            stored = " ".join(f"{d.address}/{d.folder}/{d.uidvalidity}/{d.uid}" for d in done)
        if remote:
            loop = asyncio.get_running_loop()
            try:
                queued_as = await loop.run_in_executor(
                    None, self.queue.enqueue, sender, remote, data
                )
            except OSError:
                log.exception(
                    "smtp %s: could not queue for %d remote recipients", qid, len(remote), extra=ids
                )
                return Outcome(replies.LOCAL_ERROR, outcome.delivered)
            outcome.queued = len(remote)
            ids["queued_as"] = queued_as
            outcome.reply = replies.QUEUED.format(id=qid)
            if self.on_queued is not None:
                try:
                    self.on_queued(queued_as)
                except Exception:  # a listener's failure must not fail the accepted message
                    log.exception("smtp %s: on_queued failed", qid, extra=ids)
        log.info(
            "smtp %s: from <%s> delivered %d, queued %d",
            qid,
            sender,
            outcome.delivered,
            outcome.queued,
            extra={**ids, "stored": stored} if stored else ids,
        )
        return outcome

    async def _filed(
        self,
        mailbox: Mailbox,
        folder: str,
        data: bytes,
        sender: str,
        rcpts: Mapping[str, str] | None,
        sent: list[tuple[str, list[str], bytes]],
        qid: str,
    ) -> list[tuple[str, tuple[str, ...]]]:
        """(folder, flags) of each copy `mailbox` keeps, after its Sieve script; what the
        script sends (redirects, a vacation reply, a refusal report) is added to `sent`."""
        if self.sieve is None:
            return [(folder, ())]
        box = self.store.mailbox(mailbox.address)

        def exists(name: str) -> bool:
            try:
                box.folder(name)
            except (MailStoreError, ValueError):
                return False
            return True

        rcpt = (rcpts or {}).get(mailbox.address, mailbox.address)
        # off the event loop: the script's directory reads and vacation write may wait on a lock
        filing = await asyncio.get_running_loop().run_in_executor(
            None, self.sieve.decide, mailbox.address, rcpt, sender, data, folder, exists
        )
        kept: list[tuple[str, tuple[str, ...]]] = []
        for target, flags, create in filing.stores:
            if create and not exists(target):
                try:
                    box.create_folder(target)
                except (MailStoreError, ValueError) as exc:
                    log.warning("sieve: %s: cannot create %r (%s)", mailbox.address, target, exc)
                    target = folder
            kept.append((target, flags))
        if filing.redirects:
            new_sender = sender
            if self.redirect_sender is not None:
                new_sender = self.redirect_sender(sender, mailbox.address)
            copy = f"Delivered-To: {mailbox.address}\r\n".encode() + data
            if self.redirect_sealer is not None:
                copy = self.redirect_sealer(copy, mailbox.address.rpartition("@")[2])
            sent.append((new_sender, filing.redirects, copy))
        if filing.vacation is not None:
            sent.append(("", [filing.vacation_to], filing.vacation))
        if filing.reject is not None and sender:
            state = RecipientState(FAILED, f"{replies.SIEVE_REJECTED} {filing.reject}")
            hostname = self.sieve.hostname
            report = dsn.bounce(hostname, qid, sender, {rcpt: state}, data, time.time())
            sent.append(("", [sender], report))
        return kept

    async def queue_copies(self, copies: Sequence[tuple[str, list[str], bytes]], qid: str) -> bool:
        """Queues further copies, each (envelope sender, recipients, message): forwarded mail
        with its SRS sender and Delivered-To fields. False when one could not be queued."""
        loop = asyncio.get_running_loop()
        for sender, rcpts, data in copies:
            try:
                queued_as = await loop.run_in_executor(
                    None, self.queue.enqueue, sender, rcpts, data
                )
            except OSError:
                log.exception(
                    "smtp %s: could not queue a forward to %d recipients", qid, len(rcpts)
                )
                return False
            log.info(
                "smtp %s: forwarded as <%s> to %d, queued as %s", qid, sender, len(rcpts), queued_as
            )
            if self.on_queued is not None:
                try:
                    self.on_queued(queued_as)
                except Exception:  # a listener's failure must not fail the accepted message
                    log.exception("smtp %s: on_queued failed", qid)
        return True

    async def bounce(self, sender: str, data: bytes, mailbox: Mailbox | None) -> None:
        """A DSN for `sender`: into `mailbox` (theirs, when hosted here; bounces pass quotas),
        else queued with the null sender (so a bounce never bounces)."""
        if mailbox is not None:
            delivery = self.store.begin()
            delivery.add_recipient(mailbox.address, quota_bytes=None)
            delivery.write(return_path("") + data)
            await delivery.commit()
            return
        loop = asyncio.get_running_loop()
        queued_as = await loop.run_in_executor(None, self.queue.enqueue, "", [sender], data)
        if self.on_queued is not None:
            self.on_queued(queued_as)

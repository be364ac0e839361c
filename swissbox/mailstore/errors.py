"""What the mail store refuses with: every refusal is a `MailStoreError` whose message says why."""

from __future__ import annotations


class MailStoreError(Exception):
    """A store operation that cannot be done; the message says why."""


class QuotaExceeded(MailStoreError):
    def __init__(self, address: str, usage: int, size: int, quota: int) -> None:
        self.address, self.usage, self.size, self.quota = address, usage, size, quota
        super().__init__(f"{address}: {usage} + {size} bytes exceeds the quota of {quota} bytes")


class NoSuchFolder(MailStoreError):
    pass

"""Per-message delivery state: kept in the queue's state store (`mailstore.queuestate`), which
every front end shares; the names are re-exported here for the outbound code.

A recipient is `pending` until a remote server accepts it (`sent`) or refuses it for good or
the message outlives the queue lifetime (`failed`, with the reply that decided it).
"""

from __future__ import annotations

from swissbox.mailstore.queuestate import FAILED, PENDING, SENT, DeliveryState, RecipientState

__all__ = ["FAILED", "PENDING", "SENT", "DeliveryState", "RecipientState"]

"""Compare-and-set on a conversation's `version`: two people changing it at once never lose an
update, on SQLite and PostgreSQL alike (R-ASSIGN, R-CLOSE)."""

from __future__ import annotations

from typing import Any

from models import Conversation
from resolvers.errors import Conflict


async def compare_and_set(conversation: Conversation, **changes: Any) -> bool:
    """Writes `changes` only if nobody changed the conversation since it was read: True.

    If someone did and the conversation already holds exactly `changes` (two people closing it at
    once), the caller sees that winner's state: False, nothing to announce. Otherwise CONFLICT.
    """
    updated = await Conversation.filter(id=conversation.id, version=conversation.version).update(
        **changes, version=conversation.version + 1
    )
    if updated == 1:
        for name, value in changes.items():
            setattr(conversation, name, value)
        conversation.version += 1
        return True
    await conversation.refresh_from_db()
    if conversation.deleted_at is None and all(getattr(conversation, name) == value for name, value in changes.items()):
        return False
    raise Conflict("Someone else changed this conversation at the same moment; reload and try again.")

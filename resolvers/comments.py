"""R-COMMENT: internal comments in a conversation's thread, and the mentions that notify.

A comment is a Message with direction INTERNAL: it sits in the thread in order with the others,
but it is never handed to a provider, never written into CRM notes (R-NOTE), and it does not
move the conversation: no section change, no reopening, no new `lastMessage`/`lastMessageAt`
(so the section order and the previews stay the customer's), no change to the reply window.
"""

from __future__ import annotations

from collections.abc import Sequence

from models import (
    AppAccess,
    Conversation,
    DeliveryStatus,
    Direction,
    InboxEventType,
    Message,
    MessageMention,
    User,
    UserStatus,
)
from models.typed import ids_of
from resolvers import clock
from resolvers.access import require_conversation
from resolvers.errors import MentionNoAccess, NotFound, ValidationFailed
from resolvers.events import change
from resolvers.ids import pk_of, to_api_id
from resolvers.messages import MAX_TEXT
from resolvers.notifications import notify_mentioned
from resolvers.viewer import Viewer

MAX_MENTIONS = 50


def _comment_text(text: str) -> str:
    if not text.strip():
        raise ValidationFailed("A comment needs some text.", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"A comment holds at most {MAX_TEXT} characters.", field="text")
    return text


async def _mentioned(viewer: Viewer, conversation: Conversation, user_ids: Sequence[str]) -> list[int]:
    """The mentioned users' ids, each once, in the order given. Another account's or a malformed id
    is NOT_FOUND (R-TENANT); a user of the account without access to the conversation's app is
    MENTION_NO_ACCESS (they could not read what they would be told of), a DEACTIVATED one too."""
    if len(user_ids) > MAX_MENTIONS:
        raise ValidationFailed(f"At most {MAX_MENTIONS} mentions in one comment.", field="mentionUserIds")
    pks = list(dict.fromkeys(pk_of("User", user_id) for user_id in user_ids))
    if not pks:
        return []
    found = set(await ids_of(User.filter(id__in=pks, account_id=viewer.account_id), "id"))
    if len(found) != len(pks):
        raise NotFound("No such user.")
    # A DEACTIVATED user cannot sign in to read it (R-ADMIN): they have no access either.
    sharing = AppAccess.filter(app_id=conversation.app_id, user_id__in=pks, user__status=UserStatus.ACTIVE)
    with_access = set(await ids_of(sharing, "user_id"))
    refused = [pk for pk in pks if pk not in with_access]
    if refused:
        raise MentionNoAccess(
            "A mentioned user has no access to this conversation's app: share the app with them first.",
            userIds=[to_api_id("User", pk) for pk in refused],
        )
    return pks


async def add_comment(
    viewer: Viewer, conversation_id: str, text: str, mention_user_ids: Sequence[str] | None = None
) -> Message:
    """Anyone who can see the conversation may comment, open or closed. Stores the comment, its
    mentions, the COMMENT_ADDED event and the MENTIONED notifications in one transaction; a refused
    comment stores nothing."""
    text = _comment_text(text)
    async with change() as c:
        # Locked: a deletion committing meanwhile must not leave a comment on an erased conversation.
        conversation = await require_conversation(viewer, conversation_id, for_update=True)
        mentioned = await _mentioned(viewer, conversation, mention_user_ids or [])
        now = clock.now()
        comment = await Message.create(
            account_id=conversation.account_id,
            app_id=conversation.app_id,
            conversation_id=conversation.id,
            direction=Direction.INTERNAL,
            text=text,
            attachments=[],
            sender_name=viewer.user.name,
            sent_by_id=viewer.id,
            status=DeliveryStatus.RECEIVED,
            created_at=now,
            updated_at=now,
        )
        if mentioned:
            await MessageMention.bulk_create([MessageMention(message_id=comment.id, user_id=pk) for pk in mentioned])
        c.record(InboxEventType.COMMENT_ADDED, conversation, message_id=comment.id, actor_id=viewer.id)
        await notify_mentioned(c, conversation, comment, mentioned, actor_id=viewer.id)
    return comment

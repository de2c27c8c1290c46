"""R-PRESENCE's types: who is in a conversation now."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers.presence import PresenceActivity
from schema.context import loaders_of
from schema.types.common import describe_enum
from schema.types.team import User
from subscriptions.presence import Entry

describe_enum(
    PresenceActivity,
    "PresenceActivity",
    "What a user is doing in a conversation (R-PRESENCE).",
    {"VIEWING": "Has it open.", "TYPING": "Is writing a reply or a comment."},
)


@strawberry.type(description="A user in a conversation now (R-PRESENCE); gone 30 s after their last heartbeat.")
class Presence:
    entry: strawberry.Private[Entry]
    since: datetime = strawberry.field(description="When this activity began (heartbeats of the same one keep it).")

    @classmethod
    def of(cls, entry: Entry) -> Presence:
        return cls(entry=entry, since=entry.since)

    @strawberry.field(description="VIEWING (has it open) or TYPING (is writing in it).")
    def activity(self) -> PresenceActivity:
        return PresenceActivity(self.entry.activity)

    @strawberry.field(description="Who it is (the viewer too, when present).")
    async def user(self, info: Info) -> User:
        return User.of(await loaders_of(info).user.load(self.entry.user_id))

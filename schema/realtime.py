"""Real time over GraphQL: Subscription.inboxEvents, Query.inboxEventCursor, and live notification ids.

Other subscriptions of the schema (e.g. `notifications`) receive their user's ids through
`live_notification_ids(info)`:

    @strawberry.subscription
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        async for notification_id in live_notification_ids(info):
            row = await load_notification(notification_id)   # fresh row; loaders are fresh too
            yield Notification.of(row)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.types import Info

from resolvers.errors import SubscriberTooSlow
from schema.context import viewer_of
from schema.loaders import Loaders
from subscriptions.hub import TooSlow, current_hub


async def live_notification_ids(info: Info) -> AsyncIterator[int]:
    """The viewer's notification ids as they are published (from any process), live only.
    Gives the operation fresh loaders before each id, so nothing is served from a stale cache;
    ends with SUBSCRIBER_TOO_SLOW when the client falls `subscriber_queue_size` ids behind."""
    viewer = viewer_of(info)
    try:
        async for notification_id in current_hub().notification_ids(viewer.id):
            info.context.loaders = Loaders()
            yield notification_id
    except TooSlow:
        raise SubscriberTooSlow("You fell too far behind; subscribe again.") from None

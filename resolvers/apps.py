"""R-SETTINGS: installing, sharing and uninstalling messaging apps (ADMIN only)."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from models import AppAccess, MessagingApp, Provider, User
from models.typed import ids_of
from resolvers import clock, files, routing
from resolvers.access import account_app, visible_apps
from resolvers.credentials import encrypt_credentials, validate_credentials
from resolvers.errors import Forbidden, NotFound, ValidationFailed
from resolvers.events import change
from resolvers.ids import pk_of, to_api_id
from resolvers.viewer import Viewer
from settings import get_settings

WEBHOOK_PATHS = {
    Provider.TWILIO_WHATSAPP: "/webhooks/twilio/{app_id}",
    Provider.MESSENGER: "/webhooks/messenger/{app_id}",
    Provider.API: "/webhooks/api/{app_id}",
}


def webhook_url(app: MessagingApp) -> str:
    path = WEBHOOK_PATHS[app.provider].format(app_id=to_api_id("MessagingApp", app.id))
    return get_settings().public_base_url + path


async def messaging_apps(viewer: Viewer) -> list[MessagingApp]:
    """Admins see every app of the account; members the apps shared with them."""
    return await (await visible_apps(viewer)).order_by("id")


async def _account_users(viewer: Viewer, user_ids: list[str]) -> list[User]:
    pks = {pk_of("User", user_id) for user_id in user_ids}
    users = await User.filter(id__in=list(pks), account_id=viewer.account_id)
    if len(users) != len(pks):
        raise NotFound("No such user.")
    return users


async def install_messaging_app(
    viewer: Viewer, provider: Provider, name: str, credentials: Any, share_with: list[str] | None = None
) -> MessagingApp:
    viewer.require_admin()
    if provider == Provider.TWILIO_WHATSAPP and not get_settings().whatsapp_new_installs:
        raise Forbidden(
            "WhatsApp by Twilio is closed to new installs (WHATSAPP_NEW_INSTALLS=false); existing apps keep working.",
            reason="WHATSAPP_NEW_INSTALLS_DISABLED",
        )
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("name must have 1 to 200 characters.", field="name")
    clean = validate_credentials(provider, credentials)
    users = await _account_users(viewer, share_with or [])
    async with in_transaction():
        app = await MessagingApp.create(
            account_id=viewer.account_id,
            provider=provider,
            name=name,
            installed_by_id=viewer.id,
            credentials_encrypted=encrypt_credentials(clean),
            created_at=clock.now(),
        )
        await _set_access(app, {viewer.id, *(user.id for user in users)})
    viewer.forget_access()
    return app


async def share_messaging_app(viewer: Viewer, app_id: str, user_ids: list[str]) -> MessagingApp:
    """Sets the whole list; the installer always keeps access."""
    viewer.require_admin()
    app = await account_app(viewer, app_id)
    users = await _account_users(viewer, user_ids)
    async with change() as c:
        await routing.lock_routing([app.id])
        await _set_access(app, {app.installed_by_id, *(user.id for user in users)})
        await routing.drain(c, [app.id])  # R-ROUTE: someone given access may take queued conversations
    viewer.forget_access()
    return app


async def _set_access(app: MessagingApp, user_ids: set[int]) -> None:
    current = set(await ids_of(AppAccess.filter(app_id=app.id), "user_id"))
    await AppAccess.filter(app_id=app.id, user_id__in=list(current - user_ids)).delete()
    await AppAccess.bulk_create([AppAccess(app_id=app.id, user_id=user_id) for user_id in sorted(user_ids - current)])


async def uninstall_messaging_app(viewer: Viewer, app_id: str) -> int:
    """Removes the app with its contacts, conversations and messages."""
    viewer.require_admin()
    app = await account_app(viewer, app_id)
    async with in_transaction():
        await files.forget_app_files(app.id)  # R-MEDIA: the sweep removes their bytes
        await app.delete()
    viewer.forget_access()
    return app.id


async def shared_with(app: MessagingApp) -> list[User]:
    return await User.filter(app_access__app_id=app.id).order_by("id")

"""A team with an inbox, a real SMTP server, and notification settings: shared by the notification tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from providers.email import SmtpSender
from resolvers.emails import deliver_due_emails
from tests.smtp_sink import SmtpSink
from tests.support import Api, ApiApp, Person

UPDATE_SETTINGS = """mutation($s: [NotificationSettingInput!]!) {
  updateNotificationSettings(settings: $s) { kind desktop email } }"""
SENDER = "Switchboard <inbox@switchboard.test>"


@dataclass
class Team:
    ana: Person  # admin, installed the app
    bob: Person  # member with access
    cleo: Person  # member with access
    dan: Person  # member without access
    app: ApiApp
    emails: dict[str, str]

    @property
    def everyone(self) -> list[Person]:
        return [self.ana, self.bob, self.cleo, self.dan]


@pytest.fixture
async def team(api: Api) -> Team:
    ana = await api.create_account()
    bob = await api.create_user(ana, "Bob Baker")
    cleo = await api.create_user(ana, "Cleo Cruz")
    dan = await api.create_user(ana, "Dan Diaz")
    app = await api.install_api_app(ana, share_with=[bob, cleo])
    users = (await api.data("{ users { id email } }", token=ana.token))["users"]
    emails = {user["id"]: user["email"] for user in users}
    return Team(ana, bob, cleo, dan, app, emails)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


async def set_choice(api: Api, person: Person, kind: str, *, desktop: bool, email: bool) -> None:
    await api.data(UPDATE_SETTINGS, {"s": [{"kind": kind, "desktop": desktop, "email": email}]}, token=person.token)


async def bob_hears_of_unassigned(api: Api, team: Team) -> None:
    await set_choice(api, team.bob, "NEW_MESSAGE_UNASSIGNED", desktop=True, email=True)


async def deliver(sink: SmtpSink) -> int:
    """One worker round against `sink`, at the clock's time; how many emails went out."""
    return await deliver_due_emails(SmtpSender(sink.url, SENDER))

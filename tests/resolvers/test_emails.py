"""Email notifications (R-NOTIFY, resolvers/emails.py), sent to a real SMTP server on 127.0.0.1:
what an email says, one per user per conversation per period, retries of refusals, and claims
that make each email go once. The SMTP side itself is in tests/providers/test_email.py."""

from __future__ import annotations

import asyncio

from models import EmailStatus, OutboxEmail, User
from providers.email import SmtpSender
from resolvers.clock import ManualClock
from resolvers.emails import LEASE, OutgoingEmail, deliver_due_emails
from resolvers.ids import pk_of
from tests.notify_support import SENDER, Team, bob_hears_of_unassigned, deliver, set_choice, sink, team  # noqa: F401 (fixtures)
from tests.smtp_sink import SmtpSink
from tests.support import Api

CONVERSATIONS = "{ conversations(section: UNASSIGNED) { edges { node { id } } } }"


async def test_email_names_conversation_contact_messages_and_link(api: Api, team: Team, sink: SmtpSink) -> None:
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("carla", "Is 5 < 6 & 7?\nThanks", name="Carla Gomez")
    assert await deliver(sink) == 1

    [mail] = sink.received
    conversation = (await api.data(CONVERSATIONS, token=team.bob.token))["conversations"]["edges"][0]["node"]["id"]
    link = f"https://inbox.example.test/inbox/conversations/{conversation}"
    assert mail.to == [team.emails[team.bob.id]]
    assert mail.message["From"] == SENDER
    assert mail.subject == "Carla Gomez on Website chat: 1 new message"
    text = mail.part("text/plain")
    assert "Carla Gomez" in text and "Website chat" in text and "Unassigned, open" in text
    assert "Is 5 < 6 & 7?\nThanks" in text
    assert link in text
    page = mail.part("text/html")
    assert "Is 5 &lt; 6 &amp; 7?<br>Thanks" in page
    assert f'href="{link}"' in page


async def test_a_contact_name_with_a_line_break_is_shown_on_one_line_and_adds_no_header(
    api: Api, team: Team, sink: SmtpSink
) -> None:
    # given a contact whose name tries to add a Bcc header
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("eve", "Hello", name="Eve\r\nBcc: x@y")

    # when the email about the conversation goes out
    assert await deliver(sink) == 1

    # then it reaches Bob alone, the name shown on the subject's one line
    [mail] = sink.received
    assert mail.to == [team.emails[team.bob.id]]
    assert "Bcc" not in mail.message and "x@y" not in mail.rcpt_tos
    assert mail.subject == "Eve Bcc: x@y on Website chat: 1 new message"
    assert "Conversation with Eve" in mail.part("text/plain")  # a body may hold line breaks: nothing to clean there
    assert await OutboxEmail.filter(status=EmailStatus.SENT).count() == 1


async def test_a_stored_address_email_cannot_compose_fails_at_once_and_the_others_go(
    api: Api, team: Team, sink: SmtpSink
) -> None:
    # given Bob's address stored before addresses were validated, and Cleo, both hearing of new messages
    await bob_hears_of_unassigned(api, team)
    await set_choice(api, team.cleo, "NEW_MESSAGE_UNASSIGNED", desktop=True, email=True)
    await User.filter(id=pk_of("User", team.bob.id)).update(email="user.<img/src=x/onerror=alert(1)>@probe.test")

    # when a message arrives
    await team.app.receive("carla", "Hello")

    # then Cleo's email goes; Bob's is given up at once with the reason, not retried ten times
    assert await deliver(sink) == 1
    assert [mail.to for mail in sink.received] == [[team.emails[team.cleo.id]]]
    bob = await OutboxEmail.get(user_id=pk_of("User", team.bob.id))
    assert bob.status == EmailStatus.FAILED and "not a valid email address" in (bob.last_error or "")


async def test_r_notify_coalesces_one_email_per_user_per_conversation_per_period(
    api: Api, team: Team, sink: SmtpSink, clock: ManualClock
) -> None:
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("carla", "One")
    assert await deliver(sink) == 1  # the first goes at once

    clock.advance(seconds=10)
    await team.app.receive("carla", "Two")
    clock.advance(seconds=10)
    await team.app.receive("carla", "Three")
    await team.app.receive("dora", "Other conversation")  # another conversation is not held back
    assert await deliver(sink) == 1
    clock.advance(seconds=278)  # 298 s after the first email
    assert await deliver(sink) == 0
    assert [mail.subject for mail in sink.received] == [
        "carla on Website chat: 1 new message",
        "dora on Website chat: 1 new message",
    ]

    clock.advance(seconds=2)  # the period has ended
    assert await deliver(sink) == 1
    held = sink.received[-1]
    assert held.subject == "carla on Website chat: 2 new messages"
    text = held.part("text/plain")
    assert "Two" in text and "Three" in text and "One" not in text

    clock.advance(seconds=1)
    await team.app.receive("carla", "Four")
    assert await deliver(sink) == 0  # one period after the held email went
    clock.advance(seconds=300)
    assert await deliver(sink) == 1
    assert "Four" in sink.received[-1].part("text/plain")
    assert len(sink.to(team.emails[team.bob.id])) == 4


async def test_temporary_refusal_is_retried_with_back_off(
    api: Api, team: Team, sink: SmtpSink, clock: ManualClock
) -> None:
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("carla", "Hello?")
    sink.refuse_rcpt = "451 4.3.0 Mailbox busy, try later"
    assert await deliver(sink) == 0
    clock.advance(seconds=31)
    assert await deliver(sink) == 0  # second refusal: the next try waits longer
    sink.refuse_rcpt = None
    clock.advance(seconds=31)
    assert await deliver(sink) == 0
    clock.advance(seconds=30)
    assert await deliver(sink) == 1
    assert len(sink.received) == 1


async def test_permanent_refusal_is_recorded_and_not_retried(
    api: Api, team: Team, sink: SmtpSink, clock: ManualClock
) -> None:
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("carla", "Hello?")
    sink.refuse_rcpt = "550 5.1.1 No such mailbox"
    assert await deliver(sink) == 0
    sink.refuse_rcpt = None
    clock.advance(days=1)
    assert await deliver(sink) == 0
    assert sink.received == []
    [row] = await OutboxEmail.all()
    assert row.status == EmailStatus.FAILED
    assert "550" in row.last_error and "No such mailbox" in row.last_error
    assert row.attempts == 1


async def test_two_workers_racing_send_each_email_once(api: Api, team: Team, sink: SmtpSink) -> None:
    await bob_hears_of_unassigned(api, team)
    for n in range(6):
        await team.app.receive(f"contact-{n}", f"Message {n}")
    first, second = SmtpSender(sink.url, SENDER), SmtpSender(sink.url, SENDER)
    sent = await asyncio.gather(deliver_due_emails(first), deliver_due_emails(second), deliver_due_emails(first))
    assert sum(sent) == 6
    subjects = sorted(mail.subject for mail in sink.received)
    assert subjects == sorted(f"contact-{n} on Website chat: 1 new message" for n in range(6))


class Hangs:
    """A worker whose process dies mid-send: the claim stays until its lease ends."""

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def send(self, email: OutgoingEmail) -> None:
        self.called.set()
        await asyncio.Event().wait()


async def test_email_claimed_by_a_dead_worker_is_sent_after_its_lease(
    api: Api, team: Team, sink: SmtpSink, clock: ManualClock
) -> None:
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("carla", "Hello?")
    dying = Hangs()
    crashed = asyncio.create_task(deliver_due_emails(dying))
    await dying.called.wait()
    crashed.cancel()

    assert await deliver(sink) == 0  # still claimed
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await deliver(sink) == 1
    assert await deliver(sink) == 0
    assert len(sink.received) == 1

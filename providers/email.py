"""Email over SMTP (aiosmtplib), or to the log without SMTP_URL; and the outbox worker loop.

`smtp://[user:pass@]host:port` upgrades with STARTTLS when the server offers it, `smtps://` speaks
TLS from the start; AUTH happens only when the URL carries credentials.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from contextlib import suppress
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from resolvers.emails import EmailNotSent, EmailSender, OutgoingEmail, deliver_due_emails, set_waker
from resolvers.signin_emails import deliver_due_sign_in_emails
from settings import Settings

log = logging.getLogger("switchboard.email")

POLL_SECONDS = 15.0
# CR and LF would end the header and start another (`Bcc: …`); no control character belongs in one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_text(value: str) -> str:
    """`value` as one header line: control characters and runs of spaces become one space (the
    policy then folds long lines and encodes non-ASCII); a name can show, never add a header."""
    return " ".join(_CONTROL.sub(" ", value).split())


class SmtpSender:
    def __init__(
        self, url: str, from_address: str, *, timeout: float = 30.0, tls_context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://[user:pass@]host:port or smtps://…")
        self.hostname = parts.hostname
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.from_address = from_address
        self.timeout = timeout
        self.tls_context = tls_context  # None: the system's trusted certificates

    def message(self, email: OutgoingEmail) -> EmailMessage:
        """EmailNotSent (permanent) when `email.to` is not one plain address (stored before addresses
        were validated): the email package cannot even compose some of those."""
        message = EmailMessage()
        message["From"] = self.from_address
        try:
            message["To"] = email.to
            addresses = message["To"].addresses
        except (ValueError, TypeError, AttributeError):  # AttributeError: a parser bug on e.g. `a.<b>@c`
            addresses = ()
        if [address.addr_spec for address in addresses] != [email.to]:
            raise EmailNotSent(f"the recipient {email.to!r} is not a valid email address", permanent=True)
        message["Subject"] = header_text(email.subject)
        message["Message-ID"] = make_msgid(domain="switchboard")
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, email: OutgoingEmail) -> None:
        message = self.message(email)
        try:
            await aiosmtplib.send(
                message,
                recipients=[email.to],  # never the headers' word on who gets it
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.tls,
                start_tls=False if self.tls else None,
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [recipient.code for recipient in refused.recipients]
            reason = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
            raise EmailNotSent(reason, permanent=all(500 <= code < 600 for code in codes)) from None
        except aiosmtplib.SMTPResponseException as response:
            raise EmailNotSent(f"{response.code} {response.message}", permanent=500 <= response.code < 600) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            raise EmailNotSent(f"SMTP server unreachable: {error}", permanent=False) from None


class LogSender:
    """Without SMTP_URL: each email is written to the log, whole."""

    async def send(self, email: OutgoingEmail) -> None:
        log.info("email to %s\nSubject: %s\n\n%s", email.to, header_text(email.subject), email.text)


def email_sender(settings: Settings) -> EmailSender:
    return SmtpSender(settings.smtp_url, settings.smtp_from) if settings.smtp_url else LogSender()


class EmailWorker:
    """Delivers due emails: woken after each commit that queued one, and every POLL_SECONDS for
    coalesced emails whose period ended, retries, and what other processes left behind."""

    def __init__(self, sender: EmailSender, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.sender = sender
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        set_waker(self._wake.set)
        self._task = asyncio.create_task(self._run(), name="email-worker")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Lets a round in progress finish (a claimed email is then marked, not left to its lease)."""
        set_waker(None)
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({self._task}, timeout=grace_seconds)
        if not done:  # a round stuck on SMTP: its claim is taken over when the lease ends
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._stopping and (
                    await deliver_due_sign_in_emails(self.sender) + await deliver_due_emails(self.sender)
                ):
                    pass
            except Exception:
                log.exception("email delivery round failed; retrying on the next wake-up")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancel of stop()
            # when the wake-up lands at the same moment, and stop() then waits forever.
            with suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

"""Email over SMTP (providers/email.py) against a real server on 127.0.0.1: an unreachable server,
the outbox worker, the log without SMTP_URL, AUTH, STARTTLS and SMTPS. What an email says, and
when and how often it goes (R-NOTIFY), is in tests/resolvers/test_emails.py."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from providers.email import EmailWorker, LogSender, SmtpSender, email_sender
from resolvers.clock import ManualClock
from resolvers.emails import EmailNotSent, OutgoingEmail, deliver_due_emails
from settings import Settings
from tests.notify_support import SENDER, Team, bob_hears_of_unassigned, deliver, sink, team  # noqa: F401 (fixtures)
from tests.smtp_sink import Received, SmtpSink, free_port
from tests.support import Api


def notifications(sink: SmtpSink) -> list[Received]:
    """What the sink received but the team's invitations (createUser emails one, R-SIGNIN)."""
    return [mail for mail in sink.received if not mail.subject.startswith("You are invited")]


async def test_smtp_server_down_then_back_delivers_once(api: Api, team: Team, clock: ManualClock) -> None:
    server = SmtpSink()  # not started: nothing listens on its port
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("carla", "Hello?")
    assert await deliver(server) == 0

    server.start()
    try:
        assert await deliver(server) == 0  # backing off
        clock.advance(seconds=31)
        assert await deliver(server) == 1
        clock.advance(hours=2)
        assert await deliver(server) == 0
        assert len(server.received) == 1 and "Hello?" in server.received[0].part("text/plain")
    finally:
        server.stop()


async def test_restart_loses_nothing_a_new_worker_sends_what_was_queued(
    api: Api, team: Team, sink: SmtpSink, clock: ManualClock
) -> None:
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("carla", "Before the restart")  # queued; no worker ran in this "process"
    worker = EmailWorker(SmtpSender(sink.url, SENDER), poll_seconds=3600)
    worker.start()
    try:
        for _ in range(500):
            if notifications(sink):
                break
            await asyncio.sleep(0.01)  # waiting on the worker's own task, not on time of the rule
    finally:
        await worker.stop()
    assert len(notifications(sink)) == 1
    assert len(sink.received) == 4  # and the invitations of Bob, Cleo and Dan (R-SIGNIN)


async def test_worker_is_woken_by_the_commit_that_queues_an_email(api: Api, team: Team, sink: SmtpSink) -> None:
    worker = EmailWorker(SmtpSender(sink.url, SENDER), poll_seconds=3600)
    worker.start()
    try:
        await bob_hears_of_unassigned(api, team)
        await asyncio.sleep(0)
        await team.app.receive("carla", "Wake up")
        for _ in range(500):
            if notifications(sink):
                break
            await asyncio.sleep(0.01)
    finally:
        await worker.stop()
    assert len(notifications(sink)) == 1


async def test_without_smtp_url_emails_are_written_to_the_log(
    api: Api, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    sender = email_sender(Settings(smtp_url=None))
    assert isinstance(sender, LogSender)
    await bob_hears_of_unassigned(api, team)
    await team.app.receive("carla", "Into the log")
    with caplog.at_level(logging.INFO, logger="switchboard.email"):
        assert await deliver_due_emails(sender) == 1
    assert team.emails[team.bob.id] in caplog.text
    assert "carla on Website chat: 1 new message" in caplog.text and "Into the log" in caplog.text


class Authenticating(SmtpSink):
    """Accepts LOGIN/PLAIN without TLS and remembers who logged in for each message."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.logins.append(session.auth_data)
        return await super().handle_DATA(server, session, envelope)

    def start(self) -> Authenticating:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = auth_data.login == b"mailer" and auth_data.password == b"p@ss:word"
            return AuthResult(success=ok, auth_data=auth_data.login if ok else None)

        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, authenticator=check, auth_require_tls=False
        )
        self.controller.start()
        return self


async def test_auth_only_when_the_url_has_credentials() -> None:
    server = Authenticating().start()
    try:
        await SmtpSender(f"smtp://mailer:p%40ss%3Aword@127.0.0.1:{server.port}", SENDER).send(HELLO)
        await SmtpSender(f"smtp://127.0.0.1:{server.port}", SENDER).send(HELLO)
    finally:
        server.stop()
    assert server.logins == [b"mailer", None]


def test_smtp_url_must_be_smtp_or_smtps() -> None:
    with pytest.raises(ValueError):
        SmtpSender(f"http://127.0.0.1:{free_port()}", SENDER)
    assert SmtpSender("smtps://mail.example.test", SENDER).port == 465
    assert SmtpSender("smtp://mail.example.test", SENDER).port == 25


def tls_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: the server's context and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


class Encrypted(SmtpSink):
    """Remembers whether each message came over TLS."""

    def __init__(self) -> None:
        super().__init__()
        self.over_tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        implicit = server.transport.get_extra_info("ssl_object") is not None
        self.over_tls.append(session.ssl is not None or implicit)
        return await super().handle_DATA(server, session, envelope)


HELLO = OutgoingEmail(to="bob@team.test", subject="Hi", text="Hello", html="<p>Hello</p>")


async def test_smtp_url_upgrades_with_starttls_when_the_server_offers_it(tmp_path: Path) -> None:
    server_tls, client_tls = tls_contexts(tmp_path)
    sink = Encrypted()
    sink.controller = Controller(
        sink, hostname="127.0.0.1", port=sink.port, tls_context=server_tls, require_starttls=True
    )
    sink.controller.start()
    try:
        await SmtpSender(f"smtp://127.0.0.1:{sink.port}", SENDER, tls_context=client_tls).send(HELLO)
    finally:
        sink.stop()
    assert sink.over_tls == [True]


async def test_smtps_url_speaks_tls_from_the_start(tmp_path: Path) -> None:
    server_tls, client_tls = tls_contexts(tmp_path)
    sink = Encrypted()
    sink.controller = Controller(sink, hostname="127.0.0.1", port=sink.port, ssl_context=server_tls)
    sink.controller.start()
    try:
        await SmtpSender(f"smtps://127.0.0.1:{sink.port}", SENDER, tls_context=client_tls).send(HELLO)
        with pytest.raises(EmailNotSent) as refused:  # an untrusted certificate is never sent to
            await SmtpSender(f"smtps://127.0.0.1:{sink.port}", SENDER).send(HELLO)
    finally:
        sink.stop()
    assert sink.over_tls == [True]
    assert refused.value.permanent is False

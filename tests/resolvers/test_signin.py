"""R-SIGNIN: signing in with a password, sessions and API tokens, invitation and reset links by
email (through the real SMTP server of the tests), and rate-limited failures. On both databases."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from models import ApiToken, RateCounter, SignInCode, SignInEmail, User
from providers.email import SmtpSender
from resolvers import passwords
from resolvers.clock import ManualClock
from resolvers.ids import pk_of
from resolvers.signin import set_password
from resolvers.signin_emails import deliver_due_sign_in_emails
from resolvers.viewer import digest
from settings import Settings, use_settings
from tests.smtp_sink import SmtpSink
from tests.support import Api, Person, QueryCounter

SENDER = "Switchboard <inbox@switchboard.test>"
PASSWORD = "correct horse battery"
SIGN_IN = """mutation($e: String!, $p: String!) {
  signIn(email: $e, password: $p) { token expiresAt user { id name email } } }"""
TOKENS = "{ viewerTokens { id kind name createdAt lastUsedAt expiresAt current } }"
RESET = """mutation($c: String!, $p: String!) {
  resetPassword(code: $c, newPassword: $p) { token expiresAt user { id email } } }"""
REQUEST_RESET = "mutation($e: String!) { requestPasswordReset(email: $e) }"
REVOKE = "mutation($id: ID!) { revokeToken(id: $id) }"
CREATE_TOKEN = (
    "mutation($n: String!) { createApiToken(name: $n) { token apiToken { id kind name current expiresAt } } }"
)
CHANGE = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
ANA = "ana@acme.test"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


async def send_links(sink: SmtpSink) -> int:
    """One email-worker round against the test SMTP server."""
    return await deliver_due_sign_in_emails(SmtpSender(sink.url, SENDER))


def link_code(sink: SmtpSink, address: str, kind: str) -> str:
    """The code of the newest link emailed to `address` (`#invite=` or `#reset=`)."""
    mail = sink.to(address)[-1]
    found = re.search(rf"https://inbox\.example\.test/#{kind}=(\S+)", mail.part("text/plain"))
    assert found, mail.part("text/plain")
    return found.group(1)


async def ana_with_password(api: Api) -> Person:
    ana = await api.create_account()
    await set_password(ANA, PASSWORD)
    return ana


async def sign_in_from(api: Api, address: str, email: str, password: str) -> dict[str, Any]:
    """signIn over HTTP from the client address `address`."""
    transport = httpx.ASGITransport(app=api.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://inbox.example.test") as client:
        response = await client.post("/graphql", json={"query": SIGN_IN, "variables": {"e": email, "p": password}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


# ---- signing in


async def test_r_signin_a_user_signs_in_with_email_and_password_and_gets_a_session_that_expires(
    api: Api, clock: ManualClock, test_settings: Settings
) -> None:
    # given Ana with a password
    ana = await ana_with_password(api)

    # when she signs in (the email typed in another case)
    signed_in = (await api.data(SIGN_IN, {"e": " Ana@ACME.test ", "p": PASSWORD}))["signIn"]

    # then she has a session of SESSION_DAYS, listed beside her API token, never with a secret
    assert signed_in["user"] == {"id": ana.id, "name": "Ana Admin", "email": ANA}
    assert signed_in["expiresAt"] == "2026-01-19T09:00:00+00:00"
    tokens = (await api.data(TOKENS, token=signed_in["token"]))["viewerTokens"]
    assert [(t["kind"], t["current"], t["expiresAt"]) for t in tokens] == [
        ("SESSION", True, "2026-01-19T09:00:00+00:00"),
        ("API", False, None),
    ]
    assert signed_in["token"] not in str(tokens)
    # only the digest is stored
    assert await ApiToken.filter(digest=digest(signed_in["token"])).exists()

    # and when SESSION_DAYS have passed, the session authenticates nothing and is no longer listed
    clock.advance(days=test_settings.session_days, seconds=1)
    assert await api.error_code("{ viewer { id } }", token=signed_in["token"]) == "UNAUTHENTICATED"
    assert [t["kind"] for t in (await api.data(TOKENS, token=ana.token))["viewerTokens"]] == ["API"]


async def test_r_signin_wrong_password_and_unknown_email_answer_the_same_after_the_same_work(api: Api) -> None:
    # given Ana with a password, Bea without one yet (invited, not accepted)
    ana = await ana_with_password(api)
    await api.create_user(ana, "Bea Member")
    hasher = passwords.hasher()

    answers = []
    for email, password in [
        (ANA, "wrong password!"),
        ("nobody@acme.test", PASSWORD),
        (f"bea.{ana.id[-4:].lower()}@team.test", PASSWORD),
        ("not an email", PASSWORD),
    ]:
        before = hasher.verifications
        # when each is tried
        error = error_of(await api.execute(SIGN_IN, {"e": email, "p": password}))
        # then each costs exactly one Argon2 verification: no early exit for an unknown email
        assert hasher.verifications - before == 1, email
        answers.append((error["message"], error["extensions"], error.get("path")))

    # and the answers cannot be told apart
    assert answers[0][1] == {"code": "UNAUTHENTICATED"}
    assert all(answer == answers[0] for answer in answers), answers


async def test_r_signin_a_deactivated_user_cannot_sign_in_and_is_answered_like_a_wrong_password(api: Api) -> None:
    await ana_with_password(api)
    await User.filter(email=ANA).update(status="DEACTIVATED")

    error = error_of(await api.execute(SIGN_IN, {"e": ANA, "p": PASSWORD}))

    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_r_signin_a_password_is_rehashed_when_the_parameters_change(api: Api, test_settings: Settings) -> None:
    # given a password hashed with cheaper parameters than today's
    await api.create_account()
    use_settings(replace(test_settings, password_time_cost=1, password_memory_kib=8192))
    try:
        await set_password(ANA, PASSWORD)
    finally:
        use_settings(test_settings)
    assert (await User.get(email=ANA)).password_hash.startswith("$argon2id$v=19$m=8192,t=1,")  # type: ignore[union-attr]

    # when Ana signs in
    await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD})

    # then her hash has today's parameters, and still matches
    rehashed = (await User.get(email=ANA)).password_hash
    assert rehashed is not None and rehashed.startswith(
        f"$argon2id$v=19$m={test_settings.password_memory_kib},t={test_settings.password_time_cost},"
    )
    assert "signIn" in await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD})


async def test_r_signin_a_1_mb_password_is_refused_before_hashing(api: Api) -> None:
    await ana_with_password(api)
    hasher = passwords.hasher()
    before = hasher.verifications

    # a megabyte does not even pass the body limit
    whole = await api.http.post("/graphql", json={"query": SIGN_IN, "variables": {"e": ANA, "p": "x" * 1_000_000}})
    # 2 KB passes it, and is refused by length
    long = error_of(await api.execute(SIGN_IN, {"e": ANA, "p": "é" * 1000}))
    reset = error_of(await api.execute(RESET, {"c": "sbl_whatever", "p": "x" * 1025}))

    assert whole.status_code == 413
    assert (long["extensions"]["code"], long["extensions"]["field"]) == ("VALIDATION_FAILED", "password")
    assert (reset["extensions"]["code"], reset["extensions"]["field"]) == ("VALIDATION_FAILED", "newPassword")
    assert hasher.verifications == before


# ---- rate limits


async def test_r_signin_50_failures_in_a_row_from_one_address_are_rate_limited_with_retry_after(
    api: Api, clock: ManualClock, test_settings: Settings
) -> None:
    # given Ana with a password, and an address trying one email after another
    await ana_with_password(api)
    hasher = passwords.hasher()
    before = hasher.verifications

    codes = []
    for attempt in range(50):
        body = await sign_in_from(api, "203.0.113.7", f"guess{attempt}@acme.test", "wrong password!")
        codes.append(error_of(body)["extensions"])

    # then the first SIGN_IN_FAILURES_PER_ADDRESS are answered, the rest refused before any hashing
    limit = test_settings.sign_in_failures_per_address
    assert [c["code"] for c in codes] == ["UNAUTHENTICATED"] * limit + ["RATE_LIMITED"] * (50 - limit)
    assert codes[-1]["retryAfter"] == test_settings.sign_in_window_seconds
    assert hasher.verifications - before == limit
    # even the right pair, from that address; another address is not affected
    assert error_of(await sign_in_from(api, "203.0.113.7", ANA, PASSWORD))["extensions"]["code"] == "RATE_LIMITED"
    assert "data" in await sign_in_from(api, "198.51.100.1", ANA, PASSWORD)
    # and once the window is over, the address may try again
    clock.advance(seconds=codes[-1]["retryAfter"])
    assert (await sign_in_from(api, "203.0.113.7", ANA, PASSWORD))["data"]["signIn"]["token"]


async def test_r_signin_50_failures_for_one_email_from_many_addresses_are_rate_limited(
    api: Api, clock: ManualClock, test_settings: Settings
) -> None:
    await ana_with_password(api)

    codes = []
    for attempt in range(50):
        clock.advance(seconds=1)
        body = await sign_in_from(api, f"192.0.2.{attempt + 1}", ANA, f"wrong password {attempt}")
        codes.append(error_of(body)["extensions"])

    limit = test_settings.sign_in_failures_per_email
    assert [c["code"] for c in codes] == ["UNAUTHENTICATED"] * limit + ["RATE_LIMITED"] * (50 - limit)
    # the window opened with the first failure, 50 seconds ago
    assert codes[-1]["retryAfter"] == test_settings.sign_in_window_seconds - 49
    # another email from the same addresses is not affected
    await User.create(
        account_id=(await User.get(email=ANA)).account_id, name="Bea", email="bea@acme.test", created_at=clock.now()
    )
    await set_password("bea@acme.test", PASSWORD)
    assert (await sign_in_from(api, "192.0.2.1", "bea@acme.test", PASSWORD))["data"]["signIn"]["token"]
    # counters hold digests, never an email or an address
    keys = " ".join(await RateCounter.all().values_list("key", flat=True))  # type: ignore[arg-type]
    assert "acme" not in keys and "192.0.2" not in keys


async def test_r_signin_a_successful_sign_in_clears_the_email_failures(api: Api, test_settings: Settings) -> None:
    await ana_with_password(api)
    for attempt in range(test_settings.sign_in_failures_per_email - 1):
        await sign_in_from(api, f"192.0.2.{attempt + 1}", ANA, "wrong password!")

    assert (await sign_in_from(api, "192.0.2.200", ANA, PASSWORD))["data"]
    for attempt in range(test_settings.sign_in_failures_per_email - 1):
        body = await sign_in_from(api, f"192.0.2.{attempt + 1}", ANA, "wrong password!")
        assert error_of(body)["extensions"]["code"] == "UNAUTHENTICATED"


# ---- tokens


async def test_r_signin_last_used_at_is_written_at_most_once_a_minute(api: Api, clock: ManualClock) -> None:
    ana = await api.create_account()
    row = await ApiToken.get(digest=digest(ana.token))
    assert row.last_used_at is None

    await api.data("{ viewer { id } }", token=ana.token)
    first = (await ApiToken.get(id=row.id)).last_used_at
    clock.advance(seconds=59)
    await api.data("{ viewer { id } }", token=ana.token)
    within_the_minute = (await ApiToken.get(id=row.id)).last_used_at
    clock.advance(seconds=1)
    await api.data("{ viewer { id } }", token=ana.token)
    a_minute_later = (await ApiToken.get(id=row.id)).last_used_at

    assert first is not None and first.isoformat() == "2026-01-05T09:00:00+00:00"
    assert within_the_minute == first
    assert a_minute_later is not None and a_minute_later.isoformat() == "2026-01-05T09:01:00+00:00"


async def test_r_signin_an_api_token_is_shown_once_and_lasts_until_revoked(api: Api, clock: ManualClock) -> None:
    ana = await api.create_account()

    created = (await api.data(CREATE_TOKEN, {"n": "Zapier <b>'; DROP TABLE api_token;--"}, token=ana.token))[
        "createApiToken"
    ]
    clock.advance(days=400)

    assert created["apiToken"] == {
        "id": created["apiToken"]["id"],
        "kind": "API",
        "name": "Zapier <b>'; DROP TABLE api_token;--",
        "current": False,
        "expiresAt": None,
    }
    assert (await api.data("{ viewer { name } }", token=created["token"]))["viewer"]["name"] == "Ana Admin"
    names = [t["name"] for t in (await api.data(TOKENS, token=created["token"]))["viewerTokens"]]
    assert names == ["Zapier <b>'; DROP TABLE api_token;--", "create-account"]
    assert await api.error_code(CREATE_TOKEN, {"n": "  "}, token=ana.token) == "VALIDATION_FAILED"


async def test_r_signin_a_revoked_token_authenticates_nothing_over_http(api: Api) -> None:
    ana = await ana_with_password(api)
    session = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]
    session_id = next(t["id"] for t in (await api.data(TOKENS, token=session))["viewerTokens"] if t["current"])

    assert (await api.data(REVOKE, {"id": session_id}, token=ana.token))["revokeToken"] == session_id

    assert await api.error_code("{ viewer { id } }", token=session) == "UNAUTHENTICATED"
    assert await api.error_code(REVOKE, {"id": session_id}, token=ana.token) == "NOT_FOUND"  # already gone


async def acme_and_globex(api: Api) -> tuple[Person, Person, Person, Person, str, str]:
    """Ana (ADMIN) and two members of Acme, Bea and Cleo, and Olga, the admin of Globex; then the ids of
    Bea's token and of Ana's."""
    ana = await api.create_account()
    bea = await api.create_user(ana, "Bea Member")
    cleo = await api.create_user(ana, "Cleo Member")
    olga = await api.create_account("Globex", "Olga Other")
    bea_token = (await api.data(TOKENS, token=bea.token))["viewerTokens"][0]["id"]
    ana_token = (await api.data(TOKENS, token=ana.token))["viewerTokens"][0]["id"]
    return ana, bea, cleo, olga, bea_token, ana_token


async def test_r_signin_members_revoke_only_their_own_tokens_admins_any_of_their_account(api: Api) -> None:
    ana, bea, cleo, other, bea_token, ana_token = await acme_and_globex(api)

    # a member cannot revoke another's token, an admin of another account neither: as if it did not exist
    assert await api.error_code(REVOKE, {"id": bea_token}, token=cleo.token) == "NOT_FOUND"
    assert await api.error_code(REVOKE, {"id": ana_token}, token=bea.token) == "NOT_FOUND"
    assert await api.error_code(REVOKE, {"id": bea_token}, token=other.token) == "NOT_FOUND"
    assert await api.error_code(REVOKE, {"id": "not-an-id"}, token=bea.token) == "NOT_FOUND"
    assert (await api.data("{ viewer { name } }", token=bea.token))["viewer"]["name"] == "Bea Member"

    # the account's admin can
    await api.data(REVOKE, {"id": bea_token}, token=ana.token)
    assert await api.error_code("{ viewer { id } }", token=bea.token) == "UNAUTHENTICATED"


NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on ApiToken { kind name createdAt lastUsedAt expiresAt current } } }"""


async def token_node(api: Api, api_id: str, token: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = (await api.data(NODE, {"id": api_id}, token=token))["node"]
    return node


async def test_r_signin_node_of_an_own_token_shows_its_row_and_current_only_for_the_requests_token(
    api: Api, clock: ManualClock, test_settings: Settings
) -> None:
    # given Ana's API token "Zapier" and a session of hers
    ana = await ana_with_password(api)
    created = (await api.data(CREATE_TOKEN, {"n": "Zapier"}, token=ana.token))["createApiToken"]
    zapier = created["apiToken"]["id"]
    session = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]
    session_id = next(t["id"] for t in (await api.data(TOKENS, token=session))["viewerTokens"] if t["current"])

    # when she reads it by id with another token, then with itself
    seen_by_ana = await api.execute(NODE, {"id": zapier}, token=ana.token)
    seen_by_itself = await token_node(api, zapier, created["token"])

    # then its row, as viewerTokens lists it; `current` only when the request carries it; never the token
    assert seen_by_ana["data"]["node"] == {
        "__typename": "ApiToken",
        "id": zapier,
        "kind": "API",
        "name": "Zapier",
        "createdAt": "2026-01-05T09:00:00+00:00",
        "lastUsedAt": None,
        "expiresAt": None,
        "current": False,
    }
    assert created["token"] not in json.dumps(seen_by_ana)
    assert seen_by_itself is not None and seen_by_itself["current"] is True
    assert seen_by_itself["lastUsedAt"] == "2026-01-05T09:00:00+00:00"
    session_row = await token_node(api, session_id, ana.token)
    assert session_row is not None and session_row.pop("name").startswith("python-httpx/")  # its User-Agent
    assert session_row == {
        "__typename": "ApiToken",
        "id": session_id,
        "kind": "SESSION",
        "createdAt": "2026-01-05T09:00:00+00:00",
        "lastUsedAt": "2026-01-05T09:00:00+00:00",
        "expiresAt": "2026-01-19T09:00:00+00:00",
        "current": False,
    }

    # a session past its end no longer exists, as in viewerTokens
    clock.advance(days=test_settings.session_days, seconds=1)
    assert await token_node(api, session_id, ana.token) is None


async def test_r_signin_node_of_another_users_token_is_null_for_a_member_found_for_their_admin(api: Api) -> None:
    # given Ana (ADMIN) and two members of Acme, and Olga, the admin of Globex
    ana, bea, cleo, olga, bea_token, ana_token = await acme_and_globex(api)

    # then a member sees only their own, another account nothing: as if it did not exist
    assert await token_node(api, bea_token, cleo.token) is None
    assert await token_node(api, ana_token, bea.token) is None
    assert await token_node(api, bea_token, olga.token) is None
    assert await token_node(api, ana_token, olga.token) is None
    assert (await token_node(api, bea_token, bea.token)) == {
        **(await token_node(api, bea_token, ana.token) or {}),
        "current": True,
    }

    # and the account's admin sees any of its tokens (not as hers)
    seen_by_ana = await token_node(api, bea_token, ana.token)
    assert seen_by_ana is not None and (seen_by_ana["id"], seen_by_ana["current"]) == (bea_token, False)


async def test_r_signin_tokens_cost_no_query_per_token_in_viewer_tokens_nor_per_node(api: Api) -> None:
    # given Ana with five tokens
    ana = await api.create_account()
    for n in range(4):
        await api.data(CREATE_TOKEN, {"n": f"integration {n}"}, token=ana.token)
    ids = [t["id"] for t in (await api.data(TOKENS, token=ana.token))["viewerTokens"]]
    several = "query(" + ", ".join(f"$t{n}: ID!" for n in range(len(ids))) + ") { "
    several += " ".join(f"t{n}: node(id: $t{n}) {{ id ... on ApiToken {{ name current }} }}" for n in range(len(ids)))
    several += " }"

    # when they are listed, then fetched one by one in a request
    with QueryCounter() as listed:
        tokens = (await api.data(TOKENS, token=ana.token))["viewerTokens"]
    with QueryCounter() as one:
        await api.data(NODE, {"id": ids[0]}, token=ana.token)
    with QueryCounter() as five:
        found = await api.data(several, {f"t{n}": api_id for n, api_id in enumerate(ids)}, token=ana.token)

    # then the list costs who is asking, the clean-up of expired sessions and one select;
    # each node its one statement, `current` nothing
    assert len(tokens) == 5 and [t["current"] for t in tokens].count(True) == 1
    assert len(listed.statements) <= 3, "\n".join(listed.statements)
    assert [found[f"t{n}"]["id"] for n in range(len(ids))] == ids
    assert [found[f"t{n}"]["current"] for n in range(len(ids))] == [t["current"] for t in tokens]
    assert len(five.statements) == len(one.statements) + 4, "\n".join(five.statements)


async def test_r_signin_sign_out_revokes_the_current_session_only(api: Api) -> None:
    ana = await ana_with_password(api)
    laptop = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]
    phone = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]

    assert (await api.data("mutation { signOut }", token=laptop))["signOut"] is True

    assert await api.error_code("{ viewer { id } }", token=laptop) == "UNAUTHENTICATED"
    assert (await api.data("{ viewer { id } }", token=phone))["viewer"]["id"] == ana.id
    assert (await api.data("{ viewer { id } }", token=ana.token))["viewer"]["id"] == ana.id
    assert await api.error_code("mutation { signOut }") == "UNAUTHENTICATED"


async def test_r_signin_change_password_checks_the_current_one_and_ends_the_other_sessions(api: Api) -> None:
    await ana_with_password(api)
    here = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]
    elsewhere = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]

    wrong = error_of(await api.execute(CHANGE, {"c": "not my password", "n": "a new password"}, token=here))
    short = error_of(await api.execute(CHANGE, {"c": PASSWORD, "n": "short"}, token=here))
    assert (wrong["extensions"]["code"], wrong["extensions"]["field"]) == ("VALIDATION_FAILED", "currentPassword")
    assert (short["extensions"]["code"], short["extensions"]["field"]) == ("VALIDATION_FAILED", "newPassword")
    assert (await api.data("{ viewer { id } }", token=elsewhere))["viewer"]

    assert (await api.data(CHANGE, {"c": PASSWORD, "n": "a new password"}, token=here))["changePassword"] is True

    assert (await api.data("{ viewer { id } }", token=here))["viewer"]
    assert await api.error_code("{ viewer { id } }", token=elsewhere) == "UNAUTHENTICATED"
    assert await api.error_code(SIGN_IN, {"e": ANA, "p": PASSWORD}) == "UNAUTHENTICATED"
    assert (await api.data(SIGN_IN, {"e": ANA, "p": "a new password"}))["signIn"]["token"]


# ---- invitations and resets by email


async def test_r_signin_an_invitation_email_sets_the_password_and_signs_in_once(
    api: Api, sink: SmtpSink, clock: ManualClock
) -> None:
    # given Ana invites Bea (a name with HTML and SQL in it)
    ana = await api.create_account()
    name = "<img src=x onerror=alert(1)> Bea'); DROP TABLE user;--"
    created = (
        await api.data(
            'mutation($n: String!) { createUser(name: $n, email: "bea@acme.test") { user { id } } }',
            {"n": name},
            token=ana.token,
        )
    )["createUser"]

    # when the email worker runs: one email, through SMTP, the name escaped in HTML
    assert await send_links(sink) == 1
    assert await send_links(sink) == 0
    (mail,) = sink.to("bea@acme.test")
    assert mail.subject == "You are invited to Acme on Switchboard"
    assert "&lt;img src=x onerror=alert(1)&gt;" in mail.part("text/html") and "<img" not in mail.part("text/html")
    assert f"Hello {name}," in mail.part("text/plain")
    code = link_code(sink, "bea@acme.test", "invite")
    assert not await SignInEmail.filter(sealed__isnull=False).exists()  # the code is not kept once sent

    # then the link sets her password and signs her in, a week later still
    clock.advance(days=6)
    signed_in = (await api.data(RESET, {"c": code, "p": "bea's new password"}))["resetPassword"]
    assert signed_in["user"]["id"] == created["user"]["id"]
    assert (await api.data("{ viewer { name } }", token=signed_in["token"]))["viewer"]["name"] == name
    assert (await api.data(SIGN_IN, {"e": "bea@acme.test", "p": "bea's new password"}))["signIn"]
    # and works once
    reused = error_of(await api.execute(RESET, {"c": code, "p": "another password"}))
    assert (reused["extensions"]["code"], reused["extensions"]["field"]) == ("VALIDATION_FAILED", "code")


async def test_r_signin_an_expired_invitation_is_refused_and_never_sent(
    api: Api, sink: SmtpSink, clock: ManualClock
) -> None:
    ana = await api.create_account()
    await api.create_user(ana, "Bea Member")
    await send_links(sink)
    code = link_code(sink, sink.received[0].to[0], "invite")
    await api.create_user(ana, "Cleo Member")

    clock.advance(days=7, seconds=1)

    assert await api.error_code(RESET, {"c": code, "p": "bea's new password"}) == "VALIDATION_FAILED"
    assert await send_links(sink) == 0  # Cleo's link expired before it went out: not sent
    assert len(sink.received) == 1


async def test_r_signin_request_password_reset_always_answers_true_and_emails_only_a_user(
    api: Api, sink: SmtpSink
) -> None:
    await ana_with_password(api)

    for email in ["nobody@acme.test", "not an email", ANA]:
        assert (await api.data(REQUEST_RESET, {"e": email}))["requestPasswordReset"] is True

    assert await send_links(sink) == 1
    (mail,) = sink.received
    assert mail.to == [ANA] and mail.subject == "Reset your Switchboard password"
    assert "1 hour" in mail.part("text/plain")


async def test_r_signin_a_reset_link_signs_in_revokes_the_other_sessions_and_works_once(
    api: Api, sink: SmtpSink
) -> None:
    ana = await ana_with_password(api)
    old_session = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]
    await api.data(REQUEST_RESET, {"e": ANA})
    await send_links(sink)
    code = link_code(sink, ANA, "reset")

    signed_in = (await api.data(RESET, {"c": code, "p": "a brand new password"}))["resetPassword"]

    assert signed_in["user"] == {"id": ana.id, "email": ANA}
    assert (await api.data("{ viewer { id } }", token=signed_in["token"]))["viewer"]["id"] == ana.id
    assert await api.error_code("{ viewer { id } }", token=old_session) == "UNAUTHENTICATED"
    assert (await api.data("{ viewer { id } }", token=ana.token))["viewer"]  # API tokens stay
    assert await api.error_code(SIGN_IN, {"e": ANA, "p": PASSWORD}) == "UNAUTHENTICATED"
    assert await api.error_code(RESET, {"c": code, "p": "yet another password"}) == "VALIDATION_FAILED"


async def test_r_signin_a_reset_link_expires_after_an_hour_and_a_newer_one_replaces_it(
    api: Api, sink: SmtpSink, clock: ManualClock
) -> None:
    await ana_with_password(api)
    await api.data(REQUEST_RESET, {"e": ANA})
    await send_links(sink)
    first = link_code(sink, ANA, "reset")
    await api.data(REQUEST_RESET, {"e": ANA})
    await send_links(sink)
    second = link_code(sink, ANA, "reset")

    assert await api.error_code(RESET, {"c": first, "p": "a brand new password"}) == "VALIDATION_FAILED"
    clock.advance(hours=1, seconds=1)
    assert await api.error_code(RESET, {"c": second, "p": "a brand new password"}) == "VALIDATION_FAILED"
    assert (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]  # nothing changed


async def test_r_signin_a_link_of_another_user_is_refused_to_a_signed_in_user(api: Api, sink: SmtpSink) -> None:
    # given Ana (another account's admin, signed in) holding Bea's reset link
    await ana_with_password(api)
    other = await api.create_account("Globex", "Olga Other")
    await set_password("olga@globex.test", "olga's password")
    await api.data(REQUEST_RESET, {"e": "olga@globex.test"})
    await send_links(sink)
    code = link_code(sink, "olga@globex.test", "reset")
    ana_session = (await api.data(SIGN_IN, {"e": ANA, "p": PASSWORD}))["signIn"]["token"]

    # when Ana uses it, she is refused and nothing changes
    assert await api.error_code(RESET, {"c": code, "p": "ana took over"}, token=ana_session) == "FORBIDDEN"
    assert (await api.data(SIGN_IN, {"e": "olga@globex.test", "p": "olga's password"}))["signIn"]
    assert not await SignInCode.filter(used_at__isnull=False, user_id=pk_of("User", other.id), purpose="RESET").exists()
    # and a made-up code is refused like a used one
    assert await api.error_code(RESET, {"c": "sbl_" + "A" * 43, "p": "a brand new password"}) == "VALIDATION_FAILED"
    assert await api.error_code(RESET, {"c": "' OR 1=1 --", "p": "a brand new password"}) == "VALIDATION_FAILED"


async def test_r_signin_reset_requests_past_the_limit_answer_true_and_send_nothing(
    api: Api, sink: SmtpSink, test_settings: Settings
) -> None:
    await ana_with_password(api)

    answers = [(await api.data(REQUEST_RESET, {"e": ANA}))["requestPasswordReset"] for _ in range(15)]

    assert answers == [True] * 15
    assert await SignInEmail.all().count() == test_settings.sign_in_failures_per_email

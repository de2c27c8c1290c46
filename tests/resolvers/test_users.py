"""Users of an account: creating them (R-SETTINGS), their tokens, and the team list."""

from datetime import timedelta

from models import Role, TokenKind, User, UserStatus
from resolvers import clock
from resolvers.ids import pk_of
from resolvers.viewer import current_rights, digest, issue_token, lost_rights
from tests.support import Api, QueryCounter

CREATE = """mutation($n: String!, $e: String!, $r: Role) {
  createUser(name: $n, email: $e, role: $r) { user { id name email role available } token } }"""
VIEWER = "{ viewer { id name role available } account { name } }"


async def test_a_new_user_is_available_and_signs_in_with_the_token_shown_once(api: Api) -> None:
    admin = await api.create_account()

    created = (await api.data(CREATE, {"n": "  Bea Member ", "e": "Bea@Team.test"}, token=admin.token))["createUser"]

    assert created["user"]["available"] is True
    assert created["user"]["role"] == "MEMBER"
    assert created["user"]["name"] == "Bea Member" and created["user"]["email"] == "bea@team.test"
    me = await api.data(VIEWER, token=created["token"])
    assert me["viewer"] == {"id": created["user"]["id"], "name": "Bea Member", "role": "MEMBER", "available": True}
    assert me["account"] == {"name": "Acme"}


async def test_an_admin_may_create_another_admin(api: Api) -> None:
    admin = await api.create_account()

    created = (await api.data(CREATE, {"n": "Dora", "e": "dora@team.test", "r": "ADMIN"}, token=admin.token))[
        "createUser"
    ]

    assert created["user"]["role"] == "ADMIN"
    assert (await api.data(VIEWER, token=created["token"]))["viewer"]["role"] == "ADMIN"


async def test_create_user_refuses_a_taken_email_or_a_malformed_one_and_creates_nothing(api: Api) -> None:
    admin = await api.create_account()
    await api.data(CREATE, {"n": "Bea", "e": "bea@team.test"}, token=admin.token)

    assert (
        await api.error_code(CREATE, {"n": "Bea again", "e": "BEA@team.test"}, token=admin.token) == "VALIDATION_FAILED"
    )
    assert await api.error_code(CREATE, {"n": "No mail", "e": "not-an-email"}, token=admin.token) == "VALIDATION_FAILED"
    assert await api.error_code(CREATE, {"n": "   ", "e": "blank@team.test"}, token=admin.token) == "VALIDATION_FAILED"

    users = (await api.data("{ users { name } }", token=admin.token))["users"]
    assert [user["name"] for user in users] == ["Ana Admin", "Bea"]


async def test_create_user_refuses_an_address_that_would_break_email_naming_the_field(api: Api) -> None:
    # given an admin, when they set an address the old pattern let through (it breaks composing)
    admin = await api.create_account()
    for address in ["user.<img/src=x/onerror=alert(1)>@probe.test", "a@b@team.test", "bea@team.test\r\nBcc: x@y"]:
        result = await api.execute(CREATE, {"n": "Bea", "e": address}, token=admin.token)

        # then it is refused, naming the field, and nobody is created
        (error,) = result["errors"]
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("VALIDATION_FAILED", "email"), address
    users = (await api.data("{ users { name } }", token=admin.token))["users"]
    assert [user["name"] for user in users] == ["Ana Admin"]


async def test_the_same_email_may_exist_in_two_accounts(api: Api) -> None:
    acme = await api.create_account("Acme")
    globex = await api.create_account("Globex", "Gus Admin")

    await api.data(CREATE, {"n": "Bea", "e": "bea@team.test"}, token=acme.token)
    await api.data(CREATE, {"n": "Bea", "e": "bea@team.test"}, token=globex.token)

    assert [user["name"] for user in (await api.data("{ users { name } }", token=globex.token))["users"]] == [
        "Gus Admin",
        "Bea",
    ]


async def test_a_bad_token_is_unauthenticated(api: Api) -> None:
    await api.create_account()

    assert await api.error_code(VIEWER, token="sb_not-a-real-token") == "UNAUTHENTICATED"
    assert await api.error_code(VIEWER) == "UNAUTHENTICATED"


async def test_users_show_their_status_and_a_deactivated_users_token_is_unauthenticated(api: Api) -> None:
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    assert (await api.data("{ viewer { status } }", token=bea.token))["viewer"]["status"] == "ACTIVE"

    await User.filter(id=pk_of("User", bea.id)).update(status=UserStatus.DEACTIVATED)  # issue 15 brings the mutation

    users = (await api.data("{ users { name status } }", token=admin.token))["users"]
    assert users == [{"name": "Ana Admin", "status": "ACTIVE"}, {"name": "Bea Member", "status": "DEACTIVATED"}]
    assert await api.error_code(VIEWER, token=bea.token) == "UNAUTHENTICATED"


async def test_one_statement_tells_the_rights_of_many_tokens(api: Api) -> None:
    admin = await api.create_account()
    people = [await api.create_user(admin, f"Member{number} Team") for number in range(5)]
    dora = await api.create_user(admin, "Dora Admin", role="ADMIN")
    await User.filter(id=pk_of("User", people[0].id)).update(status=UserStatus.DEACTIVATED)
    tokens = [admin.token, dora.token, *(person.token for person in people), "sb_never-issued"]

    with QueryCounter() as counter:
        rights = await current_rights({digest(token) for token in tokens})

    assert counter.count == 1
    assert rights == {
        digest(admin.token): (pk_of("User", admin.id), Role.ADMIN),
        digest(dora.token): (pk_of("User", dora.id), Role.ADMIN),
        **{digest(person.token): (pk_of("User", person.id), Role.MEMBER) for person in people[1:]},
    }


async def test_one_statement_tells_which_of_many_grants_a_token_no_longer_gives(api: Api) -> None:
    # Given sockets accepted as: a kept admin, a deactivated member, a demoted admin, a deleted token
    admin = await api.create_account()
    kept, gone, demoted = [await api.create_user(admin, f"Member{n} Team") for n in range(3)]
    await User.filter(id=pk_of("User", gone.id)).update(status=UserStatus.DEACTIVATED)
    # and a session of the kept member that has expired
    _, expired = await issue_token(
        await User.get(id=pk_of("User", kept.id)), kind=TokenKind.SESSION, expires_at=clock.now() - timedelta(minutes=1)
    )
    grants = {
        (digest(expired), pk_of("User", kept.id), Role.MEMBER),
        (digest(admin.token), pk_of("User", admin.id), Role.ADMIN),
        (digest(kept.token), pk_of("User", kept.id), Role.MEMBER),
        (digest(gone.token), pk_of("User", gone.id), Role.MEMBER),
        (digest(demoted.token), pk_of("User", demoted.id), Role.ADMIN),  # accepted as admin, a member now
        (digest("sb_never-issued"), pk_of("User", kept.id), Role.MEMBER),
    }

    # When the rights are re-checked
    with QueryCounter() as counter:
        lost = await lost_rights(grants)

    # Then one statement names exactly the grants that no longer hold
    assert counter.count == 1
    assert lost == {
        (digest(expired), pk_of("User", kept.id), Role.MEMBER),
        (digest(gone.token), pk_of("User", gone.id), Role.MEMBER),
        (digest(demoted.token), pk_of("User", demoted.id), Role.ADMIN),
        (digest("sb_never-issued"), pk_of("User", kept.id), Role.MEMBER),
    }

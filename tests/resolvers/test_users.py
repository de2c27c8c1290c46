"""Users of an account: creating them (R-SETTINGS), their tokens, and the team list."""

from tests.support import Api

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

    created = (await api.data(CREATE, {"n": "Dora", "e": "dora@team.test", "r": "ADMIN"}, token=admin.token))["createUser"]

    assert created["user"]["role"] == "ADMIN"
    assert (await api.data(VIEWER, token=created["token"]))["viewer"]["role"] == "ADMIN"


async def test_create_user_refuses_a_taken_email_or_a_malformed_one_and_creates_nothing(api: Api) -> None:
    admin = await api.create_account()
    await api.data(CREATE, {"n": "Bea", "e": "bea@team.test"}, token=admin.token)

    assert await api.error_code(CREATE, {"n": "Bea again", "e": "BEA@team.test"}, token=admin.token) == "VALIDATION_FAILED"
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

    assert [user["name"] for user in (await api.data("{ users { name } }", token=globex.token))["users"]] == ["Gus Admin", "Bea"]


async def test_a_bad_token_is_unauthenticated(api: Api) -> None:
    await api.create_account()

    assert await api.error_code(VIEWER, token="sb_not-a-real-token") == "UNAUTHENTICATED"
    assert await api.error_code(VIEWER) == "UNAUTHENTICATED"

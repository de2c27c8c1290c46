"""R-TENANT: nothing crosses accounts. Another account's ids do not exist for a viewer."""

from tests.support import ASSIGN, CLOSE, DELETE, REOPEN, UNASSIGN, Api, Team

NODE = "query($id: ID!) { node(id: $id) { id } }"
CONVERSATION = "query($id: ID!) { conversation(id: $id) { id } }"
THREAD = "query($id: ID!) { conversation(id: $id) { messages(first: 1) { edges { node { id } } } contact { id } } }"


async def _two_accounts(api: Api) -> tuple[Team, Team]:
    acme = await api.create_team()
    globex_admin = await api.create_account("Globex", "Gus Admin")
    globex_member = await api.create_user(globex_admin, "Gil Member")
    globex_app = await api.install_api_app(globex_admin, share_with=[globex_member])
    globex = Team(globex_admin, globex_member, globex_member, globex_app)
    await acme.app.receive("cust", "acme's customer")
    await globex.app.receive("cust", "globex's customer")  # the same contact id in both accounts
    return acme, globex


async def test_r_tenant_each_account_sees_only_its_own_conversations(api: Api) -> None:
    acme, globex = await _two_accounts(api)

    acme_page = await api.section(acme.admin, "UNASSIGNED")
    globex_page = await api.section(globex.admin, "UNASSIGNED")

    assert [edge["node"]["id"] for edge in acme_page["edges"]] == [await acme.app.conversation_id("cust")]
    assert [edge["node"]["id"] for edge in globex_page["edges"]] == [await globex.app.conversation_id("cust")]
    seen = await api.data("{ messagingApps { id } users { name } }", token=globex.admin.token)
    assert [app["id"] for app in seen["messagingApps"]] == [globex.app.id]
    assert [user["name"] for user in seen["users"]] == ["Gus Admin", "Gil Member"]


async def test_r_tenant_mutations_on_another_accounts_conversation_are_not_found(api: Api) -> None:
    acme, globex = await _two_accounts(api)
    theirs = await globex.app.conversation_id("cust")

    for mutation, variables in (
        (ASSIGN, {"id": theirs, "u": acme.admin.id}),
        (UNASSIGN, {"id": theirs}),
        (CLOSE, {"id": theirs}),
        (REOPEN, {"id": theirs}),
        (DELETE, {"id": theirs}),
    ):
        assert await api.error_code(mutation, variables, token=acme.admin.token) == "NOT_FOUND"

    assert await api.contacts_in(globex.admin, "UNASSIGNED") == ["cust"]


async def test_r_tenant_another_accounts_user_cannot_be_given_a_conversation(api: Api) -> None:
    acme, globex = await _two_accounts(api)
    ours = await acme.app.conversation_id("cust")

    assert await api.error_code(ASSIGN, {"id": ours, "u": globex.admin.id}, token=acme.admin.token) == "NOT_FOUND"
    share = "mutation($id: ID!, $u: [ID!]!) { shareMessagingApp(id: $id, userIds: $u) { id } }"
    assert await api.error_code(share, {"id": acme.app.id, "u": [globex.bob.id]}, token=acme.admin.token) == "NOT_FOUND"
    assert await api.error_code(share, {"id": globex.app.id, "u": [acme.bob.id]}, token=acme.admin.token) == "NOT_FOUND"
    uninstall = "mutation($id: ID!) { uninstallMessagingApp(id: $id) }"
    assert await api.error_code(uninstall, {"id": globex.app.id}, token=acme.admin.token) == "NOT_FOUND"
    assert await api.contacts_in(acme.admin, "UNASSIGNED") == ["cust"]


async def test_r_tenant_another_accounts_ids_read_as_null(api: Api) -> None:
    acme, globex = await _two_accounts(api)
    theirs = await globex.app.conversation_id("cust")
    thread = (await api.data(THREAD, {"id": theirs}, token=globex.admin.token))["conversation"]
    account = (await api.data("{ account { id } }", token=globex.admin.token))["account"]["id"]
    their_ids = [
        theirs,
        thread["messages"]["edges"][0]["node"]["id"],
        thread["contact"]["id"],
        globex.app.id,
        globex.admin.id,
        account,
    ]

    assert (await api.data(CONVERSATION, {"id": theirs}, token=acme.admin.token))["conversation"] is None
    for their_id in their_ids:
        assert (await api.data(NODE, {"id": their_id}, token=acme.admin.token))["node"] is None, their_id
        assert (await api.data(NODE, {"id": their_id}, token=globex.admin.token))["node"] == {"id": their_id}


async def test_r_tenant_another_accounts_app_is_not_found_as_a_section_filter(api: Api) -> None:
    acme, globex = await _two_accounts(api)

    query = "query($app: ID) { conversations(section: UNASSIGNED, appId: $app) { totalCount } }"
    assert await api.error_code(query, {"app": globex.app.id}, token=acme.admin.token) == "NOT_FOUND"
    counts = "query($app: ID) { sectionCounts(appId: $app) { unassigned } }"
    assert await api.error_code(counts, {"app": globex.app.id}, token=acme.admin.token) == "NOT_FOUND"

"""R-SETTINGS and shared access: who sees which messaging apps, and who may change them."""

from dataclasses import replace

from settings import get_settings, use_settings
from tests.provider_support import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, Inbox, whatsapp_conversation
from tests.support import Api

APPS = "{ messagingApps { name installedBy { name } sharedWith { name } } }"
SHARE = "mutation($id: ID!, $u: [ID!]!) { shareMessagingApp(id: $id, userIds: $u) { name sharedWith { name } } }"
UNINSTALL = "mutation($id: ID!) { uninstallMessagingApp(id: $id) }"
INSTALL = """mutation($input: InstallMessagingAppInput!) { installMessagingApp(input: $input) { id } }"""
API_CREDENTIALS = {"secret": "s3cret-s3cret-s3cret", "deliveryUrl": "http://127.0.0.1:9/deliver"}


async def _app_names(api: Api, token: str) -> list[str]:
    return [app["name"] for app in (await api.data(APPS, token=token))["messagingApps"]]


async def test_messaging_apps_lists_every_app_for_an_admin_and_shared_ones_for_a_member(api: Api) -> None:
    team = await api.create_team()
    await api.install_api_app(team.admin, name="Bob only", share_with=[team.bob])
    other_admin = await api.create_user(team.admin, "Dora Admin", role="ADMIN")

    assert await _app_names(api, team.admin.token) == ["Website chat", "Bob only"]
    assert await _app_names(api, other_admin.token) == ["Website chat", "Bob only"]
    assert await _app_names(api, team.bob.token) == ["Website chat", "Bob only"]
    assert await _app_names(api, team.carol.token) == ["Website chat"]


async def test_an_admin_sees_conversations_only_of_apps_shared_with_them(api: Api) -> None:
    team = await api.create_team()
    other_admin = await api.create_user(team.admin, "Dora Admin", role="ADMIN")
    await team.app.receive("cust")

    assert await api.contacts_in(other_admin, "UNASSIGNED") == []
    query = "query($id: ID!) { conversation(id: $id) { id } }"
    assert (await api.data(query, {"id": await team.app.conversation_id("cust")}, token=other_admin.token))[
        "conversation"
    ] is None


async def test_share_sets_the_whole_list_and_the_installer_keeps_access(api: Api) -> None:
    team = await api.create_team()
    dora = await api.create_user(team.admin, "Dora Member")
    await team.app.receive("cust")

    shared = (await api.data(SHARE, {"id": team.app.id, "u": [dora.id]}, token=team.admin.token))["shareMessagingApp"]

    assert [user["name"] for user in shared["sharedWith"]] == ["Ana Admin", "Dora Member"]
    assert await api.contacts_in(dora, "UNASSIGNED") == ["cust"]
    assert await api.contacts_in(team.bob, "UNASSIGNED") == []
    assert await api.contacts_in(team.admin, "UNASSIGNED") == ["cust"]
    emptied = (await api.data(SHARE, {"id": team.app.id, "u": []}, token=team.admin.token))["shareMessagingApp"]
    assert [user["name"] for user in emptied["sharedWith"]] == ["Ana Admin"]


async def test_r_settings_members_may_not_install_share_uninstall_or_create_users(api: Api) -> None:
    team = await api.create_team()
    install = {"input": {"provider": "API", "name": "Mine", "credentials": API_CREDENTIALS}}
    create = 'mutation { createUser(name: "Eve", email: "eve@team.test") { token } }'

    assert await api.error_code(INSTALL, install, token=team.bob.token) == "FORBIDDEN"
    assert await api.error_code(SHARE, {"id": team.app.id, "u": [team.bob.id]}, token=team.bob.token) == "FORBIDDEN"
    assert await api.error_code(UNINSTALL, {"id": team.app.id}, token=team.bob.token) == "FORBIDDEN"
    assert await api.error_code(create, token=team.bob.token) == "FORBIDDEN"

    assert await _app_names(api, team.admin.token) == ["Website chat"]
    shared = (await api.data(APPS, token=team.admin.token))["messagingApps"][0]["sharedWith"]
    assert [user["name"] for user in shared] == ["Ana Admin", "Bob Member", "Carol Member"]
    users = (await api.data("{ users { name } }", token=team.admin.token))["users"]
    assert [user["name"] for user in users] == ["Ana Admin", "Bob Member", "Carol Member"]


async def test_r_settings_the_installer_is_the_admin_who_installed(api: Api) -> None:
    team = await api.create_team()
    other_admin = await api.create_user(team.admin, "Dora Admin", role="ADMIN")

    await api.install_api_app(other_admin, name="Dora's", share_with=[team.bob])

    apps = {app["name"]: app for app in (await api.data(APPS, token=team.admin.token))["messagingApps"]}
    assert apps["Dora's"]["installedBy"] == {"name": "Dora Admin"}
    assert [user["name"] for user in apps["Dora's"]["sharedWith"]] == ["Bob Member", "Dora Admin"]


async def test_r_settings_uninstall_removes_the_app_and_its_conversations(api: Api) -> None:
    team, conversation = await api.create_team_with_conversation()

    removed = (await api.data(UNINSTALL, {"id": team.app.id}, token=team.admin.token))["uninstallMessagingApp"]

    assert removed == team.app.id
    assert await _app_names(api, team.admin.token) == []
    assert await api.contacts_in(team.bob, "UNASSIGNED") == []
    assert (
        await api.data("query($id: ID!) { conversation(id: $id) { id } }", {"id": conversation}, token=team.bob.token)
    )["conversation"] is None
    assert (await team.app.post(b'{"messageId": "x", "sender": {"id": "cust"}, "text": "hi"}')).status_code == 404


async def test_share_with_unknown_users_or_unknown_app_is_not_found_and_changes_nothing(api: Api) -> None:
    team = await api.create_team()

    assert (
        await api.error_code(SHARE, {"id": team.app.id, "u": [team.bob.id, "nonsense"]}, token=team.admin.token)
        == "NOT_FOUND"
    )
    assert await api.error_code(SHARE, {"id": "nonsense", "u": [team.bob.id]}, token=team.admin.token) == "NOT_FOUND"
    assert await api.error_code(UNINSTALL, {"id": team.bob.id}, token=team.admin.token) == "NOT_FOUND"

    shared = (await api.data(APPS, token=team.admin.token))["messagingApps"][0]["sharedWith"]
    assert [user["name"] for user in shared] == ["Ana Admin", "Bob Member", "Carol Member"]


async def test_whatsapp_new_installs_off_refuses_new_twilio_apps_and_keeps_existing_ones(inbox: Inbox) -> None:
    use_settings(replace(get_settings(), whatsapp_new_installs=False))
    result = await inbox.api.execute(
        "mutation($i: InstallMessagingAppInput!) { installMessagingApp(input: $i) { id } }",
        {
            "i": {
                "provider": "TWILIO_WHATSAPP",
                "name": "Second number",
                "credentials": {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER},
            }
        },
        token=inbox.admin.token,
    )
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert result["errors"][0]["extensions"]["reason"] == "WHATSAPP_NEW_INSTALLS_DISABLED"
    apps = await inbox.api.data("{ messagingApps { provider } }", token=inbox.admin.token)
    assert [a["provider"] for a in apps["messagingApps"]].count("TWILIO_WHATSAPP") == 1
    # the existing install keeps receiving and sending
    conversation_id = await whatsapp_conversation(inbox)
    assert (await inbox.send(conversation_id))["data"]["sendMessage"]["status"] == "SENT"

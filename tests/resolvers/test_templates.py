"""R-TEMPLATE: syncing templates from Twilio's Content API (resolvers/templates.py, through the fake
Twilio on the wire): paging, every status and category, templates gone upstream, refusals, who may
sync, and the periodic sync across processes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models import MessagingApp
from resolvers.ids import pk_of
from resolvers.templates import sync_app, sync_due_templates
from tests.provider_support import ACCOUNT_SID, Inbox, whatsapp_conversation
from tests.resolvers.template_support import (
    APPS,
    QUOTE_BODY,
    add_quote,
    send_template,
    sync,
    synced_templates,
    values,
)

STATUSES = {
    "approved": "APPROVED",
    "pending": "PENDING",
    "received": "PENDING",
    "unsubmitted": "PENDING",
    "rejected": "REJECTED",
    "paused": "PAUSED",
    "disabled": "DISABLED",
}


async def test_r_template_sync_follows_every_page_and_maps_status_and_category(inbox: Inbox) -> None:
    # Given templates in every status, three per page, and one of another Twilio account
    inbox.twilio.content_page_size = 3
    for index, status in enumerate(STATUSES):
        category = ["UTILITY", "MARKETING", "AUTHENTICATION", None][index % 4]
        inbox.twilio.add_content(
            ACCOUNT_SID, f"t{index}_{status}", f"Hello {{{{1}}}}, {status}", approval=status, category=category
        )
    inbox.twilio.add_content("AC" + "f" * 32, "someone_elses", "Not ours")
    inbox.twilio.add_content(ACCOUNT_SID, "greeting", "Hi there, {{name}}! {{name}} again, {{2}}", language="pt_BR")

    # When the admin syncs
    templates = await synced_templates(inbox)

    # Then all eight came over three pages, each mapped
    assert len(inbox.twilio.content_requests) == 3
    assert "Page=1" in inbox.twilio.content_requests[1] and "PageToken=PT2" in inbox.twilio.content_requests[2]
    assert sorted(templates) == sorted([f"t{i}_{s}" for i, s in enumerate(STATUSES)] + ["greeting"])
    for index, status in enumerate(STATUSES):
        template = templates[f"t{index}_{status}"]
        assert template["status"] == STATUSES[status]
        assert template["category"] == ["UTILITY", "MARKETING", "AUTHENTICATION", None][index % 4]
        assert template["variables"] == ["1"] and template["body"] == f"Hello {{{{1}}}}, {status}"
        assert template["externalId"].startswith("HX") and template["app"]["id"] == inbox.whatsapp_id
    assert templates["greeting"]["variables"] == ["name", "2"] and templates["greeting"]["language"] == "pt_BR"
    apps = {app["id"]: app for app in (await inbox.api.data(APPS, token=inbox.admin.token))["messagingApps"]}
    assert apps[inbox.whatsapp_id]["templatesSyncedAt"] is not None
    assert [t["name"] for t in apps[inbox.whatsapp_id]["approved"]] == ["greeting", "t0_approved"]
    assert apps[inbox.messenger_id]["templates"] == [] and apps[inbox.messenger_id]["templatesSyncedAt"] is None


async def test_r_template_gone_upstream_becomes_disabled_and_its_messages_keep_it(inbox: Inbox) -> None:
    # Given a template synced and sent
    quote = add_quote(inbox)
    inbox.twilio.add_content(ACCOUNT_SID, "welcome", "Welcome!")
    template = (await synced_templates(inbox))["quote_ready"]
    conversation_id = await whatsapp_conversation(inbox)
    sent = await send_template(inbox, conversation_id, template["id"], values(_1="Ana", _2="Q-7"))
    message_id = sent["data"]["sendTemplate"]["id"]

    # When it disappears upstream and the app is synced again
    inbox.twilio.contents.remove(quote)
    templates = await synced_templates(inbox)

    # Then it is DISABLED, not deleted; the message still names it; it can no longer be sent
    assert templates["quote_ready"]["status"] == "DISABLED" and templates["quote_ready"]["id"] == template["id"]
    assert templates["welcome"]["status"] == "APPROVED"
    message = await inbox.api.data(
        "query($id: ID!) { node(id: $id) { ... on Message { text template { id status } } } }",
        {"id": message_id},
        token=inbox.admin.token,
    )
    assert message["node"] == {
        "text": "Hi Ana, your quote Q-7 is ready.",
        "template": {"id": template["id"], "status": "DISABLED"},
    }
    refused = await send_template(inbox, conversation_id, template["id"], values(_1="Ana", _2="Q-8"))
    assert refused["errors"][0]["extensions"]["code"] == "TEMPLATE_NOT_APPROVED"

    # And when it comes back, it is the same template, approved again
    inbox.twilio.contents.append(quote)
    assert (await synced_templates(inbox))["quote_ready"] == {**template, "status": "APPROVED"}


async def test_r_template_sync_is_for_admins_of_whatsapp_apps(inbox: Inbox) -> None:
    add_quote(inbox)
    member = await inbox.api.create_user(inbox.admin, "Mo Member")
    outsider = await inbox.api.create_account("Otherco", "Olga Other")

    assert (await sync(inbox, token=member.token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await sync(inbox, token=outsider.token))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    refused = await sync(inbox, app_id=inbox.messenger_id)
    assert refused["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert inbox.twilio.content_requests == []
    # a member reads the templates of an app shared with them, never another account's
    await inbox.api.data(
        "mutation($a: ID!, $u: [ID!]!) { shareMessagingApp(id: $a, userIds: $u) { id } }",
        {"a": inbox.whatsapp_id, "u": [member.id]},
        token=inbox.admin.token,
    )
    await synced_templates(inbox)
    apps = (await inbox.api.data(APPS, token=member.token))["messagingApps"]
    assert [t["body"] for t in apps[0]["templates"]] == [QUOTE_BODY]
    assert (await inbox.api.data(APPS, token=outsider.token))["messagingApps"] == []


async def test_r_template_sync_refused_by_twilio_is_a_provider_error_and_changes_nothing(inbox: Inbox) -> None:
    # Given a synced template
    add_quote(inbox)
    before = await synced_templates(inbox)
    app_pk = pk_of("MessagingApp", inbox.whatsapp_id)
    synced_at = (await MessagingApp.get(id=app_pk)).templates_synced_at
    inbox.clock.advance(minutes=1)

    # When Twilio refuses the credentials
    inbox.twilio.reject_next_content(20003, status=401, message="Authenticate")
    refused = await sync(inbox)

    # Then PROVIDER_ERROR carries Twilio's code with a readable message
    error = refused["errors"][0]
    assert error["extensions"] == {"code": "PROVIDER_ERROR", "providerCode": "20003"}
    assert "credentials" in error["message"]

    # And when the second of two pages fails, the first page is not stored either
    inbox.twilio.content_page_size = 1
    inbox.twilio.add_content(ACCOUNT_SID, "welcome", "Welcome!")
    inbox.twilio.contents.reverse()  # the new one on the first page
    inbox.twilio.reject_next_content(20500, status=500, message="Internal Server Error", page=1)
    refused = await sync(inbox)
    assert refused["errors"][0]["extensions"] == {"code": "PROVIDER_ERROR", "providerCode": "20500"}
    app = await MessagingApp.get(id=app_pk)
    assert app.templates_synced_at == synced_at and app.templates_sync_lease is None
    apps = (await inbox.api.data(APPS, token=inbox.admin.token))["messagingApps"]
    assert [t["name"] for t in apps[0]["templates"]] == ["quote_ready"] == list(before)

    # and the lease was given back: the next sync runs
    assert sorted(await synced_templates(inbox)) == ["quote_ready", "welcome"]


async def test_r_template_two_processes_syncing_at_once_fetch_once(inbox: Inbox) -> None:
    # Given a WhatsApp app never synced, and a Content API slow enough for the passes to overlap
    add_quote(inbox)
    inbox.twilio.content_delay = 0.3
    every = timedelta(hours=1)

    # When two processes' periodic passes run at the same moment
    done = await asyncio.gather(sync_due_templates(every), sync_due_templates(every))

    # Then one of them fetched the templates, once
    assert sorted(done) == [0, 1]
    assert len(inbox.twilio.content_requests) == 1
    # and nothing is due again before the period has passed
    inbox.clock.advance(minutes=59)
    assert await sync_due_templates(every) == 0
    inbox.clock.advance(minutes=2)
    assert await sync_due_templates(every) == 1
    assert len(inbox.twilio.content_requests) == 2


async def test_r_template_an_admins_sync_waits_for_one_already_running(inbox: Inbox) -> None:
    # Given a sync of the app already running in another process
    add_quote(inbox)
    inbox.twilio.content_delay = 0.3
    app = await MessagingApp.get(id=pk_of("MessagingApp", inbox.whatsapp_id))
    running = asyncio.create_task(sync_app(app))
    for _ in range(200):  # until its request reached Twilio
        if inbox.twilio.content_requests:
            break
        await asyncio.sleep(0.01)

    # When the admin asks for a sync
    result = await sync(inbox)

    # Then it returns what that sync stored, without a second fetch
    assert await running is True
    assert [t["name"] for t in result["data"]["syncMessageTemplates"]] == ["quote_ready"]
    assert len(inbox.twilio.content_requests) == 1


async def test_r_template_a_crashed_syncs_lease_runs_out(inbox: Inbox) -> None:
    # Given a lease left by a process that died mid-sync
    add_quote(inbox)
    app_pk = pk_of("MessagingApp", inbox.whatsapp_id)
    await MessagingApp.filter(id=app_pk).update(templates_sync_lease=inbox.clock.now() + timedelta(minutes=5))
    every = timedelta(hours=1)
    assert await sync_due_templates(every) == 0

    # When the lease runs out, the next pass syncs the app
    inbox.clock.advance(minutes=5, seconds=1)
    assert await sync_due_templates(every) == 1

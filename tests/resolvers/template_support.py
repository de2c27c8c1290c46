"""GraphQL documents and small steps shared by the template tests (R-TEMPLATE)."""

from __future__ import annotations

from typing import Any

from providers.sandbox.twilio import FakeContent
from tests.provider_support import ACCOUNT_SID, Inbox

TEMPLATE_FIELDS = "id externalId name language category status body variables app { id }"
SYNC = f"mutation($a: ID!) {{ syncMessageTemplates(appId: $a) {{ {TEMPLATE_FIELDS} }} }}"
APPS = f"""query {{ messagingApps {{ id templatesSyncedAt
  templates {{ {TEMPLATE_FIELDS} }} approved: templates(status: APPROVED) {{ name }} }} }}"""
MESSAGE_FIELDS = "id text status errorCode errorMessage direction sentBy { name } template { id name status }"
SEND_TEMPLATE = f"""mutation($c: ID!, $t: ID!, $v: [TemplateVariableInput!]!) {{
  sendTemplate(conversationId: $c, templateId: $t, variables: $v) {{ {MESSAGE_FIELDS} }} }}"""
START = f"""mutation($a: ID!, $to: String!, $t: ID!, $v: [TemplateVariableInput!]!, $p: ID) {{
  startConversation(appId: $a, to: $to, templateId: $t, variables: $v, personId: $p) {{
    id status section canReply assignee {{ id }} contact {{ externalId }} linkedPerson {{ id name }}
    messages(last: 10) {{ edges {{ node {{ {MESSAGE_FIELDS} }} }} }} }} }}"""

QUOTE_BODY = "Hi {{1}}, your quote {{2}} is ready."


def add_quote(inbox: Inbox, **fields: Any) -> FakeContent:
    """An approved UTILITY template with two placeholders, at the fake Twilio."""
    return inbox.twilio.add_content(ACCOUNT_SID, "quote_ready", QUOTE_BODY, **fields)


async def sync(inbox: Inbox, *, app_id: str | None = None, token: str | None = None) -> dict[str, Any]:
    return await inbox.api.execute(SYNC, {"a": app_id or inbox.whatsapp_id}, token=token or inbox.admin.token)


async def synced_templates(inbox: Inbox) -> dict[str, dict[str, Any]]:
    """The WhatsApp app's templates after a sync, by name."""
    result = await sync(inbox)
    assert not result.get("errors"), result
    return {template["name"]: template for template in result["data"]["syncMessageTemplates"]}


def values(**pairs: str) -> list[dict[str, str]]:
    """TemplateVariableInputs: values(_1="Ana") is {{1}} = Ana (keys are digits, so each has a leading _)."""
    return [{"key": key.lstrip("_"), "value": value} for key, value in pairs.items()]


async def send_template(
    inbox: Inbox, conversation_id: str, template_id: str, variables: list[dict[str, str]], token: str | None = None
) -> dict[str, Any]:
    return await inbox.api.execute(
        SEND_TEMPLATE, {"c": conversation_id, "t": template_id, "v": variables}, token=token or inbox.admin.token
    )


async def start(
    inbox: Inbox,
    to: str,
    template_id: str,
    variables: list[dict[str, str]],
    *,
    person_id: str | None = None,
    token: str | None = None,
    app_id: str | None = None,
) -> dict[str, Any]:
    return await inbox.api.execute(
        START,
        {"a": app_id or inbox.whatsapp_id, "to": to, "t": template_id, "v": variables, "p": person_id},
        token=token or inbox.admin.token,
    )

"""Links into the web app that Switchboard writes for people to follow (CRM notes, emails)."""

from __future__ import annotations

from resolvers.ids import to_api_id
from settings import get_settings

# The web app's page of one conversation (app.py serves it); Starlette's path syntax.
CONVERSATION_PATH = "/inbox/conversations/{conversation_id}"


def conversation_url(conversation_id: int) -> str:
    path = CONVERSATION_PATH.format(conversation_id=to_api_id("Conversation", conversation_id))
    return get_settings().public_base_url + path


def sign_in_link_url(purpose: str, code: str) -> str:
    """An invitation or reset link (R-SIGNIN). The code is in the fragment: browsers never send it
    to a server, so it stays out of access logs and Referer headers."""
    return f"{get_settings().public_base_url}/#{purpose.lower()}={code}"

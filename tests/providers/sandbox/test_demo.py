"""`switchboard demo` starts on a free port, prints tokens that work, and simulated customers write in."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from tests.processes import command_env, switchboard
from tests.realtime_support import PROTOCOL

SECTIONS = ("UNASSIGNED", "ASSIGNED_TO_ME", "ASSIGNED_TO_OTHERS", "CLOSED")
INBOX = (
    "{ "
    + " ".join(
        f"{section.lower()}: conversations(section: {section}, first: 100) {{ edges {{ node {{ id lastMessage {{ id }} }} }} }}"
        for section in SECTIONS
    )
    + " }"
)


def _tokens(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(?:admin|member)\s+(\w+) .*token: (sb_\S+)$", output, re.MULTILINE))


def _graphql(url: str, token: str, query: str) -> dict[str, Any]:
    response = httpx.post(url + "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
    result = response.json()
    assert not result.get("errors"), result
    return result["data"]


def _last_messages(url: str, token: str) -> dict[str, str | None]:
    data = _graphql(url, token, INBOX)
    return {
        edge["node"]["id"]: (edge["node"]["lastMessage"] or {}).get("id")
        for section in data.values()
        for edge in section["edges"]
    }


def test_demo_serves_a_seeded_team_and_simulated_customers_write_in(tmp_path: Path) -> None:
    (tmp_path / "demo.db").write_text("an old demo database that must be replaced")
    env = command_env("sqlite://ignored-by-the-demo.db", SWITCHBOARD_DEMO_INTERVAL="0.2")

    with switchboard("demo", env=env, cwd=tmp_path) as server:
        server.wait_for(lambda: len(_tokens(server.output())) == 3, "the printed tokens")
        tokens = _tokens(server.output())
        assert f"{server.url}/graphql" in server.output()

        admin = _graphql(
            server.url,
            tokens["Ana"],
            "{ viewer { name role } sectionCounts { unassigned assignedToMe assignedToOthers closed } }",
        )
        member = _graphql(
            server.url, tokens["Ben"], "{ viewer { role } messagingApps { provider sharedWith { name } } }"
        )
        before = _last_messages(server.url, tokens["Ana"])
        server.wait_for(lambda: _last_messages(server.url, tokens["Ana"]) != before, "a simulated customer's message")

    assert admin["viewer"] == {"name": "Ana Admin", "role": "ADMIN"}
    counts = admin["sectionCounts"]
    assert counts["unassigned"] >= 1 and counts["assignedToMe"] >= 1 and counts["assignedToOthers"] >= 1
    assert sum(counts.values()) == 10  # 5 on the API channel, 3 on WhatsApp, 2 on Messenger
    assert member["viewer"] == {"role": "MEMBER"}
    assert sorted(app["provider"] for app in member["messagingApps"]) == ["API", "MESSENGER", "TWILIO_WHATSAPP"]
    for app in member["messagingApps"]:
        assert sorted(user["name"] for user in app["sharedWith"]) == ["Ana Admin", "Ben Member", "Cleo Member"]
    assert not (tmp_path / "ignored-by-the-demo.db").exists()
    assert "Traceback" not in server.output()


REPLYABLE = """{ conversations(section: UNASSIGNED, first: 100) { edges { node {
    id canReply app { provider } } } } }"""


def test_demo_replies_on_whatsapp_and_messenger_get_delivered_and_read(tmp_path: Path) -> None:
    env = command_env("sqlite://ignored-by-the-demo.db", SWITCHBOARD_DEMO_INTERVAL="0.2")
    with switchboard("demo", env=env, cwd=tmp_path) as server:
        server.wait_for(lambda: len(_tokens(server.output())) == 3, "the printed tokens")
        token = _tokens(server.output())["Ana"]
        conversations = {
            edge["node"]["app"]["provider"]: edge["node"]
            for edge in _graphql(server.url, token, REPLYABLE)["conversations"]["edges"]
            if edge["node"]["canReply"]  # not Lena's: her window closed (R-TEMPLATE's example)
        }
        replies = {}
        for provider in ("TWILIO_WHATSAPP", "MESSENGER"):
            assert conversations[provider]["canReply"] is True
            sent = _graphql(
                server.url,
                token,
                f'mutation {{ sendMessage(conversationId: "{conversations[provider]["id"]}", text: "Hello from the demo") {{ id status }} }}',
            )["sendMessage"]
            assert sent["status"] == "SENT"
            replies[provider] = sent["id"]

        def is_read(message_id: str) -> bool:
            query = f'{{ node(id: "{message_id}") {{ ... on Message {{ status }} }} }}'
            return _graphql(server.url, token, query)["node"]["status"] == "READ"

        for provider, message_id in replies.items():
            server.wait_for(partial(is_read, message_id), f"the {provider} reply read")
    assert "Traceback" not in server.output()


def test_demo_caps_websocket_messages_at_max_body_bytes_and_logs_no_query_string(tmp_path: Path) -> None:
    env = command_env("sqlite://ignored-by-the-demo.db", SWITCHBOARD_DEMO_INTERVAL="0.2", MAX_BODY_BYTES="4096")
    with switchboard("demo", env=env, cwd=tmp_path) as server:
        refused = httpx.get(server.url + "/webhooks/messenger/nope", params={"hub.verify_token": "demo-SECRET-91c3"})
        with ws_connect(
            server.url.replace("http", "ws") + "/graphql", subprotocols=[PROTOCOL], max_size=None
        ) as socket:  # type: ignore[list-item]
            socket.send(json.dumps({"type": "connection_init", "payload": {"padding": "x" * 5_000}}))
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=10)
        server.wait_for(lambda: '"GET /webhooks/messenger/nope HTTP/1.1" 404' in server.output(), "the access line")

    assert refused.status_code == 404
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert "SECRET" not in server.output()


LENA = """{ conversations(section: UNASSIGNED, first: 100) { edges { node { id canReply contact { externalId }
  messages(last: 5) { edges { node { direction text template { name } } } } } } } }"""
APPROVED = "{ messagingApps { provider templates(status: APPROVED) { id name variables } } }"


def _lena(url: str, token: str) -> dict[str, Any]:
    edges = _graphql(url, token, LENA)["conversations"]["edges"]
    return next(edge["node"] for edge in edges if edge["node"]["contact"]["externalId"] == "+4915112345678")


def _approved(url: str, token: str) -> dict[str, dict[str, Any]]:
    apps = _graphql(url, token, APPROVED)["messagingApps"]
    whatsapp = next(app for app in apps if app["provider"] == "TWILIO_WHATSAPP")
    return {template["name"]: template for template in whatsapp["templates"]}


def test_r_template_demo_reopens_a_closed_window_with_a_template(tmp_path: Path) -> None:
    env = command_env("sqlite://ignored-by-the-demo.db", SWITCHBOARD_DEMO_INTERVAL="0.2")
    with switchboard("demo", env=env, cwd=tmp_path) as server:
        server.wait_for(lambda: len(_tokens(server.output())) == 3, "the printed tokens")
        token = _tokens(server.output())["Ana"]
        # Given Lena, who wrote two days ago, and the templates the server synced at start
        assert _lena(server.url, token)["canReply"] is False
        server.wait_for(lambda: "quote_ready" in _approved(server.url, token), "the synced templates")
        assert sorted(_approved(server.url, token)) == ["follow_up", "order_update", "quote_ready"]

        # When Ana sends her the approved quote template
        conversation_id = _lena(server.url, token)["id"]
        template_id = _approved(server.url, token)["quote_ready"]["id"]
        sent = _graphql(
            server.url,
            token,
            f'mutation {{ sendTemplate(conversationId: "{conversation_id}", templateId: "{template_id}", variables: '
            '[{key: "1", value: "Lena"}, {key: "2", value: "Q-2026-17"}]) { status text } }',
        )["sendTemplate"]

        # Then it is sent, Lena answers, and the window is open again
        assert sent == {"status": "SENT", "text": "Hi Lena, your quote Q-2026-17 is ready. Shall I send it over?"}
        server.wait_for(lambda: _lena(server.url, token)["canReply"], "Lena's answer")
        thread = [edge["node"] for edge in _lena(server.url, token)["messages"]["edges"]]
        assert [m["direction"] for m in thread] == ["INBOUND", "OUTBOUND", "INBOUND"]
        assert thread[1]["template"] == {"name": "quote_ready"}
    assert "Traceback" not in server.output()

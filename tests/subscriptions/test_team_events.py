"""The team's own events over a real WebSocket (COMMENT_ADDED, CONVERSATION_LABELED), on the
in-memory broker and on Redis: they reach whoever can see the conversation, and nobody else."""

from __future__ import annotations

from tests.realtime_support import Server, Socket
from tests.subscriptions.test_inbox_events import conversation_of
from tests.support import Api

COMMENT = """mutation($c: ID!, $t: String!, $m: [ID!]) {
  addComment(conversationId: $c, text: $t, mentionUserIds: $m) { id } }"""


async def test_r_comment_added_event_reaches_subscribers_who_can_see_the_conversation(api: Api, server: Server) -> None:
    # given Bea (access to Sales) and Carl (access to Support only) subscribed
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    carl = await api.create_user(admin, "Carl Outsider")
    sales = await api.install_api_app(admin, name="Sales", share_with=[bea])
    support = await api.install_api_app(admin, name="Support", share_with=[carl])
    await sales.receive("cust-1", "Hi there", name="Carla")
    conversation = await conversation_of(api, admin)
    async with Socket.opened(server, bea.token) as bea_socket, Socket.opened(server, carl.token) as carl_socket:
        bea_op = await bea_socket.subscribe()
        carl_op = await carl_socket.subscribe()

        # when the admin comments on the Sales conversation, then a Support customer writes
        await api.data(COMMENT, {"c": conversation, "t": "Bea, yours?", "m": [bea.id]}, token=admin.token)
        added = await bea_socket.event(bea_op)
        await support.receive("cust-2", "Hello support")
        carls_first = await carl_socket.event(carl_op)

    # then Bea gets the comment, the conversation unmoved; Carl never hears of it
    assert added["type"] == "COMMENT_ADDED"
    assert added["message"] == {"text": "Bea, yours?", "direction": "INTERNAL"}
    assert added["actor"] == {"name": admin.name}
    assert added["conversationId"] == conversation
    assert added["conversation"]["lastMessage"] == {"text": "Hi there"}
    assert carls_first["type"] == "CONVERSATION_CREATED"
    assert carls_first["conversation"]["contact"] == {"externalId": "cust-2"}


LABELED = """subscription { inboxEvents { type conversationId actor { name } conversation { labels { name } } } }"""


async def test_r_label_conversation_labeled_event_carries_the_new_labels(api: Api, server: Server) -> None:
    # given Bea subscribed to the events of a conversation she can see, and a label
    admin = await api.create_account()
    bea = await api.create_user(admin, "Bea Member")
    app = await api.install_api_app(admin, share_with=[bea])
    await app.receive("cust-1", "Hi there")
    conversation = await conversation_of(api, admin)
    create = 'mutation { createLabel(name: "VIP", color: "#AA0000") { id } }'
    vip = (await api.data(create, token=admin.token))["createLabel"]["id"]
    async with Socket.opened(server, bea.token) as socket:
        op = await socket.subscribe(LABELED)

        # when the admin labels it, then deletes the label
        await api.data(
            "mutation($id: ID!, $l: [ID!]!) { setConversationLabels(id: $id, labelIds: $l) { id } }",
            {"id": conversation, "l": [vip]},
            token=admin.token,
        )
        labeled = await socket.event(op)
        await api.data("mutation($id: ID!) { deleteLabel(id: $id) }", {"id": vip}, token=admin.token)
        unlabeled = await socket.event(op)

    # then each change arrives as CONVERSATION_LABELED with the labels as they are after it
    assert labeled == {
        "type": "CONVERSATION_LABELED",
        "conversationId": conversation,
        "actor": {"name": admin.name},
        "conversation": {"labels": [{"name": "VIP"}]},
    }
    assert (unlabeled["type"], unlabeled["conversation"]) == ("CONVERSATION_LABELED", {"labels": []})

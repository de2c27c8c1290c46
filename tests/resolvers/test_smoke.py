from tests.support import Api

CONVERSATIONS = """query($s: Section!) { conversations(section: $s) { totalCount edges { node { id status section
  contact { externalId name } lastMessage { text direction } assignee { name } } } } }"""


async def test_inbound_message_lands_in_unassigned(api: Api) -> None:
    admin = await api.create_account()
    app = await api.install_api_app(admin)
    await app.receive("cust-1", "Hi there", name="Carla")
    data = await api.data(CONVERSATIONS, {"s": "UNASSIGNED"}, token=admin.token)
    assert data["conversations"]["totalCount"] == 1
    node = data["conversations"]["edges"][0]["node"]
    assert node["contact"] == {"externalId": "cust-1", "name": "Carla"}
    assert node["lastMessage"] == {"text": "Hi there", "direction": "INBOUND"}

"""R-LINK and the CRM's entities: persons, leads and deals; linking conversations to them."""

from models import InboxEvent, InboxEventType, MessagingApp
from resolvers.clock import ManualClock
from resolvers.ids import pk_of, to_api_id
from resolvers.messages import InboundMessage, receive_message
from tests.resolvers.crm_support import (
    CREATE_DEAL,
    CREATE_LEAD,
    CREATE_PERSON,
    LINK,
    UNLINK,
    carla_linked,
    link,
    new_person,
    notes_of,
    texts,
)
from tests.support import DELETE, Api, QueryCounter

PERSONS = """query($s: String, $first: Int, $after: String) { persons(search: $s, first: $first, after: $after) {
  pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { name } } } }"""
LEADS = """query($s: String, $first: Int, $after: String) { leads(search: $s, first: $first, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { title person { name } } } } }"""
DEALS = """query($s: String, $first: Int, $after: String) { deals(search: $s, first: $first, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { title value currency } } } }"""
PERSONS_WITH_NOTES = "{ persons(first: 100) { edges { node { name notes { content conversation { id } } } } } }"
CONVERSATION = (
    "query($id: ID!) { conversation(id: $id) { linkedPerson { name } linkedLead { title } linkedDeal { title } } }"
)
NODE = "query($id: ID!) { node(id: $id) { id } }"


async def _names(api: Api, token: str, query: str, key: str, field: str, **variables: object) -> tuple[list[str], dict]:
    page = (await api.data(query, variables, token=token))[key]
    return [edge["node"][field] for edge in page["edges"]], page["pageInfo"]


async def test_persons_search_and_keyset_pages(api: Api) -> None:
    admin = await api.create_account()
    for name, email in [
        ("Dora Diaz", None),
        ("Carla Costa", "carla@shop.test"),
        ("Ben Brown", None),
        ("Alma Alves", "alma@costa.test"),
    ]:
        await new_person(api, admin, name, **({"email": email} if email else {}))
    await new_person(api, admin, "Eli Egan", phone="+4915112345678")

    first, info = await _names(api, admin.token, PERSONS, "persons", "name", first=2)
    second, info2 = await _names(api, admin.token, PERSONS, "persons", "name", first=2, after=info["endCursor"])
    third, info3 = await _names(api, admin.token, PERSONS, "persons", "name", first=2, after=info2["endCursor"])
    assert (first, second, third) == (["Alma Alves", "Ben Brown"], ["Carla Costa", "Dora Diaz"], ["Eli Egan"])
    assert info["hasNextPage"] and info2["hasNextPage"] and not info3["hasNextPage"]
    assert not info["hasPreviousPage"] and info2["hasPreviousPage"]

    assert (await _names(api, admin.token, PERSONS, "persons", "name", s="COSTA"))[0] == ["Alma Alves", "Carla Costa"]
    assert (await _names(api, admin.token, PERSONS, "persons", "name", s="5112345"))[0] == ["Eli Egan"]
    assert (await _names(api, admin.token, PERSONS, "persons", "name", s="%"))[0] == []


async def test_leads_and_deals_search_and_keyset_pages(api: Api) -> None:
    admin = await api.create_account()
    carla = await new_person(api, admin, "Carla Costa")
    for title in ["Sofa quote", "Kitchen refit", "Sofa delivery"]:
        await api.data(CREATE_LEAD, {"i": {"title": title, "personId": carla}}, token=admin.token)
        await api.data(CREATE_DEAL, {"i": {"title": title, "value": 100.5, "currency": "usd"}}, token=admin.token)

    leads, info = await _names(api, admin.token, LEADS, "leads", "title", first=2)
    more, info2 = await _names(api, admin.token, LEADS, "leads", "title", first=2, after=info["endCursor"])
    assert (leads, more, info["hasNextPage"], info2["hasNextPage"]) == (
        ["Kitchen refit", "Sofa delivery"],
        ["Sofa quote"],
        True,
        False,
    )
    page = (await api.data(LEADS, {"s": "sofa"}, token=admin.token))["leads"]
    assert [edge["node"] for edge in page["edges"]] == [
        {"title": "Sofa delivery", "person": {"name": "Carla Costa"}},
        {"title": "Sofa quote", "person": {"name": "Carla Costa"}},
    ]
    deals = (await api.data(DEALS, {"s": "kitchen"}, token=admin.token))["deals"]
    assert [edge["node"] for edge in deals["edges"]] == [{"title": "Kitchen refit", "value": 100.5, "currency": "USD"}]


async def test_crm_bad_input_is_refused_and_nothing_is_created(api: Api) -> None:
    admin = await api.create_account()

    assert await api.error_code(CREATE_PERSON, {"i": {"name": " "}}, token=admin.token) == "VALIDATION_FAILED"
    assert (
        await api.error_code(CREATE_PERSON, {"i": {"name": "Carla", "email": "no-at"}}, token=admin.token)
        == "VALIDATION_FAILED"
    )
    probe = {"i": {"name": "Carla", "email": "user.<img/src=x/onerror=alert(1)>@probe.test"}}
    assert await api.error_code(CREATE_PERSON, probe, token=admin.token) == "VALIDATION_FAILED"
    assert (
        await api.error_code(CREATE_DEAL, {"i": {"title": "Sofa", "currency": "euro"}}, token=admin.token)
        == "VALIDATION_FAILED"
    )
    assert await api.error_code(CREATE_LEAD, {"i": {"title": ""}}, token=admin.token) == "VALIDATION_FAILED"
    assert await api.error_code(PERSONS, {"first": 0}, token=admin.token) == "VALIDATION_FAILED"
    assert await api.error_code(PERSONS, {"after": "garbage"}, token=admin.token) == "VALIDATION_FAILED"
    assert (await _names(api, admin.token, PERSONS, "persons", "name"))[0] == []


async def test_crm_entities_of_another_account_are_not_found(api: Api) -> None:
    admin = await api.create_account()
    theirs = await new_person(api, admin, "Carla Costa")
    lead = (await api.data(CREATE_LEAD, {"i": {"title": "Sofa"}}, token=admin.token))["createLead"]["id"]
    stranger = await api.create_account("Globex", "Gus Admin")
    app = await api.install_api_app(stranger)
    await app.receive("cust", "Hello")
    conversation = await app.conversation_id("cust")

    assert (await api.data(NODE, {"id": theirs}, token=stranger.token))["node"] is None
    assert (
        await api.error_code(CREATE_LEAD, {"i": {"title": "Mine", "personId": theirs}}, token=stranger.token)
        == "NOT_FOUND"
    )
    assert (
        await api.error_code(LINK, {"id": conversation, "t": {"personId": theirs}}, token=stranger.token) == "NOT_FOUND"
    )
    assert await api.error_code(LINK, {"id": conversation, "t": {"leadId": lead}}, token=stranger.token) == "NOT_FOUND"
    assert (await _names(api, stranger.token, PERSONS, "persons", "name"))[0] == []
    assert (await api.data(CONVERSATION, {"id": conversation}, token=stranger.token))["conversation"][
        "linkedPerson"
    ] is None


async def test_r_link_needs_access_to_the_conversations_app(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hello")
    conversation = await team.app.conversation_id("cust")
    outsider = await api.create_user(team.admin, "Olga Outsider")
    person = await new_person(api, outsider, "Carla")

    code = await api.error_code(LINK, {"id": conversation, "t": {"personId": person}}, token=outsider.token)

    assert code == "NOT_FOUND"
    assert (await api.data(CONVERSATION, {"id": conversation}, token=team.bob.token))["conversation"][
        "linkedPerson"
    ] is None
    assert await notes_of(api, outsider, person) == []

    await link(api, team.bob, conversation, {"personId": person})
    [seen_by_bob] = await notes_of(api, team.bob, person)
    [seen_by_outsider] = await notes_of(api, outsider, person)
    assert seen_by_bob["conversation"] == {"id": conversation}
    assert seen_by_outsider == {**seen_by_bob, "conversation": None}


async def test_r_link_target_needs_exactly_one_field(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hello")
    conversation = await team.app.conversation_id("cust")
    person = await new_person(api, team.bob, "Carla")

    none = await api.error_code(LINK, {"id": conversation, "t": {}}, token=team.bob.token)
    two = await api.error_code(
        LINK, {"id": conversation, "t": {"personId": person, "newLead": {"title": "x"}}}, token=team.bob.token
    )

    assert (none, two) == ("VALIDATION_FAILED", "VALIDATION_FAILED")
    assert (await _names(api, team.bob.token, LEADS, "leads", "title"))[0] == []
    assert await notes_of(api, team.bob, person) == []


async def test_r_link_to_existing_entities_and_the_event(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hello")
    conversation = await team.app.conversation_id("cust")
    person = await new_person(api, team.bob, "Carla Costa")
    deal = (await api.data(CREATE_DEAL, {"i": {"title": "Blue sofa", "personId": person}}, token=team.bob.token))[
        "createDeal"
    ]["id"]

    await link(api, team.bob, conversation, {"personId": person})
    await link(api, team.bob, conversation, {"dealId": deal})

    shown = (await api.data(CONVERSATION, {"id": conversation}, token=team.carol.token))["conversation"]
    assert shown == {"linkedPerson": {"name": "Carla Costa"}, "linkedLead": None, "linkedDeal": {"title": "Blue sofa"}}
    events = await InboxEvent.filter(type=InboxEventType.CONVERSATION_LINKED).values_list("conversation_id", "actor_id")
    assert events == [(pk_of("Conversation", conversation), pk_of("User", team.bob.id))] * 2


async def test_unlinking_emits_conversation_unlinked(api: Api) -> None:
    # given a conversation Bob linked to a person
    team, conversation, _ = await carla_linked(api)

    # when Carol ends that link, then asks again with nothing left to end
    await api.data(UNLINK, {"id": conversation, "k": "PERSON"}, token=team.carol.token)
    await api.data(UNLINK, {"id": conversation, "k": "PERSON"}, token=team.carol.token)

    # then one CONVERSATION_UNLINKED, by Carol, follows Bob's CONVERSATION_LINKED
    events = (
        await InboxEvent.filter(
            conversation_id=pk_of("Conversation", conversation),
            type__in=[InboxEventType.CONVERSATION_LINKED, InboxEventType.CONVERSATION_UNLINKED],
        )
        .order_by("id")
        .values_list("type", "actor_id")
    )
    assert events == [
        (InboxEventType.CONVERSATION_LINKED, pk_of("User", team.bob.id)),
        (InboxEventType.CONVERSATION_UNLINKED, pk_of("User", team.carol.id)),
    ]


async def test_r_link_relinking_a_kind_replaces_it(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()
    await team.app.receive("cust", "Hello", name="Carla")
    conversation = await team.app.conversation_id("cust")
    old = await new_person(api, team.bob, "Carla (old record)")
    new = await new_person(api, team.bob, "Carla Costa")
    await link(api, team.bob, conversation, {"personId": old})

    relinked = await link(api, team.bob, conversation, {"personId": new})
    clock.advance(hours=1)
    await team.app.receive("cust", "Later", name="Carla")

    assert relinked["linkedPerson"]["name"] == "Carla Costa"
    [kept] = await notes_of(api, team.bob, old)
    assert texts(kept) == ["Hello"]
    [current] = await notes_of(api, team.bob, new)
    assert texts(current) == ["Hello", "Later"]


async def test_r_link_linking_the_same_entity_again_changes_nothing(api: Api, clock: ManualClock) -> None:
    team, conversation, person = await carla_linked(api)
    before = await notes_of(api, team.bob, person)
    clock.advance(minutes=5)

    again = await link(api, team.bob, conversation, {"personId": person})

    assert again["linkedPerson"]["id"] == person
    assert await notes_of(api, team.bob, person) == before
    assert await InboxEvent.filter(type=InboxEventType.CONVERSATION_LINKED).count() == 1


async def test_r_link_new_person_is_prefilled_from_the_contact(api: Api) -> None:
    team = await api.create_team()
    await team.app.receive("cust-7", "Hello", name="Carla Costa")
    conversation = await team.app.conversation_id("cust-7")

    person = (await link(api, team.bob, conversation, {"newPerson": {"email": "carla@shop.test"}}))["linkedPerson"]

    assert {key: person[key] for key in ("name", "phone", "email")} == {
        "name": "Carla Costa",
        "phone": None,
        "email": "carla@shop.test",
    }


async def test_r_link_new_person_from_a_whatsapp_contact_gets_the_phone(api: Api) -> None:
    team = await api.create_team()
    installed = await api.data(
        """mutation($i: InstallMessagingAppInput!) { installMessagingApp(input: $i) { id } }""",
        {
            "i": {
                "provider": "TWILIO_WHATSAPP",
                "name": "WhatsApp",
                "shareWith": [team.bob.id],
                "credentials": {"accountSid": "AC" + "0" * 32, "authToken": "f" * 32, "fromNumber": "+14155238886"},
            }
        },
        token=team.admin.token,
    )
    app = await MessagingApp.get(id=pk_of("MessagingApp", installed["installMessagingApp"]["id"]))
    received = await receive_message(InboundMessage(app.id, "SM1", "+34600111222", contact_name="Carla", text="Hola"))
    conversation = to_api_id("Conversation", received.message.conversation_id)

    person = (await link(api, team.bob, conversation, {"newPerson": {"name": "Carla Costa"}}))["linkedPerson"]

    assert (person["name"], person["phone"]) == ("Carla Costa", "+34600111222")


async def test_persons_page_with_notes_costs_the_same_queries_for_more_rows(api: Api, clock: ManualClock) -> None:
    team = await api.create_team()

    async def linked_people(count: int) -> int:
        for n in range(count):
            contact = f"cust-{count}-{n}"
            await team.app.receive(contact, "Hello")
            await link(api, team.bob, await team.app.conversation_id(contact), {"newPerson": {}})
        with QueryCounter() as counter:
            page = (await api.data(PERSONS_WITH_NOTES, token=team.bob.token))["persons"]["edges"]
        assert all(len(edge["node"]["notes"]) == 1 and edge["node"]["notes"][0]["conversation"] for edge in page)
        return counter.count

    assert await linked_people(2) == await linked_people(8)


async def test_r_link_deleted_conversation_comes_back_unlinked(api: Api, clock: ManualClock) -> None:
    team, conversation, person = await carla_linked(api)
    [note] = await notes_of(api, team.bob, person)
    await api.data(DELETE, {"id": conversation}, token=team.admin.token)

    clock.advance(minutes=5)
    await team.app.receive("cust", "Hello again", name="Carla")

    shown = (await api.data(CONVERSATION, {"id": conversation}, token=team.bob.token))["conversation"]
    assert shown == {"linkedPerson": None, "linkedLead": None, "linkedDeal": None}
    assert await notes_of(api, team.bob, person) == [note]


async def test_section_page_with_linked_entities_costs_the_same_queries_for_more_rows(api: Api) -> None:
    team = await api.create_team()
    page_query = """{ conversations(section: UNASSIGNED, first: 100) { edges { node {
      linkedPerson { name } linkedLead { title } linkedDeal { title } } } } }"""

    async def linked_conversations(count: int) -> int:
        for n in range(count):
            contact = f"cust-{count}-{n}"
            await team.app.receive(contact, "Hello")
            conversation = await team.app.conversation_id(contact)
            for target in ({"newPerson": {}}, {"newLead": {"title": "L"}}, {"newDeal": {"title": "D"}}):
                await link(api, team.bob, conversation, target)
        with QueryCounter() as counter:
            edges = (await api.data(page_query, token=team.bob.token))["conversations"]["edges"]
        assert all(all(edge["node"].values()) for edge in edges)
        return counter.count

    assert await linked_conversations(2) == await linked_conversations(6)

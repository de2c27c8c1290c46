"""GraphQL documents and small steps shared by the CRM tests (R-LINK, R-NOTE)."""

from __future__ import annotations

from typing import Any

from tests.support import Api, Person, Team

LINKED = "id linkedPerson { id name phone email } linkedLead { id title } linkedDeal { id title }"
LINK = f"mutation($id: ID!, $t: LinkTarget!) {{ linkConversation(id: $id, target: $t) {{ {LINKED} }} }}"
UNLINK = f"mutation($id: ID!, $k: LinkKind!) {{ unlinkConversation(id: $id, kind: $k) {{ {LINKED} }} }}"
CREATE_PERSON = "mutation($i: NewPersonInput!) { createPerson(input: $i) { id name phone email } }"
CREATE_LEAD = "mutation($i: NewLeadInput!) { createLead(input: $i) { id title person { id name } } }"
CREATE_DEAL = "mutation($i: NewDealInput!) { createDeal(input: $i) { id title value currency person { id } } }"
UPDATE_NOTE = "mutation($id: ID!, $c: String!) { updateNote(id: $id, content: $c) { id content updatedAt } }"
DELETE_NOTE = "mutation($id: ID!) { deleteNote(id: $id) }"
NOTE_FIELDS = "id content windowStartsAt createdAt updatedAt conversation { id }"
NOTES = f"""query($id: ID!) {{ node(id: $id) {{
  ... on Person {{ notes {{ {NOTE_FIELDS} }} }}
  ... on Lead {{ notes {{ {NOTE_FIELDS} }} }}
  ... on Deal {{ notes {{ {NOTE_FIELDS} }} }} }} }}"""


async def link(api: Api, user: Person, conversation: str, target: dict[str, Any]) -> dict[str, Any]:
    return (await api.data(LINK, {"id": conversation, "t": target}, token=user.token))["linkConversation"]


async def new_person(api: Api, user: Person, name: str, **fields: str) -> str:
    return (await api.data(CREATE_PERSON, {"i": {"name": name, **fields}}, token=user.token))["createPerson"]["id"]


async def notes_of(api: Api, user: Person, entity: str) -> list[dict[str, Any]]:
    """The entity's notes as its page shows them: newest first."""
    return (await api.data(NOTES, {"id": entity}, token=user.token))["node"]["notes"]


def message_lines(note: dict[str, Any]) -> list[str]:
    """The note's message lines (after the header and the blank line)."""
    return note["content"].split("\n\n", 1)[1].splitlines()


def texts(note: dict[str, Any]) -> list[str]:
    """The texts of the note's messages, oldest first."""
    return [line.split(": ", 1)[1] for line in message_lines(note)]


async def carla_linked(api: Api, text: str = "Hello") -> tuple[Team, str, str]:
    """Carla writes `text` to the team's app; Bob links the conversation to a new person (her).
    Returns the team, the conversation's id and the person's id."""
    team = await api.create_team()
    await team.app.receive("cust", text, name="Carla")
    conversation = await team.app.conversation_id("cust")
    person = (await link(api, team.bob, conversation, {"newPerson": {}}))["linkedPerson"]["id"]
    return team, conversation, person

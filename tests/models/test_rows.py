"""models/rows.py: a row read for display reads like the model the ORM would build (issue 12)."""

from __future__ import annotations

from models import Conversation, Message, User
from models.rows import Row
from models.sql import rows_by_id
from resolvers.ids import pk_of
from tests.support import Api


async def test_a_row_reads_every_column_as_the_orm_reads_it(api: Api) -> None:
    team, conversation_id = await api.create_team_with_conversation()
    conversation = await Conversation.get(id=pk_of("Conversation", conversation_id))
    message = await Message.get(id=conversation.last_message_id)
    user = await User.get(id=pk_of("User", team.admin.id))

    for model, expected in ((Conversation, conversation), (Message, message), (User, user)):
        [row] = await rows_by_id(model, [expected.pk])
        assert isinstance(row, Row)
        assert row.pk == expected.pk
        for name in model._meta.fields_db_projection:
            assert getattr(row, name) == getattr(expected, name), name
            assert type(getattr(row, name)) is type(getattr(expected, name)), name  # enums stay enums


async def test_rows_of_unknown_ids_are_left_out(db: str) -> None:
    assert await rows_by_id(Conversation, [123456]) == []

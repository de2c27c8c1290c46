"""R-SEARCH (issue 16): the full-text index over message text and the trigram indexes over contact
names and phone digits, written by hand — each database has its own kind of index.

PostgreSQL: the `simple` configuration (no stemming, any language) over unaccented text, in the
stored column `message.search_document` under a GIN index. `unaccent` is only STABLE (its
dictionary could change), so `sb_unaccent` wraps it as IMMUTABLE, as a generated column and an
index expression require. Contact names and the digits of `external_id` (phone fragments) have
`pg_trgm` GIN indexes for their LIKE '%…%' matches.

SQLite: an external-content FTS5 table over `message.text`, kept in step by triggers, holding only
live messages: a deleted conversation's tombstones (conversation and text cleared, R-DELETE) leave it.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor

from models.sql import Dialect, dialect_of


class DialectSQL(ops.RunSQL):
    """RunSQL on one database only."""

    def __init__(self, dialect: Dialect, sql: list[str], reverse_sql: list[str]) -> None:
        super().__init__(sql, reverse_sql=reverse_sql)
        self.dialect = dialect

    async def _run_sql(self, state_editor: BaseSchemaEditor, sqls: Any) -> None:
        """Each statement whole: SQLite's schema editor splits at every `;`, which cuts a trigger's body."""
        for sql in sqls:
            if state_editor.collect_sql:
                state_editor.collected_sql.append(sql)
            else:
                await state_editor.client.execute_script(sql)

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: BaseSchemaEditor | None = None
    ) -> None:
        if state_editor and dialect_of(state_editor.client) == self.dialect:
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: BaseSchemaEditor | None = None
    ) -> None:
        if state_editor and dialect_of(state_editor.client) == self.dialect:
            await super().database_backward(app_label, old_state, new_state, state_editor)


POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE OR REPLACE FUNCTION sb_unaccent(document text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
    " AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, document) $$",
    # A stored column, not an expression index: the planner keeps statistics of its words (so it
    # reads a rare word from the index and a common one backwards by id), and a row scanned needs
    # no to_tsvector. A deleted conversation's tombstone (text NULL) holds an empty document.
    "ALTER TABLE message ADD COLUMN search_document tsvector"
    " GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, sb_unaccent(coalesce(text, '')))) STORED",
    # Twenty times the default sample of words: with the default, a word seen in no sample is guessed
    # at hundreds of rows, and the planner reads backwards by id hoping to meet 25 soon (1 s on 1M
    # messages for a word in 10); with this it is guessed near its count and read from the index.
    "ALTER TABLE message ALTER COLUMN search_document SET STATISTICS 2000",
    "CREATE INDEX ix_message_search ON message USING gin (search_document) WHERE conversation_id IS NOT NULL",
    "CREATE INDEX ix_contact_name_trgm ON contact USING gin (lower(sb_unaccent(name)) gin_trgm_ops)",
    "CREATE INDEX ix_contact_phone_trgm ON contact"
    " USING gin (regexp_replace(external_id, '[^0-9]', '', 'g') gin_trgm_ops)",
]
POSTGRES_REVERSE = [
    "DROP INDEX ix_contact_phone_trgm",
    "DROP INDEX ix_contact_name_trgm",
    "DROP INDEX ix_message_search",
    "ALTER TABLE message DROP COLUMN search_document",
    "DROP FUNCTION sb_unaccent(text)",
]

LIVE_NEW = "new.conversation_id IS NOT NULL AND new.text IS NOT NULL"
LIVE_OLD = "old.conversation_id IS NOT NULL AND old.text IS NOT NULL"
SQLITE = [
    "CREATE VIRTUAL TABLE message_search USING fts5("
    "text, content='message', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER message_search_insert AFTER INSERT ON message WHEN {LIVE_NEW} BEGIN"
    " INSERT INTO message_search(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER message_search_delete AFTER DELETE ON message WHEN {LIVE_OLD} BEGIN"
    " INSERT INTO message_search(message_search, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER message_search_update AFTER UPDATE OF text, conversation_id ON message BEGIN"
    " INSERT INTO message_search(message_search, rowid, text)"
    f" SELECT 'delete', old.id, old.text WHERE {LIVE_OLD};"
    f" INSERT INTO message_search(rowid, text) SELECT new.id, new.text WHERE {LIVE_NEW}; END",
    "INSERT INTO message_search(rowid, text) SELECT id, text FROM message"
    " WHERE conversation_id IS NOT NULL AND text IS NOT NULL",
]
SQLITE_REVERSE = [
    "DROP TRIGGER message_search_update",
    "DROP TRIGGER message_search_delete",
    "DROP TRIGGER message_search_insert",
    "DROP TABLE message_search",
]


class Migration(migrations.Migration):
    dependencies = [("models", "0011_assignment_policy")]

    operations = [
        DialectSQL(Dialect.POSTGRES, POSTGRES, POSTGRES_REVERSE),
        DialectSQL(Dialect.SQLITE, SQLITE, SQLITE_REVERSE),
    ]

"""R-MEDIA: files both ways. The file store's port, uploads and their limits per provider, the
signed links providers fetch our files by, the copy of inbound media into the store, who may read
a stored file, and the sweep that removes expired files."""

from __future__ import annotations

import hashlib
import hmac
import logging
import mimetypes
import posixpath
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from urllib.parse import quote

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models import Attachment, FileState, Message, MessagingApp, Provider, StoredFile
from resolvers import clock
from resolvers.credentials import decrypt_credentials
from resolvers.errors import NotFound, ValidationFailed
from resolvers.events import Change
from resolvers.ids import pk_of, to_api_id
from resolvers.text import clean_text, is_web_url
from settings import get_settings

log = logging.getLogger(__name__)

MB = 1_000_000
# An unused upload is removed after this long.
UPLOAD_TTL = timedelta(days=1)
# A copy of inbound media is tried this often, backing off (30 s doubling to 15 min), then given up.
COPY_ATTEMPTS = 5
COPY_LEASE = timedelta(seconds=120)

IMAGES = ("image/jpeg", "image/png")
DOCUMENTS = (
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "text/plain",
    "text/csv",
)


@dataclass(frozen=True)
class Limits:
    """What a provider takes in one message: types, bytes per type, files per message."""

    types: Mapping[str, int]  # content type -> largest size in bytes
    per_message: int


def _sized(types: Sequence[str], size: int) -> dict[str, int]:
    return dict.fromkeys(types, size)


# The providers' own limits (docs/providers.md, "Files"), so a file is refused here, not bounced there.
LIMITS: dict[Provider, Limits] = {
    Provider.TWILIO_WHATSAPP: Limits(
        {
            **_sized(IMAGES, 5 * MB),
            **_sized(("audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg"), 16 * MB),
            **_sized(("video/mp4", "video/3gpp"), 16 * MB),
            **_sized(DOCUMENTS, 16 * MB),
        },
        per_message=1,
    ),
    Provider.MESSENGER: Limits(
        _sized((*IMAGES, "image/gif", "audio/mpeg", "audio/mp4", "video/mp4", *DOCUMENTS), 25 * MB), per_message=1
    ),
    Provider.API: Limits(
        _sized((*IMAGES, "image/gif", "image/webp", "audio/mpeg", "audio/ogg", "video/mp4", *DOCUMENTS), 25 * MB),
        per_message=10,
    ),
}
# An upload is not tied to a conversation yet: it must fit at least one provider.
UPLOAD_TYPES: dict[str, int] = {}
for _limits in LIMITS.values():
    for _type, _size in _limits.types.items():
        UPLOAD_TYPES[_type] = max(_size, UPLOAD_TYPES.get(_type, 0))
MAX_UPLOAD_BYTES = max(UPLOAD_TYPES.values())


# ---- the ports: where bytes are kept, and how a provider's media is fetched


class FileStore(Protocol):
    """Where files' bytes live (providers/files.py: a directory, or S3-compatible storage)."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """None when nothing is stored under `key`."""
        ...

    async def delete(self, key: str) -> None:
        """Nothing happens when nothing is stored under `key`."""
        ...


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    filename: str | None = None


class FetchFailed(Exception):
    """A provider's media could not be fetched; `permanent`: trying again will not help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class MediaFetcher(Protocol):
    async def fetch(self, provider: Provider, credentials: Mapping[str, str], url: str, max_bytes: int) -> Fetched:
        """The bytes at `url`, with the provider's authentication; raises FetchFailed."""
        ...


_store: list[FileStore] = []
_fetcher: list[MediaFetcher] = []


def use_file_store(store: FileStore | None, fetcher: MediaFetcher | None = None) -> None:
    """Installed by the providers' runtime at start-up."""
    _store.clear()
    _fetcher.clear()
    if store is not None:
        _store.append(store)
    if fetcher is not None:
        _fetcher.append(fetcher)


def file_store() -> FileStore:
    if not _store:
        raise RuntimeError("No file store in this process (the providers' runtime installs it).")
    return _store[0]


# ---- files out: uploads, their use in a reply, and the signed links providers fetch


def content_type_of(declared: str | None, filename: str) -> str:
    """The declared type, without parameters; the filename's when none (or a generic one) is declared."""
    found = (declared or "").partition(";")[0].strip().lower()
    if not found or found == "application/octet-stream":
        found = (mimetypes.guess_type(filename)[0] or "application/octet-stream").lower()
    return found


def clean_filename(filename: str | None) -> str:
    """The last path segment, without control characters, at most 255 characters; "file" if none is left."""
    name = posixpath.basename((filename or "").replace("\\", "/"))
    name = "".join(ch for ch in clean_text(name) if ch.isprintable()).strip()
    return name[-255:] or "file"


def _refuse(reason: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field="file", reason=reason)


async def upload_file(
    viewer_account_id: int, viewer_id: int, filename: str | None, declared: str | None, data: bytes
) -> StoredFile:
    """Stores one upload for a later reply; removed by the sweep after UPLOAD_TTL unless used."""
    name = clean_filename(filename)
    content_type = content_type_of(declared, name)
    if not data:
        raise _refuse("FILE_EMPTY", "The file is empty.")
    largest = UPLOAD_TYPES.get(content_type)
    if largest is None:
        raise _refuse("FILE_TYPE_NOT_ALLOWED", f"No channel accepts files of type {content_type}.")
    if len(data) > largest:
        raise _refuse("FILE_TOO_LARGE", f"Files of type {content_type} may hold at most {largest // MB} MB.")
    key = f"{viewer_account_id}/uploads/{uuid.uuid4().hex}"
    await file_store().put(key, data, content_type)
    now = clock.now()
    try:
        return await StoredFile.create(
            account_id=viewer_account_id,
            uploaded_by_id=viewer_id,
            state=FileState.STORED,
            key=key,
            filename=name,
            content_type=content_type,
            size=len(data),
            expires_at=now + UPLOAD_TTL,
            created_at=now,
        )
    except BaseException:
        await file_store().delete(key)
        raise


async def uploads_for_reply(account_id: int, provider: Provider, upload_ids: Sequence[str]) -> list[StoredFile]:
    """The uploads a reply names, checked against the provider's limits; NOT_FOUND for another
    account's or an unknown id, VALIDATION_FAILED (reason) for a used one or one the provider refuses."""
    pks = [pk_of("UploadedFile", api_id) for api_id in upload_ids]
    if len(set(pks)) != len(pks):
        raise _refuse("DUPLICATE_ATTACHMENT", "The same upload is named twice.")
    limits = LIMITS[provider]
    if len(pks) > limits.per_message:
        raise _refuse(
            "TOO_MANY_ATTACHMENTS", f"A message on this channel carries at most {limits.per_message} file(s)."
        )
    rows = {
        row.id: row for row in await StoredFile.filter(id__in=pks, account_id=account_id, uploaded_by_id__isnull=False)
    }
    found = []
    for pk in pks:
        row = rows.get(pk)
        if row is None or (row.message_id is None and row.expires_at is not None and row.expires_at <= clock.now()):
            raise NotFound("No such upload.")
        if row.message_id is not None:
            raise _refuse("UPLOAD_ALREADY_USED", "This upload was already sent; upload the file again.")
        largest = limits.types.get(row.content_type or "")
        if largest is None:
            raise _refuse("FILE_TYPE_NOT_ALLOWED", f"This channel does not take files of type {row.content_type}.")
        if (row.size or 0) > largest:
            raise _refuse(
                "FILE_TOO_LARGE", f"This channel takes files of type {row.content_type} up to {largest // MB} MB."
            )
        found.append(row)
    return found


def outbound_attachments(uploads: Sequence[StoredFile]) -> list[Attachment]:
    """The message's attachments for `uploads` (their url is set once the message has an id)."""
    return [
        {
            "url": "",
            "contentType": row.content_type,
            "filename": row.filename,
            "size": row.size,
            "fileId": row.id,
            "state": FileState.STORED.value,
        }
        for row in uploads
    ]


async def claim_uploads(message: Message, uploads: Sequence[StoredFile]) -> None:
    """Inside the reply's transaction: each upload becomes the message's, once. A concurrent reply
    that claimed one first makes this one fail (and roll back) with UPLOAD_ALREADY_USED."""
    for position, row in enumerate(uploads):
        claimed = await StoredFile.filter(id=row.id, message_id__isnull=True, expires_at__gt=clock.now()).update(
            message_id=message.id, conversation_id=message.conversation_id, position=position, expires_at=None
        )
        if not claimed:
            raise _refuse("UPLOAD_ALREADY_USED", "This upload was already sent; upload the file again.")


def _signature(file_id: int, expires: int) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"file:{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def public_url(file_id: int, filename: str | None) -> str:
    """A link anyone holding it may fetch until it expires (FILE_LINK_SECONDS): what providers get."""
    settings = get_settings()
    expires = int(clock.now().timestamp()) + settings.file_link_seconds
    name = quote(filename or "file", safe="")
    return f"{settings.public_base_url}/files/public/{file_id}/{name}?expires={expires}&signature={_signature(file_id, expires)}"


async def read_public(file_id: int, expires: str, signature: str) -> tuple[StoredFile, bytes] | None:
    """The file of a signed link, None when the link is tampered with, expired, or its file gone."""
    if not expires.isdigit() or not hmac.compare_digest(signature, _signature(file_id, int(expires))):
        return None
    if int(expires) < clock.now().timestamp():
        return None
    row = await StoredFile.get_or_none(id=file_id, state=FileState.STORED, message_id__isnull=False, expires_at=None)
    return await _with_bytes(row)


# ---- files in: pending copies written with the message, copied after the webhook answered


def pending_attachments(attachments: Sequence[Attachment]) -> list[Attachment]:
    """An inbound message's attachments as stored: each waiting for its copy."""
    return [{**attachment, "state": FileState.PENDING.value} for attachment in attachments]


async def register_inbound(messages: Sequence[Message | InboundFiles]) -> None:
    """Inside the inbound transaction: one PENDING row per attachment, copied later by `copy_due_media`
    (a batch of messages in one statement: resolvers/inbound_batch.py)."""
    now = clock.now()
    rows = [
        StoredFile(
            account_id=message.account_id,
            message_id=message.id,
            conversation_id=message.conversation_id,
            position=position,
            state=FileState.PENDING,
            source_url=attachment["url"],
            content_type=attachment.get("contentType"),
            next_attempt_at=now,
            created_at=now,
        )
        for message in messages
        for position, attachment in enumerate(message.attachments or ())
    ]
    if rows:
        await StoredFile.bulk_create(rows)


@dataclass(frozen=True)
class InboundFiles:
    """What `register_inbound` reads of a message the batch path wrote without a model."""

    account_id: int
    id: int
    conversation_id: int
    attachments: Sequence[Attachment]


def copy_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 900))


async def copy_due_media(limit: int = 20) -> int:
    """Copies the inbound media whose time has come, each claimed first so that processes do not
    copy the same file twice; returns how many were tried."""
    if not _fetcher or not _store:
        return 0
    now = clock.now()
    due = (
        await StoredFile.filter(state=FileState.PENDING, next_attempt_at__lte=now, expires_at__isnull=True)
        .order_by("next_attempt_at")
        .limit(limit)
    )
    tried = 0
    for row in due:
        claimed = await StoredFile.filter(
            id=row.id, state=FileState.PENDING, next_attempt_at=row.next_attempt_at
        ).update(attempts=row.attempts + 1, next_attempt_at=now + COPY_LEASE)
        if claimed:
            tried += 1
            await copy_file(row, row.attempts + 1)
    return tried


async def copy_file(row: StoredFile, attempts: int) -> None:
    """Copies one claimed inbound file (its `attempts`-th try) and settles its outcome."""
    app = (
        await MessagingApp.get_or_none(id=(await Message.get(id=row.message_id or 0)).app_id)
        if row.message_id
        else None
    )
    url = row.source_url or ""
    try:
        if app is None:
            raise FetchFailed("the message or its app is gone", permanent=True)
        if not is_web_url(url):
            raise FetchFailed("not an http(s) URL", permanent=True)
        fetched = await _fetcher[0].fetch(
            app.provider, decrypt_credentials(app.credentials_encrypted), url, get_settings().max_inbound_file_bytes
        )
        content_type = content_type_of(fetched.content_type, fetched.filename or "")
        if not _acceptable_inbound(content_type):
            raise FetchFailed(f"content type {content_type} is not kept", permanent=True)
    except FetchFailed as failure:
        if failure.permanent or attempts >= COPY_ATTEMPTS:
            log.warning("media of message %s #%s unavailable: %s", row.message_id, row.position, failure)
            await _settle(row, FileState.UNAVAILABLE)
        else:
            log.info("media of message %s #%s not copied yet: %s", row.message_id, row.position, failure)
            await StoredFile.filter(id=row.id, state=FileState.PENDING).update(
                next_attempt_at=clock.now() + copy_backoff(attempts)
            )
        return
    key = f"{row.account_id}/messages/{row.message_id}/{row.position}-{uuid.uuid4().hex[:8]}"
    await file_store().put(key, fetched.data, content_type)
    filename = clean_filename(fetched.filename) if fetched.filename else None
    if not await _settle(row, FileState.STORED, _Copied(key, len(fetched.data), content_type, filename)):
        await file_store().delete(key)  # the row went meanwhile (its conversation deleted, swept): keep nothing


def _acceptable_inbound(content_type: str) -> bool:
    """Media and documents are kept; a page (an HTML error page, a script) never is."""
    major = content_type.partition("/")[0]
    return (
        major in ("image", "audio", "video")
        or content_type in DOCUMENTS
        or content_type
        in (
            "application/zip",
            "text/vcard",
            "text/x-vcard",
        )
    )


@dataclass(frozen=True)
class _Copied:
    key: str
    size: int
    content_type: str
    filename: str | None


async def _settle(row: StoredFile, state: FileState, stored: _Copied | None = None) -> bool:
    """The file's outcome, on its row and in its message's attachment, in one transaction. The row
    keeps any `expires_at` a deletion set meanwhile, so the sweep then removes the bytes."""
    async with in_transaction():
        found = vars(stored) if stored is not None else {}
        settled = await StoredFile.filter(id=row.id, state=FileState.PENDING).update(
            state=state, next_attempt_at=None, **found
        )
        message = await Message.filter(id=row.message_id or 0).select_for_update().first()
        if not settled or message is None or message.conversation_id is None or row.position is None:
            return bool(settled)
        attachments = list(message.attachments or [])
        if row.position < len(attachments):
            shown: Attachment = {**attachments[row.position], "state": state.value}
            if stored is not None:
                shown["size"] = stored.size
                shown["contentType"] = stored.content_type
                shown["filename"] = stored.filename
            attachments[row.position] = shown
            await Message.filter(id=message.id).update(attachments=attachments)
    return True


# ---- reading a file: only a user with access to its conversation


def attachment_url(message_id: int, position: int) -> str:
    """Where Attachment.url points: our authenticated endpoint (app.py serves it)."""
    return f"{get_settings().public_base_url}/files/{to_api_id('Message', message_id)}/{position}"


async def read_attachment(
    viewer_account_id: int, app_ids: Sequence[int], message_api_id: str, position: int
) -> tuple[StoredFile, bytes | None]:
    """The file of a message's attachment for a viewer who may see the message; NOT_FOUND
    otherwise. The bytes are None while the copy is PENDING or when it is UNAVAILABLE."""
    pk = pk_of("Message", message_api_id)
    visible = Message.filter(
        id=pk,
        account_id=viewer_account_id,
        app_id__in=app_ids,
        conversation_id__isnull=False,
        conversation__deleted_at__isnull=True,
    )
    if not await visible.exists():
        raise NotFound("No such file.")
    row = await StoredFile.get_or_none(message_id=pk, position=position, expires_at=None)
    if row is None:
        raise NotFound("No such file.")
    if row.state != FileState.STORED:
        return row, None
    found = await _with_bytes(row)
    if found is None:
        raise NotFound("No such file.")
    return found


async def _with_bytes(row: StoredFile | None) -> tuple[StoredFile, bytes] | None:
    if row is None or row.key is None:
        return None
    data = await file_store().get(row.key)
    return (row, data) if data is not None else None


# ---- removal: deleted conversations' files and unused uploads


async def forget_conversation_files(c: Change, conversation_id: int) -> None:
    """R-DELETE: inside the deletion's transaction, the conversation's files expire now; the sweep
    (run right after commit, and periodically) removes the rows, then their bytes."""
    await StoredFile.filter(conversation_id=conversation_id, expires_at__isnull=True).update(expires_at=clock.now())

    async def sweep() -> None:
        await sweep_expired_files()

    c.after_commit.append(sweep)


async def forget_app_files(app_id: int) -> None:
    """R-SETTINGS' uninstall removes the app's messages: their files expire now, for the sweep."""
    messages = Message.filter(app_id=app_id).values("id")
    await StoredFile.filter(message_id__in=Subquery(messages), expires_at__isnull=True).update(expires_at=clock.now())


async def sweep_expired_files(limit: int = 500) -> int:
    """Removes the files whose `expires_at` has passed: the row first, on the condition that it
    is still expired (a reply may have just claimed an upload at its deadline), then the bytes.
    A crash in between leaves bytes no row names, which nothing serves. Returns how many went."""
    if not _store:
        return 0
    now = clock.now()
    rows = await StoredFile.filter(expires_at__lte=now).order_by("expires_at").limit(limit)
    removed = 0
    for row in rows:
        if await StoredFile.filter(id=row.id, expires_at__lte=now).delete():
            removed += 1
            if row.key is not None:
                await file_store().delete(row.key)
    return removed

"""R-MEDIA test support: a real S3-compatible server (moto's server mode on 127.0.0.1), uploads as
GraphQL multipart requests (graphql-multipart-request-spec), and running the media worker by hand."""

from __future__ import annotations

import json
import os
import secrets
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from moto.server import ThreadedMotoServer

from resolvers.files import copy_due_media, sweep_expired_files
from tests.support import Api


def _png() -> bytes:
    """A real 1×1 PNG (a browser decodes it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = _png()
PDF = b"%PDF-1.4\n" + b"0" * 200 + b"\n%%EOF\n"

UPLOAD = "mutation($f: Upload!) { uploadFile(file: $f) { id filename contentType size } }"
SEND = """mutation($c: ID!, $t: String, $a: [ID!]) { sendMessage(conversationId: $c, text: $t, attachmentIds: $a) {
  id status text attachments { url contentType filename size } } }"""


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 on a free port of 127.0.0.1; yields its endpoint URL. The AWS variables are the
    credentials aiobotocore's default chain reads (moto takes any)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
async def s3_bucket(s3_server: str) -> AsyncIterator[str]:
    """A new bucket on the S3 server; yields FILES_URL for it (with a prefix)."""
    from aiobotocore.session import get_session

    bucket = f"files-{secrets.token_hex(4)}"
    async with get_session().create_client("s3", endpoint_url=s3_server, region_name="us-east-1") as s3:
        await s3.create_bucket(Bucket=bucket)
    yield f"s3://{bucket}/switchboard"


async def s3_keys(endpoint: str, files_url: str) -> list[str]:
    """Every key in the bucket of `files_url`."""
    from aiobotocore.session import get_session

    bucket = files_url.removeprefix("s3://").partition("/")[0]
    async with get_session().create_client("s3", endpoint_url=endpoint, region_name="us-east-1") as s3:
        listed = await s3.list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


async def upload(
    api: Api, token: str | None, data: bytes, filename: str = "quote.pdf", content_type: str = "application/pdf"
) -> httpx.Response:
    """uploadFile as the multipart request spec has it: `operations`, `map`, then the file part."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await api.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": UPLOAD, "variables": {"f": None}}),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        files={"0": (filename, data, content_type)},
        headers=headers,
    )


async def uploaded(
    api: Api, token: str, data: bytes = PDF, filename: str = "quote.pdf", content_type: str = "application/pdf"
) -> dict[str, Any]:
    response = await upload(api, token, data, filename, content_type)
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]["uploadFile"]


async def copy_media() -> int:
    """One pass of the media worker, as a server process runs it after the webhooks answered."""
    return await copy_due_media()


async def sweep() -> int:
    return await sweep_expired_files()


async def as_received(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's attachments (url, contentType, as the API shows them) with each url as the
    provider gave it: the API shows our own, authenticated URL (R-MEDIA), the row keeps theirs."""
    from models import StoredFile
    from resolvers.ids import pk_of

    pk = pk_of("Message", message["id"])
    sources = await StoredFile.filter(message_id=pk).order_by("position").values_list("source_url", flat=True)
    shown = message["attachments"]
    assert [a["url"] for a in shown] == [
        f"https://inbox.example.test/files/{message['id']}/{i}" for i in range(len(shown))
    ]
    return [{**attachment, "url": source} for attachment, source in zip(shown, sources, strict=True)]

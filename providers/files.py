"""The file store's adapters (R-MEDIA): a directory, or S3-compatible object storage through
aiobotocore; and the fetcher that copies a provider's media (Twilio with Basic auth, Graph by URL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from models import Provider
from resolvers.files import Fetched, FetchFailed
from settings import Settings

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


def _checked(key: str) -> str:
    """Keys are ours (account/kind/…); anything else, a `..` above all, is a bug, never a path."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a file store key: {key!r}")
    return key


class DirectoryStore:
    """Files under one directory (FILES_DIR): for one machine, development and the demo."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        # Written aside, then renamed: a reader never sees half a file.
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    async def get(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)

    async def close(self) -> None:
        return None


class S3Store:
    """Objects in an S3-compatible bucket (FILES_URL=s3://bucket/prefix). Credentials come from the
    usual AWS chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance role)."""

    def __init__(self, url: str, *, endpoint_url: str | None = None, region: str = "us-east-1") -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError("FILES_URL must look like s3://bucket/prefix")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self._stack = AsyncExitStack()
        self._client: Any = None
        self._opening = asyncio.Lock()

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{_checked(key)}" if self.prefix else _checked(key)

    async def _s3(self) -> Any:
        async with self._opening:
            if self._client is None:
                session = get_session()
                self._client = await self._stack.enter_async_context(
                    session.create_client("s3", endpoint_url=self.endpoint_url, region_name=self.region)
                )
        return self._client

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes | None:
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self._key(key))  # S3 answers 204 for a missing key too

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None


def make_file_store(settings: Settings) -> DirectoryStore | S3Store:
    if settings.files_url:
        return S3Store(settings.files_url, endpoint_url=settings.files_s3_endpoint_url, region=settings.files_s3_region)
    return DirectoryStore(settings.files_dir)


# ---- copying a provider's media


class HttpMediaFetcher:
    """Fetches a provider's media URL. Twilio's need the account's Basic auth and redirect to
    storage elsewhere (httpx drops the Authorization header when a redirect leaves the origin);
    Graph's are plain signed URLs."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def fetch(self, provider: Provider, credentials: Mapping[str, str], url: str, max_bytes: int) -> Fetched:
        auth: httpx.BasicAuth | None = None
        if provider == Provider.TWILIO_WHATSAPP:
            auth = httpx.BasicAuth(credentials.get("accountSid", ""), credentials.get("authToken", ""))
        try:
            async with self.http.stream("GET", url, auth=auth, follow_redirects=True) as response:
                if response.status_code in (408, 429) or response.status_code >= 500:
                    raise FetchFailed(f"HTTP {response.status_code}", permanent=False)
                if response.status_code != 200:
                    raise FetchFailed(f"HTTP {response.status_code}", permanent=True)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchFailed(f"{declared} bytes, over {max_bytes}", permanent=True)
                chunks: list[bytes] = []
                seen = 0
                async for chunk in response.aiter_bytes():
                    seen += len(chunk)
                    if seen > max_bytes:
                        raise FetchFailed(f"over {max_bytes} bytes", permanent=True)
                    chunks.append(chunk)
                return Fetched(
                    b"".join(chunks),
                    response.headers.get("content-type", ""),
                    _filename(response.headers.get("content-disposition", "")),
                )
        except httpx.UnsupportedProtocol as error:
            raise FetchFailed(f"not http(s): {error}", permanent=True) from None
        except httpx.TooManyRedirects:
            raise FetchFailed("too many redirects", permanent=True) from None
        except httpx.HTTPError as error:
            raise FetchFailed(f"unreachable: {type(error).__name__}", permanent=False) from None


_FILENAME = re.compile(r'filename="?([^";]+)"?', re.IGNORECASE)


def _filename(disposition: str) -> str | None:
    found = _FILENAME.search(disposition)
    return found[1] if found else None

"""The file store's adapters (providers/files.py, R-MEDIA): the same behaviour from a directory and
from a real S3-compatible server (moto's server mode on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from providers.files import DirectoryStore, S3Store, make_file_store
from settings import Settings
from tests.files_support import PDF, s3_keys


@pytest.fixture(params=["directory", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: str, s3_bucket: str
) -> AsyncIterator[DirectoryStore | S3Store]:
    if request.param == "directory":
        found: DirectoryStore | S3Store = DirectoryStore(tmp_path)
    else:
        found = S3Store(s3_bucket, endpoint_url=s3_server)
    yield found
    await found.close()


async def test_r_media_store_keeps_gives_back_and_removes_bytes(store: DirectoryStore | S3Store) -> None:
    await store.put("1/uploads/abc", PDF, "application/pdf")
    assert await store.get("1/uploads/abc") == PDF
    await store.put("1/uploads/abc", b"replaced", "application/pdf")
    assert await store.get("1/uploads/abc") == b"replaced"

    await store.delete("1/uploads/abc")

    assert await store.get("1/uploads/abc") is None
    await store.delete("1/uploads/abc")  # removing what is gone is no error


async def test_r_media_store_refuses_keys_that_would_leave_it(store: DirectoryStore | S3Store) -> None:
    for key in ("../etc/passwd", "1/../../x", "/abs", ""):
        with pytest.raises(ValueError):
            await store.put(key, b"x", "text/plain")


async def test_r_media_s3_objects_live_under_the_prefix_of_files_url(s3_server: str, s3_bucket: str) -> None:
    store = make_file_store(Settings(files_url=s3_bucket, files_s3_endpoint_url=s3_server))
    assert isinstance(store, S3Store)
    try:
        await store.put("7/messages/1/0-ab", PDF, "application/pdf")
        assert await s3_keys(s3_server, s3_bucket) == ["switchboard/7/messages/1/0-ab"]
    finally:
        await store.close()


def test_r_media_a_directory_is_the_default_store(tmp_path: Path) -> None:
    assert isinstance(make_file_store(Settings(files_dir=str(tmp_path))), DirectoryStore)
    with pytest.raises(ValueError):
        make_file_store(Settings(files_url="https://bucket.example/x"))

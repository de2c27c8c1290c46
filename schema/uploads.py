"""The Upload scalar (graphql-multipart-request-spec, Strawberry's) and reading one upload's bytes
within the limit before it reaches resolvers/files.py (R-MEDIA)."""

from __future__ import annotations

from typing import Any

from strawberry.file_uploads import Upload

from models import StoredFile
from resolvers import files
from resolvers.errors import ValidationFailed
from resolvers.viewer import Viewer

__all__ = ["Upload", "upload_file"]


async def upload_file(viewer: Viewer, file: Any) -> StoredFile:
    """`file` is Starlette's UploadFile (spooled to disk past 1 MB by python-multipart)."""
    if not hasattr(file, "read"):
        raise ValidationFailed("`file` must be a file part of a multipart request.", field="file")
    data = await file.read(files.MAX_UPLOAD_BYTES + 1)
    if len(data) > files.MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            f"Files may hold at most {files.MAX_UPLOAD_BYTES // files.MB} MB.", field="file", reason="FILE_TOO_LARGE"
        )
    return await files.upload_file(viewer.account_id, viewer.id, file.filename, file.content_type, data)

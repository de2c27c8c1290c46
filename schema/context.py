"""The per-request context: who is asking, and the request-scoped data loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info

from resolvers.errors import Unauthenticated
from resolvers.viewer import Viewer
from schema.loaders import Loaders


@dataclass
class Context:
    request: Any
    viewer: Viewer | None
    request_id: str = ""
    loaders: Loaders = field(default_factory=Loaders)
    response: Any = None
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload
    # On a WebSocket: the conversations (pk) whose presence setPresence set through it, cleared
    # when it closes (R-PRESENCE). One set per socket, shared by its operations' contexts.
    presence_set: set[int] | None = None


def viewer_of(info: Info[Context, Any]) -> Viewer:
    viewer = info.context.viewer
    if viewer is None:
        raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")
    return viewer


def loaders_of(info: Info[Context, Any]) -> Loaders:
    return info.context.loaders

"""Writing one graphql-transport-ws `next` message to many sockets: the RFC 6455 frame is built once
per payload and operation id (server-to-client frames are unmasked, so the bytes are the same for
every socket whose operation has that id) and written straight to the socket's transport.

`BroadcastWebSockets` is the uvicorn WebSocket protocol the app is served with (app.server_options):
uvicorn's own (websockets sans-I/O), which also puts a `FrameWriter` into the ASGI scope's
extensions. Served otherwise (another protocol, in-process tests), there is none and the sender
falls back to `send_text`. Per-message-deflate stays off: a compressed frame would differ per socket.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

EXTENSION = "switchboard.frames"


def text_frame(message: bytes) -> bytes:
    """One unfragmented, unmasked text frame (FIN, opcode 0x1) carrying `message` (UTF-8)."""
    size = len(message)
    if size < 126:
        return bytes((0x81, size)) + message
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + message
    return struct.pack("!BBQ", 0x81, 127, size) + message


class FrameWriter:
    """Writes whole frames to one accepted WebSocket's transport, between the frames uvicorn writes
    (uvicorn writes each of its frames with one `transport.write` too, so they never interleave)."""

    __slots__ = ("_protocol", "stopped", "wrote")

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol
        self.stopped = False  # set when the socket is revoked: nothing more is written, at once
        self.wrote = False  # a frame went out since the keep-alive last looked: the socket is not idle

    def write(self, frame: bytes, limit: int) -> bool:
        """Writes `frame` unless the bytes written but not yet taken by the kernel are over `limit`
        (what a client that does not read piles up): then False, and nothing is written."""
        protocol = self._protocol
        transport: asyncio.Transport = protocol.transport
        if self.stopped or protocol.close_sent or transport.is_closing():
            return True  # closing: the disconnect ends the operation
        if transport.get_write_buffer_size() > limit:
            return False
        transport.write(frame)
        self.wrote = True
        return True


class BroadcastWebSockets(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, with a `FrameWriter` in the scope's extensions."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.handshake_complete is False:
            scope.setdefault("extensions", {})[EXTENSION] = FrameWriter(self)


def frame_writer(scope: Any) -> FrameWriter | None:
    writer = (scope.get("extensions") or {}).get(EXTENSION)
    return writer if isinstance(writer, FrameWriter) else None

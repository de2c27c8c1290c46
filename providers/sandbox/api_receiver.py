"""The system on the other side of an API channel: takes Switchboard's signed replies on
`POST /deliver`, keeps them, and answers with its own message id (`ext-1`, `ext-2`, …) or as told."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.sandbox.server import LoopbackServer
from providers.webhooks import signature_ok

log = logging.getLogger("switchboard.sandbox")


@dataclass
class Delivery:
    body: bytes
    signature: str

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class ApiChannelReceiver(LoopbackServer):
    """Refuses a reply whose `X-Switchboard-Signature` is not `secret`'s (403); `answer`, when set,
    is the status and JSON body of every answer from then on (a partner refusing)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.received: list[Delivery] = []
        self.answer: tuple[int, dict[str, Any]] | None = None

    @property
    def delivery_url(self) -> str:
        return f"{self.url}/deliver"

    def routes(self) -> list[Route]:
        return [Route("/deliver", self.deliver, methods=["POST"])]

    async def deliver(self, request: Request) -> Response:
        delivery = Delivery(await request.body(), request.headers.get("x-switchboard-signature", ""))
        if not signature_ok(self.secret, delivery.body, delivery.signature):
            return JSONResponse({"error": "bad signature"}, status_code=403)
        self.received.append(delivery)
        if self.answer is not None:
            return JSONResponse(self.answer[1], status_code=self.answer[0])
        reply = delivery.payload
        log.info("API channel customer %s received a reply: %s", reply["recipient"]["id"], reply.get("text"))
        return JSONResponse({"messageId": f"ext-{len(self.received)}"})

"""A stand-in for Slack's Socket Mode WebSocket: a real `websockets` server on 127.0.0.1.

Point the Slack double's `apps.connections.open` at it (`slack.workspace.socket_mode_url =
socket.url`). When the app connects it is greeted with `hello`, as Slack does; the test
then sends envelopes (`send`) and reads the app's acknowledgements (`wait_for_ack`).

    with SocketModeDouble() as socket:
        slack.workspace.socket_mode_url = socket.url
        ...start the app with SLACK_APP_TOKEN...
        socket.wait_connected()
        ack = socket.wait_for_ack(socket.send("slash_commands", fields))
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

from tests.slack.payloads import APP_ID


class SocketModeDouble:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="socket-mode-double")
        self.server: Server | None = None
        self.connections: list[ServerConnection] = []
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._changed = threading.Condition()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> SocketModeDouble:
        self.thread.start()
        async def listen() -> Server:
            return await serve(self._connection, "127.0.0.1", 0)

        self.server = asyncio.run_coroutine_threadsafe(listen(), self.loop).result(5)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            asyncio.run_coroutine_threadsafe(self.server.wait_closed(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def __enter__(self) -> SocketModeDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/"

    # -- one app connection --------------------------------------------------------------
    async def _connection(self, websocket: ServerConnection) -> None:
        with self._changed:
            self.connections.append(websocket)
            self.paths.append(websocket.request.path if websocket.request else "")
            self._changed.notify_all()
        await websocket.send(json.dumps({
            "type": "hello", "num_connections": len(self.connections),
            "debug_info": {"host": "applink-double", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }))
        async for message in websocket:
            with self._changed:
                self.received.append(json.loads(message))
                self._changed.notify_all()

    def wait_connected(self, count: int = 1, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.connections) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("the app never connected over Socket Mode")
                self._changed.wait(remaining)

    def send(self, envelope_type: str, payload: dict[str, Any],
             accepts_response_payload: bool = True) -> str:
        """Delivers `payload` as Slack does over Socket Mode; returns its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                    "accepts_response_payload": accepts_response_payload}
        if envelope_type == "events_api":
            envelope["retry_attempt"] = 0
            envelope["retry_reason"] = ""
        asyncio.run_coroutine_threadsafe(
            self.connections[-1].send(json.dumps(envelope)), self.loop
        ).result(5)
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.received:
                    if message.get("envelope_id") == envelope_id:
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no ack for envelope {envelope_id}: {self.received}")
                self._changed.wait(remaining)

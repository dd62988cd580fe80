"""A small OpenAI-compatible streaming server over a `Decoder`, for testing the endpoint path without a GPU.

`POST /v1/completions` (and `/v1/chat/completions`) with `"stream": true` answers server-sent events, one token
per event, then `data: [DONE]`; `GET /v1/models` lists the one model. One request decodes at a time (a lock; no
batching: it is a test target, not a server to deploy). It binds to 127.0.0.1 only, and stops by itself after
`max_requests` completions or `max_seconds`, whichever comes first.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchbench.serve.decoder import Decoder

HOST = "127.0.0.1"


def _prompt_ids(body: dict, vocab: int) -> list[int]:
    prompt = body.get("prompt")
    if prompt is None:
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages") or ())
    if isinstance(prompt, list) and all(isinstance(t, int) for t in prompt):
        return [t % vocab for t in prompt] or [0]
    return [b % vocab for b in str(prompt).encode()][:256] or [0]


class StreamServer:
    """`with StreamServer(decoder) as s:` serves on `s.url` (http://127.0.0.1:PORT/v1) in a thread."""

    def __init__(self, decoder: Decoder, *, model: str = "benchbench-test", max_requests: int = 200,
                 max_seconds: float = 120.0) -> None:  # fmt: skip
        self.decoder, self.model = decoder, model
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.served = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((HOST, 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.timer = threading.Timer(max_seconds, self.stop)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> StreamServer:
        self.thread.start()
        self.timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self.timer.cancel()
        if self.thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    def generate(self, prompt: list[int], n: int):
        """Yield `n` greedy tokens of the decoder, one at a time, under the lock."""
        with self.lock:
            seq = self.decoder.prefill(prompt)
            yield seq.tokens[-1]
            for _ in range(n - 1):
                self.decoder.step([seq])
                yield seq.tokens[-1]
            self.served += 1
        if self.served >= self.max_requests:
            threading.Thread(target=self.stop, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") != "/v1/models":
                    self.send_error(404)
                    return
                self._json({"object": "list", "data": [{"id": server.model, "object": "model"}]})

            def do_POST(self) -> None:
                chat = self.path == "/v1/chat/completions"
                if self.path != "/v1/completions" and not chat:
                    self.send_error(404)
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    n = max(1, min(int(body.get("max_tokens", 16)), 1024))
                except (ValueError, TypeError):
                    self.send_error(400)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                created = int(time.time())
                for tok in server.generate(_prompt_ids(body, server.decoder.vocab_size), n):
                    choice = (
                        {"index": 0, "delta": {"content": f" t{tok}"}}
                        if chat
                        else {"index": 0, "text": f" t{tok}"}
                    )
                    event = {"object": "chat.completion.chunk" if chat else "text_completion", "created": created,
                             "model": server.model, "choices": [choice]}  # fmt: skip
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                usage = {"choices": [], "usage": {"completion_tokens": n}}
                self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

            def _json(self, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler

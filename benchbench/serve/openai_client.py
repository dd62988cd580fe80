"""The LLM scenario against any OpenAI-compatible server (vLLM, TGI, llama.cpp, SGLang): streamed completions.

Each request is POSTed at its scheduled Poisson time to `/v1/completions` (or `/v1/chat/completions` with
`--chat`) with `"stream": true`, by a pool of threads using the standard library's http.client. Every
server-sent event carrying text is one token arriving (servers send one token per event when streaming; a server
that batches several into one event makes the inter-token latency look longer and the TPOT shorter than the
truth — `usage.completion_tokens`, when the server sends it, corrects the count). The completions prompt is the
request's token ids (a list of integers, which the OpenAI completions API and vLLM accept); the chat prompt is
as many words. `max_tokens` is the drawn output length, with `ignore_eos` (vLLM's extension) and
`min_tokens` so that a model stopping early does not shorten the work. A stream that ends before its output
length is answered with what came.
"""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from benchbench.core.errors import BadInputError, one_line
from benchbench.serve.llm_records import LlmProbe, LlmServeResult, RequestRecord
from benchbench.serve.llm_scenario import LlmConfig, run_llm
from benchbench.serve.llm_server import summarize
from benchbench.serve.llm_workload import Request, draw_requests
from benchbench.serve.loadgen import LoadGenerator
from benchbench.serve.server import LEAD_S

MAX_WORKERS = 64
PROMPT_VOCAB = 1000  # token ids drawn for prompts: below any real vocabulary's size


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible base URL (scheme, host, port, path prefix such as /v1) and the model it serves."""

    scheme: str
    host: str
    port: int
    prefix: str
    model: str
    chat: bool = False

    @classmethod
    def parse(cls, url: str, *, model: str, chat: bool = False) -> Endpoint:
        """http(s)://HOST[:PORT][/v1]; anything else is one BadInputError."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInputError(f"--endpoint must be an http:// or https:// URL such as http://127.0.0.1:8000/v1, "
                                f"got {url!r}")  # fmt: skip
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise BadInputError(f"--endpoint has a bad port: {url!r}") from None
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/") or "/v1", model, chat)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.prefix}"

    def body(self, req: Request) -> dict:
        common = {"model": self.model, "max_tokens": req.output_tokens, "min_tokens": req.output_tokens,
                  "ignore_eos": True, "temperature": 0.0, "stream": True,
                  "stream_options": {"include_usage": True}}  # fmt: skip
        if self.chat:
            return {
                **common,
                "messages": [{"role": "user", "content": " ".join(["hello"] * len(req.prompt))}],
            }
        return {**common, "prompt": req.prompt}


def _event_text(event: dict) -> tuple[str, int | None]:
    """The text an event carries (completions `text` or chat `delta.content`) and `usage.completion_tokens`."""
    text = ""
    for choice in event.get("choices") or ():
        text += choice.get("text") or (choice.get("delta") or {}).get("content") or ""
    usage = event.get("usage") or {}
    return text, usage.get("completion_tokens")


def stream_one(ep: Endpoint, req: Request, record: RequestRecord, timeout_s: float) -> None:
    """POST one request and record each token's arrival; an error is recorded by its kind, never raised."""
    conn_cls = http.client.HTTPSConnection if ep.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(ep.host, ep.port, timeout=timeout_s)
    path = ep.prefix + ("/chat/completions" if ep.chat else "/completions")
    try:
        conn.request("POST", path, body=json.dumps(ep.body(req)), headers={"Content-Type": "application/json",
                                                                            "Accept": "text/event-stream"})  # fmt: skip
        resp = conn.getresponse()
        if resp.status != 200:
            record.error = f"HTTP {resp.status}"
            return
        for raw in resp:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            text, usage = _event_text(json.loads(data))
            if text:
                record.token_times.append(time.perf_counter())
            record.server_tokens = usage if usage is not None else record.server_tokens
        if record.token_times:  # a stream that ended early is answered with what came
            record.output_tokens = min(record.output_tokens, len(record.token_times))
    except (OSError, http.client.HTTPException, json.JSONDecodeError) as exc:
        record.error = one_line(exc, limit=80)
    finally:
        conn.close()


def probe_endpoint(ep: Endpoint, requests: list[Request], rate: float, cfg: LlmConfig) -> LlmProbe:
    """One probe: each request POSTed at its Poisson time from a pool of threads; streams recorded."""
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()
    start = time.perf_counter() + LEAD_S
    records = [RequestRecord(start + r.offset_s, len(r.prompt), r.output_tokens) for r in requests]
    gen = LoadGenerator(start, np.array([r.offset_s for r in requests]), inbox, stop)
    reason = "done"
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(requests))) as pool:
        gen.start()
        futures = []
        while len(futures) < len(requests):
            remaining = cfg.max_duration_s - (time.perf_counter() - start)
            try:
                i, _ = inbox.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                reason = "time_cap"
                break
            futures.append(pool.submit(stream_one, ep, requests[i], records[i], max(remaining, 1.0)))
        stop.set()
        gen.join(timeout=5.0)
        for f in futures:
            f.result()
    elapsed = time.perf_counter() - start
    return summarize(records, rate, cfg.slo, elapsed_s=elapsed, stop_reason=reason)


def endpoint_start_rate(ep: Endpoint, cfg: LlmConfig) -> float:
    """Where the search starts: the rate of one mean-sized request at a time (the first of two, a warm-up, is not
    counted); the server's batching lets the search double from there. A failed request is one BadInputError."""
    req = Request(0.0, [1] * round(cfg.prompt.mean), round(cfg.output.mean))
    for _ in range(2):
        rec = RequestRecord(time.perf_counter(), len(req.prompt), req.output_tokens)
        stream_one(ep, req, rec, timeout_s=cfg.max_duration_s)
        if rec.error is not None or not rec.token_times:
            raise BadInputError(
                f"--endpoint {ep.url} did not stream a completion: {rec.error or 'no tokens'}"
            )
    return 1.0 / max(rec.token_times[-1] - rec.due, 1e-3)


def serve_llm_endpoint(
    ep: Endpoint, cfg: LlmConfig, *, price_per_hour: float | None = None
) -> LlmServeResult:
    """Goodput of the endpoint, searched from `endpoint_start_rate` (or one probe at `cfg.qps`)."""

    def probe_at(rate: float) -> LlmProbe:
        return probe_endpoint(ep, draw_requests(cfg.probe_requests(rate), rate, cfg.prompt, cfg.output, PROMPT_VOCAB, cfg.seed),
                              rate, cfg)  # fmt: skip

    start = endpoint_start_rate(ep, cfg) if cfg.qps is None else cfg.qps
    result = run_llm(probe_at, start, cfg, model=ep.model, target=ep.url, measured_on=f"endpoint {ep.url}",
                     device="endpoint", price_per_hour=price_per_hour)  # fmt: skip
    result.notes.append(
        "tokens counted as server-sent events carrying text; energy not measured (remote device)"
    )
    return result

"""The LLM scenario through an OpenAI-compatible endpoint: benchbench's own small streaming server over the zoo's
gpt2 (127.0.0.1, bounded in requests and time), measured through the same probe and search."""

from __future__ import annotations

import json

import pytest

from benchbench.core.errors import BadInputError
from benchbench.generate.build import build_decoder
from benchbench.serve.decoder import CachedDecoder
from benchbench.serve.llm_records import RequestRecord, Slo
from benchbench.serve.llm_scenario import LlmConfig
from benchbench.serve.llm_workload import Lengths, Request
from benchbench.serve.openai_client import Endpoint, probe_endpoint, stream_one
from benchbench.serve.openai_server import StreamServer


@pytest.fixture(scope="module")
def decoder():
    return CachedDecoder(build_decoder("gpt2", size="tiny")[0])


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/v1", "127.0.0.1:8000", "file:///etc/passwd", "http://:80/v1"]
)
def test_non_http_endpoints_are_refused(url):
    with pytest.raises(BadInputError, match="http:// or https://"):
        Endpoint.parse(url, model="m")


def test_endpoint_parse():
    ep = Endpoint.parse("http://127.0.0.1:8000/v1/", model="m")
    assert (ep.host, ep.port, ep.prefix, ep.url) == ("127.0.0.1", 8000, "/v1", "http://127.0.0.1:8000/v1")


@pytest.mark.parametrize("chat", [False, True])
def test_stream_gives_one_time_per_token(decoder, chat):
    with StreamServer(decoder, max_requests=5, max_seconds=30) as server:
        ep = Endpoint.parse(server.url, model="benchbench-test", chat=chat)
        rec = RequestRecord(due=0.0, prompt_tokens=3, output_tokens=6)
        stream_one(ep, Request(0.0, [5, 6, 7], 6), rec, timeout_s=20)
    assert rec.error is None and rec.done and rec.server_tokens == 6
    assert len(rec.token_times) == 6 and rec.token_times == sorted(rec.token_times)
    assert len(rec.gaps_ms()) == 5 and all(g >= 0 for g in rec.gaps_ms())


def test_probe_through_the_endpoint(decoder):
    cfg = LlmConfig(slo=Slo(ttft_ms=2000, tpot_ms=1000), prompt=Lengths(4, 8), output=Lengths(3, 5), requests=20,
                    max_duration_s=30)  # fmt: skip
    from benchbench.serve.llm_workload import draw_requests

    reqs = draw_requests(20, 20.0, cfg.prompt, cfg.output, 1000, seed=0)
    with StreamServer(decoder, max_requests=20, max_seconds=60) as server:
        probe = probe_endpoint(Endpoint.parse(server.url, model="t"), reqs, 20.0, cfg)
        assert server.served == 20
    assert probe.answered == 20 and probe.stop_reason == "done", probe.errors
    assert probe.output_tokens == sum(r.output_tokens for r in reqs)
    assert probe.ttft.n == 20 and probe.itl.n == sum(r.output_tokens - 1 for r in reqs)
    assert probe.within_budget


def test_server_stops_by_itself_after_its_requests(decoder):
    server = StreamServer(decoder, max_requests=1, max_seconds=30)
    with server:
        stream_one(Endpoint.parse(server.url, model="t"), Request(0.0, [1], 2), RequestRecord(0.0, 1, 2), 10)
        server.thread.join(timeout=5)
        assert not server.thread.is_alive()


@pytest.mark.slow
def test_cli_endpoint_goodput(cli, decoder, tmp_path):
    out = tmp_path / "ep.json"
    with StreamServer(decoder, max_requests=400, max_seconds=90) as server:
        code, text, _ = cli(["serve", "t", "--scenario", "llm", "--endpoint", server.url, "--ttft-ms", "60",
                             "--tpot-ms", "40", "--prompt-tokens", "4:8", "--output-tokens", "3:5", "--requests", "20",
                             "--max-probes", "3", "--max-duration-s", "20", "--json", str(out)])  # fmt: skip
    assert code == 0, text
    data = json.loads(out.read_text())
    assert data["target"] == server.url and data["probes"]
    assert all(p["answered"] + sum(p["errors"].values()) <= p["requests"] for p in data["probes"])
    assert "energy not measured" in " ".join(data["notes"])


def test_cli_endpoint_that_does_not_answer_is_one_line(cli, decoder):
    with StreamServer(decoder, max_requests=1, max_seconds=10) as server:
        url = server.url.replace("/v1", "/nowhere")
        code, _, err = cli(
            ["serve", "t", "--scenario", "llm", "--endpoint", url, "--ttft-ms", "9", "--tpot-ms", "9"]
        )
    assert code == 2 and "did not stream a completion: HTTP 404" in err


def test_cli_refuses_a_bad_endpoint(cli):
    code, _, err = cli(
        ["serve", "t", "--scenario", "llm", "--endpoint", "ftp://x/v1", "--ttft-ms", "1", "--tpot-ms", "1"]
    )
    assert code == 2 and "http://" in err

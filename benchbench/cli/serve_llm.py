"""`benchbench serve MODEL --scenario llm`: the options checked, the decoder or endpoint set up, the goodput printed."""

from __future__ import annotations

import argparse
import sys


def run_llm_scenario(args: argparse.Namespace) -> int:
    """Goodput of MODEL in this process, or of `--endpoint` (MODEL then names what the endpoint serves)."""
    from benchbench.cli.common import emit_json
    from benchbench.core.errors import BadInputError
    from benchbench.serve.llm_records import Slo
    from benchbench.serve.llm_scenario import LlmConfig
    from benchbench.serve.llm_summary import llm_lines
    from benchbench.serve.llm_workload import Lengths

    if args.ttft_ms is None or args.tpot_ms is None:
        raise BadInputError("--scenario llm needs --ttft-ms and --tpot-ms, the per-request budgets in ms")
    if args.find_max_qps or args.p99_ms is not None:
        raise BadInputError("--scenario llm searches goodput under --ttft-ms/--tpot-ms; --find-max-qps and --p99-ms "
                            "are the server scenario's")  # fmt: skip
    cfg = LlmConfig(
        slo=Slo(args.ttft_ms, args.tpot_ms, args.goodput_share),
        prompt=Lengths.parse(args.prompt_tokens, "--prompt-tokens"),
        output=Lengths.parse(args.output_tokens, "--output-tokens"), requests=args.requests,
        max_batch=args.max_batch, max_duration_s=args.max_duration_s, max_probes=args.max_probes, qps=args.qps,
        seed=args.seed,
    )  # fmt: skip
    result = _endpoint(args, cfg) if args.endpoint else _in_process(args, cfg)
    say = sys.stderr if args.json == "-" else sys.stdout
    for line in llm_lines(result):
        print(line, file=say)
    emit_json(args.json, result)
    return 0


def _in_process(args: argparse.Namespace, cfg: object) -> object:
    """Goodput of MODEL built here as a cached decoder (`generate.build.build_decoder`, `serve.decoder.CachedDecoder`)."""
    import torch

    from benchbench.core.device import parse_device
    from benchbench.generate.build import build_decoder
    from benchbench.serve.decoder import CachedDecoder
    from benchbench.serve.energy import energy_meter
    from benchbench.serve.llm_scenario import serve_llm_decoder
    from benchbench.serve.scenarios import default_threads, measured_on

    device = parse_device(args.device)
    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    model, target = build_decoder(args.model, size=args.size, device=str(device), task=args.task)
    decoder = CachedDecoder(model, device)
    return serve_llm_decoder(decoder, cfg, model=target.name, measured_on=measured_on(str(device), threads),
                             device=str(device), price_per_hour=args.price_per_hour,
                             meter_factory=lambda: energy_meter(str(device)))  # fmt: skip


def _endpoint(args: argparse.Namespace, cfg: object) -> object:
    from benchbench.serve.openai_client import Endpoint, serve_llm_endpoint

    ep = Endpoint.parse(args.endpoint, model=args.endpoint_model or args.model, chat=args.chat)
    return serve_llm_endpoint(ep, cfg, price_per_hour=args.price_per_hour)

"""`benchbench serve MODEL --scenario single|offline|server|llm`: MLPerf-style serving scenarios and their cost;
`llm`: goodput of a decoder under TTFT and TPOT budgets, in this process or at an OpenAI-compatible `--endpoint`."""

from __future__ import annotations

import argparse

from benchbench.cli.common import (
    add_json_option,
    add_model_arguments,
    check_output,
    console,
    emit_json,
    fraction,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="serve a model in MLPerf-style scenarios: latency, throughput, max QPS, cost"
    )
    add_model_arguments(p)
    p.add_argument("--scenario", choices=("single", "offline", "server", "llm"), default="server",
                   help="single: one query at a time (p90); offline: best throughput over batch sizes; "
                   "server: Poisson arrivals with dynamic batching (p50/p90/p99); llm: a decoder's goodput "
                   "under --ttft-ms and --tpot-ms with continuous batching")  # fmt: skip
    p.add_argument(
        "--backend", default="eager", help="eager, ort, compile, or a list: eager,ort (default eager)"
    )
    p.add_argument("--qps", type=positive_float, help="server: the Poisson arrival rate, queries per second")
    p.add_argument(
        "--find-max-qps", action="store_true", help="server: search the highest rate within --p99-ms"
    )
    p.add_argument("--p99-ms", type=positive_float, help="server: the p99 latency budget in ms")
    p.add_argument(
        "--max-batch", type=positive_int, default=8, help="dynamic batching: largest batch (default 8)"
    )
    p.add_argument("--max-delay-ms", type=nonnegative_float, default=2.0,
                   help="dynamic batching: longest wait of the oldest query before its batch runs (default 2)")  # fmt: skip
    p.add_argument("--queries", type=positive_int, default=1024,
                   help="queries per server probe (at least 368) or single-stream queries (at least 36); default 1024")  # fmt: skip
    p.add_argument(
        "--min-duration-s", type=positive_float, default=1.0, help="a probe lasts at least this (default 1)"
    )
    p.add_argument(
        "--max-duration-s", type=positive_float, default=60.0, help="a probe stops by this (default 60)"
    )
    p.add_argument(
        "--max-probes", type=positive_int, default=12, help="find-max-qps: most probes (default 12)"
    )
    p.add_argument("--batch-sizes", default="1,2,4,8,16,32,64", help="offline: batch sizes to try")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="torch and ORT intra-op threads (default: the CPU count less one)")  # fmt: skip
    p.add_argument("--price-per-hour", type=positive_float,
                   help="the device's price in $/h for the measured cost (default: the hardware table's, else none)")  # fmt: skip
    p.add_argument("--seq-len", type=positive_int, default=None, help="sequence length for sequence models")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the Poisson schedule (default 0)")
    p.add_argument("--device", default="cpu")
    llm = p.add_argument_group("--scenario llm")
    llm.add_argument(
        "--ttft-ms", type=positive_float, help="TTFT budget per request, ms (arrival to first token)"
    )
    llm.add_argument(
        "--tpot-ms", type=positive_float, help="TPOT budget per request, ms (mean later-token gap)"
    )
    llm.add_argument("--goodput-share", type=fraction, default=0.9,
                     help="share of requests that must meet both budgets (default 0.9)")  # fmt: skip
    llm.add_argument(
        "--prompt-tokens", default="32:128", help="prompt length N or LO:HI uniform (default 32:128)"
    )
    llm.add_argument(
        "--output-tokens", default="16:64", help="output length N or LO:HI uniform (default 16:64)"
    )
    llm.add_argument("--requests", type=positive_int, default=100, help="requests per probe (default 100)")
    llm.add_argument(
        "--endpoint", help="an OpenAI-compatible server, http://HOST:PORT/v1 (streamed completions)"
    )
    llm.add_argument(
        "--endpoint-model", default=None, help="the model name the endpoint serves (default MODEL)"
    )
    llm.add_argument(
        "--chat", action="store_true", help="endpoint: /v1/chat/completions instead of /v1/completions"
    )
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.device import parse_device
    from benchbench.core.errors import BadInputError
    from benchbench.measure.sweep import parse_int_list
    from benchbench.report.serving import serving_sections
    from benchbench.report.terminal import print_sections
    from benchbench.serve.backends import parse_backends
    from benchbench.serve.cost import attach_costs
    from benchbench.serve.scenarios import ServeConfig, default_threads, serve_target
    from benchbench.serve.server import Batching
    from benchbench.sources.target import load_target

    check_output(args.json, what="--json file")
    if args.scenario == "llm":
        from benchbench.cli.serve_llm import run_llm_scenario

        return run_llm_scenario(args)
    backends = parse_backends(args.backend)
    device = str(parse_device(args.device))
    if args.max_probes < 2:
        raise BadInputError(f"--max-probes must be >= 2 (a bracket needs two rates), got {args.max_probes}")
    if args.qps is not None and args.find_max_qps:
        raise BadInputError("give --qps RATE or --find-max-qps, not both")
    batch_sizes = tuple(parse_int_list(args.batch_sizes, "--batch-sizes") or ())
    if not batch_sizes:
        raise BadInputError("--batch-sizes must list at least one batch size, e.g. 1,8,32")
    cfg = ServeConfig(
        scenario=args.scenario, batching=Batching(args.max_batch, args.max_delay_ms), queries=args.queries,
        min_duration_s=args.min_duration_s, max_duration_s=args.max_duration_s, qps=args.qps,
        p99_budget_ms=args.p99_ms, find_max=args.find_max_qps, max_probes=args.max_probes, batch_sizes=batch_sizes,
        seed=args.seed, threads=args.threads or default_threads(),
    )  # fmt: skip
    target = load_target(args.model, args.size, None, args.seq_len, task=args.task)  # a factory's own batch
    if device != "cpu":
        target.model.to(device)
    result = attach_costs(serve_target(target, backends, cfg, device=device), args.price_per_hour)
    print_sections(serving_sections(result), console(args))
    emit_json(args.json, result)
    served = [b for b in result.backends if b.skipped is None]
    return 0 if served else 1

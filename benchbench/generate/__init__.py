"""Generation: what a decoder costs per token (TTFT, TPOT, tokens/s, KV cache bytes), measured with its cache on.

Modules, one job each: `decoder` (one interface over every decoder benchbench knows), `request` (one request's
prefill and decode steps, timestamped), `kv` (analytic cache bytes from a config, and the bytes actually held),
`measure` (repeated requests into estimates with 95% CIs), `records` (the typed results), `check` (cache against
recomputation), `stage` (the run stage, gate metrics).
"""

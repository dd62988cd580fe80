"""A model with a long, stable service time: a batch of B takes BASE_MS + PER_SAMPLE_MS × B, asleep.

Sleeping releases the GIL and needs almost no CPU, so the service time barely moves when the machine is loaded:
the knee of its latency curve sits where the queue starts to grow, near MAX_BATCH / service(MAX_BATCH), whatever
else the machine is doing."""

from __future__ import annotations

import time

import torch
from torch import nn

BASE_MS = 10.0
PER_SAMPLE_MS = 1.0


def service_ms(batch: int) -> float:
    return BASE_MS + PER_SAMPLE_MS * batch


class Sleepy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(service_ms(x.shape[0]) / 1e3)
        return x * self.scale

    def example_inputs(self, batch_size: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch_size, 4),)


def make_model() -> Sleepy:
    return Sleepy()

"""Back-of-the-envelope cluster estimates: accelerators, training time, devices to fit, all-reduce traffic.

The hardware half of :mod:`course_lib.sizing` (every name here is importable from there too):

=====================================  ===================================================================
question                               function (rule, source)
=====================================  ===================================================================
what does the hardware deliver?        :data:`ACCELERATORS`, :func:`accelerator` (datasheets)
how long to train?                     :func:`training_time`: FLOPs / (devices · peak · MFU)
how many devices' memory?              :func:`devices_to_fit`: ceil(bytes / memory per device)
how many bytes does each worker send?  :func:`allreduce_bytes`: 2·(n−1)/n · gradient bytes (ring all-reduce,
                                       Patarasuk & Yuan, 2009)
how long does the all-reduce take?     :func:`allreduce_time`: those bytes / per-direction bandwidth
=====================================  ===================================================================

**Bandwidth is per direction, in bytes/s, everywhere here.** Links are full duplex: a device sends at
its per-direction rate while it receives at the same rate. Datasheets often add both directions: NVIDIA
quotes NVLink 4 on the H100 as "900 GB/s" (18 links × 50 GB/s, counting both directions), which is
450 GB/s each way; an NDR InfiniBand port is 400 Gb/s = 50 GB/s each way (:data:`INFINIBAND_NDR`). Mixing
the two conventions halves or doubles an all-reduce time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from course_lib.sizing import _choice, _integer, _number

__all__ = ["ACCELERATORS", "INFINIBAND_NDR", "Accelerator", "accelerator", "allreduce_bytes", "allreduce_time",
           "devices_to_fit", "human_time", "training_time"]

@dataclass(frozen=True)
class Accelerator:
    """Datasheet figures for one accelerator (dense peak, no sparsity).

    Attributes:
        name: marketing name.
        bf16_flops: peak dense 16-bit (bf16/fp16) matrix throughput, FLOP/s.
        fp32_flops: peak plain fp32 throughput, FLOP/s (not TF32).
        memory_bytes: on-device memory.
        memory_bandwidth: bytes/s to that memory.
        link_bandwidth: bytes/s one device sends to the others of its server (NVLink, ICI or PCIe), **per
            direction** (it receives as much at the same time): half the "bidirectional" datasheet total.
        source: the datasheet.
    """

    name: str
    bf16_flops: float
    fp32_flops: float
    memory_bytes: float
    memory_bandwidth: float
    link_bandwidth: float
    source: str


# link_bandwidth per direction: T4 PCIe Gen3 x16 (datasheet "32 GB/s" both ways); V100 NVLink 2, 6 links x 25 GB/s
# (datasheet 300 GB/s both ways); A100 NVLink 3, 12 x 25 GB/s (600); H100 NVLink 4, 18 x 25 GB/s (900);
# TPU v4 ICI, 6 links x 50 GB/s (400 Gb/s) each way, all six links together (Jouppi et al., 2023).
ACCELERATORS: dict[str, Accelerator] = {
    "T4": Accelerator("NVIDIA T4", 65e12, 8.1e12, 16e9, 320e9, 16e9,
                      "https://www.nvidia.com/en-us/data-center/tesla-t4/"),
    "V100": Accelerator("NVIDIA V100 SXM2 32GB", 125e12, 15.7e12, 32e9, 900e9, 150e9,
                        "https://images.nvidia.com/content/technologies/volta/pdf/volta-v100-datasheet-update-us-1165301-r5.pdf"),
    "A100": Accelerator("NVIDIA A100 SXM4 80GB", 312e12, 19.5e12, 80e9, 2039e9, 300e9,
                        "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"),
    "H100": Accelerator("NVIDIA H100 SXM5 80GB", 989e12, 67e12, 80e9, 3350e9, 450e9,
                        "https://www.nvidia.com/en-us/data-center/h100/"),
    "TPU v4": Accelerator("Google Cloud TPU v4 chip", 275e12, 275e12 / 6, 32 * 2**30, 1200e9, 300e9,
                          "https://cloud.google.com/tpu/docs/v4"),
}
"""Accelerators by short name. The TPU's fp32 figure is an estimate (the MXU is bf16-only and emulates
fp32 with several bf16 passes); its link bandwidth is the ICI per chip, both only rough guides."""

INFINIBAND_NDR = 50e9
"""Bytes/s per direction of one NDR InfiniBand port (400 Gb/s), the usual link per GPU between the servers of
an H100 cluster (NVIDIA Quantum-2: https://www.nvidia.com/en-us/networking/quantum2/)."""


def accelerator(name: str | Accelerator) -> Accelerator:
    """Look an accelerator up by short name (``"A100"``, ``"h100"``, ``"TPU v4"``...); pass through an
    :class:`Accelerator`."""
    return _lookup(name)


def _lookup(name: str | Accelerator) -> Accelerator:
    if isinstance(name, Accelerator):
        return name
    if not isinstance(name, str):
        raise TypeError(f"accelerator must be a name or an Accelerator, got {type(name).__name__}")
    keys = {k.lower().replace(" ", ""): k for k in ACCELERATORS}
    key = name.lower().replace(" ", "")
    if key not in keys:
        raise ValueError(f"accelerator must be one of {sorted(ACCELERATORS)} or an Accelerator, got {name!r}")
    return ACCELERATORS[keys[key]]


def training_time(
    total_flops: float,
    *,
    n_devices: int = 1,
    accelerator: str | Accelerator = "A100",
    mfu: float = 0.4,
    dtype: str = "bf16",
) -> float:
    """Seconds to do ``total_flops`` on ``n_devices`` accelerators at model-FLOPs utilisation ``mfu``.

    ``time = FLOPs / (n_devices · peak · mfu)``. MFU (Chowdhery et al., 2022) is the fraction of the
    datasheet peak that the model's useful FLOPs reach; well-tuned large runs get 0.35-0.55.
    ``dtype`` picks the peak: ``"bf16"``/``"fp16"`` (matrix units) or ``"fp32"``.
    """
    flops = _number(total_flops, "total_flops")
    n = _integer(n_devices, "n_devices")
    util = _number(mfu, "mfu")
    if util > 1:
        raise ValueError(f"mfu must be in (0, 1], got {mfu!r}")
    acc = _lookup(accelerator)
    kind = _choice(dtype, "dtype", ("bf16", "fp16", "fp32"))
    peak = acc.fp32_flops if kind == "fp32" else acc.bf16_flops
    return flops / (n * peak * util)


def devices_to_fit(total_bytes: float, accelerator: str | Accelerator = "A100") -> int:
    """How many devices' memory ``total_bytes`` needs at the very least (``ceil(bytes / memory)``),
    assuming it can be split perfectly (ZeRO-3 / FSDP style sharding)."""
    b = _number(total_bytes, "total_bytes", allow_zero=True)
    acc = _lookup(accelerator)
    return max(1, math.ceil(b / acc.memory_bytes))


# --- communication ------------------------------------------------------------------------------------


def allreduce_bytes(gradient_bytes: float, n_workers: int) -> float:
    """Bytes each worker sends (and receives) in one ring all-reduce: ``2·(n−1)/n · gradient_bytes``.

    A ring all-reduce is a reduce-scatter (``n−1`` steps, each sending one ``1/n`` chunk) followed by an
    all-gather (``n−1`` more); it is bandwidth-optimal (Patarasuk & Yuan, 2009). One worker sends nothing.
    """
    g = _number(gradient_bytes, "gradient_bytes", allow_zero=True)
    n = _integer(n_workers, "n_workers")
    return 2.0 * (n - 1) / n * g


def allreduce_time(gradient_bytes: float, n_workers: int, bandwidth: float) -> float:
    """Seconds for one ring all-reduce of ``gradient_bytes`` over ``n_workers``.

    ``time = allreduce_bytes(gradient_bytes, n_workers) / bandwidth``, where ``bandwidth`` is what each
    worker can send **per direction**, in bytes/s (it receives as much at the same time, so sending is the
    bottleneck): ``accelerator("H100").link_bandwidth`` (450e9, NVLink 4) inside a server,
    :data:`INFINIBAND_NDR` (50e9) between servers. Do not pass a "bidirectional" datasheet total (NVLink 4's
    900 GB/s): that halves the time. The bandwidth term only: latency (``2·(n−1)`` messages) and overlap
    with the backward pass are ignored.

    Raises:
        ValueError / TypeError naming ``gradient_bytes``, ``n_workers`` or ``bandwidth``.
    """
    return allreduce_bytes(gradient_bytes, n_workers) / _number(bandwidth, "bandwidth")


# --- printing --------------------------------------------------------------------------------------


def human_time(seconds: float) -> str:
    """``3e6`` -> ``"34.7 days"``: seconds in the largest sensible unit (s, min, h, days, years)."""
    s = _number(seconds, "seconds", allow_zero=True)
    for unit, scale in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"

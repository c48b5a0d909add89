#!/usr/bin/env python3
"""PyTorch side of native/bench/conv.ts: medians of one 2-D convolution's forward, input gradient and
filter gradient, float32 on the CPU, NCHW or channels-last. Prints one JSON object.

  /usr/bin/python3 native/bench/conv_peer.py --shape 16,48,64,3 --reps 15 --threads 2 [--channels-last]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def median_ms(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="16,48,64,3", help="N,H(=W),C(=CI=CO),K")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    n, h, c, k = map(int, a.shape.split(","))
    torch.set_num_threads(a.threads)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    x = torch.randn(n, c, h, h).to(memory_format=fmt)
    w = torch.randn(c, c, k, k).to(memory_format=fmt)
    dy = torch.randn(n, c, h, h).to(memory_format=fmt)
    p = (k - 1) // 2
    out = {
        "fwd_ms": median_ms(lambda: F.conv2d(x, w, padding=p), a.reps),
        "bwd_data_ms": median_ms(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=p), a.reps),
        "bwd_filter_ms": median_ms(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=p), a.reps),
    }
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "channels_last": a.channels_last, **{k: round(v, 3) for k, v in out.items()}}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Peer timings: the same work done the way a researcher would do it in
NumPy and PyTorch, on this machine, for side-by-side ratios with `npm run bench -- --peers`.

Install (Debian packages; the machine's own python3 from /usr/bin; PyTorch is optional):
    apt-get update && apt-get install -y python3-numpy python3-torch libopenblas0-pthread
Run (npm run bench -- --peers does this):
    /usr/bin/python3 bench/peers.py            # JSON lines on stdout
    /usr/bin/python3 bench/peers.py --quick

Each line: {"task", "params", "peer", "median_ms", "rate", "rate_unit"}; the median of
timed repetitions after one warm-up, on 2 threads. Shapes match the harness's bench tasks.
"sgemm" (a 4096^3 float32 product) is the machine's practical peak through its BLAS.
"""
import json
import math
import statistics
import sys
import time

import numpy as np

try:
    import torch
except ImportError:  # NumPy alone still gives the sgemm peak and the attention forms
    torch = None

QUICK = "--quick" in sys.argv
REPS = 3 if QUICK else 7


def timed(fn):
    fn()
    samples = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def emit(task, params, seconds, work, unit, peer):
    print(json.dumps({"task": task, "params": params, "peer": peer, "median_ms": round(seconds * 1e3, 3),
                      "rate": round(work / seconds, 3), "rate_unit": unit}), flush=True)


def mc_qk(d, trials):
    rng = np.random.default_rng(0)

    def run():
        q = rng.standard_normal((trials, d), dtype=np.float32)
        k = rng.standard_normal((trials, d), dtype=np.float32)
        s = np.einsum("td,td->t", q, k)
        return s.mean(), s.var()

    emit("mc-qk", {"d": d, "trials": trials}, timed(run), trials / 1e6, "M samples/s", "numpy")


def sgemm(n):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    emit("sgemm", {"N": n}, timed(lambda: a @ b), 2 * n ** 3 / 1e9, "GFLOP/s", "numpy")


def softmax_attention_numpy(n, d):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((n, d), dtype=np.float32) for _ in range(3))

    def run():
        s = (q / np.float32(math.sqrt(d))) @ k.T
        p = np.exp(s - s.max(axis=1, keepdims=True))
        return (p / p.sum(axis=1, keepdims=True)) @ v

    emit("softmax-attention", {"N": n, "D": d, "M": d}, timed(run), 4 * n * n * d / 1e9, "GFLOP/s", "numpy")


def softmax_attention(n, d):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(n, d, generator=g) for _ in range(3))

    def run():
        return torch.softmax((q / math.sqrt(d)) @ k.T, dim=-1) @ v

    flops = 4 * n * n * d
    emit("softmax-attention", {"N": n, "D": d, "M": d}, timed(run), flops / 1e9, "GFLOP/s", "torch")


def quadratic_feature_map_numpy(x):
    # phi(x) for (x.y + 1)^2, as quadratic_feature_map below, in NumPy
    n, d = x.shape
    i, j = np.triu_indices(d, k=1)
    root2 = np.float32(math.sqrt(2))
    return np.concatenate([np.ones((n, 1), np.float32), root2 * x, x * x, root2 * x[:, i] * x[:, j]], axis=1)


def kernel_attention_numpy(n, d):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((n, d), dtype=np.float32) / np.float32(d ** 0.25) for _ in range(3))
    linear_form(quadratic_feature_map_numpy, q, k, v, "numpy")


def linear_form(feature_map, q, k, v, peer):
    """Times the quadratic kernel's linear form as a researcher writes it, phi whole then two products; the same
    expressions serve NumPy arrays and PyTorch tensors."""
    def run():
        fq, fk = feature_map(q), feature_map(k)
        u = fk.T @ v
        z = fk.sum(0)
        return (fq @ u) / (fq @ z)[:, None]

    n, d = q.shape
    c = 1 + d + d * (d + 1) // 2
    emit("quadratic-kernel-attention", {"N": n, "D": d, "M": d, "C": c}, timed(run), 4 * n * c * d / 1e9, "GFLOP/s", peer)


def quadratic_feature_map(x):
    # phi(x) for (x.y + 1)^2: [1, sqrt2*x_i, x_i^2, sqrt2*x_i*x_j (i<j)]
    n, d = x.shape
    iu = torch.triu_indices(d, d, offset=1)
    outer = x[:, :, None] * x[:, None, :]
    return torch.cat([torch.ones(n, 1), math.sqrt(2) * x, x * x,
                      math.sqrt(2) * outer[:, iu[0], iu[1]]], dim=1)


def kernel_attention(n, d):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(n, d, generator=g) / d ** 0.25 for _ in range(3))
    linear_form(quadratic_feature_map, q, k, v, "torch")


def decode_step(b, d, h, n, kv_heads):
    g = torch.Generator().manual_seed(0)
    hd = d // h
    x = torch.randn(b, d, generator=g)
    wq = torch.randn(h, d, hd, generator=g)
    wk = torch.randn(kv_heads, d, hd, generator=g)
    wv = torch.randn(kv_heads, d, hd, generator=g)
    wo = torch.randn(h, hd, d, generator=g)
    k_cache = torch.randn(b, kv_heads, n, hd, generator=g)
    v_cache = torch.randn(b, kv_heads, n, hd, generator=g)
    group = h // kv_heads

    def run():
        q = torch.einsum("bd,hdq->bhq", x, wq).view(b, kv_heads, group, hd)
        logits = torch.einsum("bgrq,bgnq->bgrn", q, k_cache) / math.sqrt(hd)
        w = torch.softmax(logits, dim=-1)
        o = torch.einsum("bgrn,bgnv->bgrv", w, v_cache).reshape(b, h, hd)
        return torch.einsum("bhv,hvd->bd", o, wo)

    kv_bytes = 2 * b * n * kv_heads * hd * 4
    emit("decode-step", {"b": b, "d": d, "h": h, "n": n, "kv_heads": kv_heads}, timed(run),
         kv_bytes / 1e9, "GB/s of KV cache", "torch")


def main():
    sgemm(1024 if QUICK else 4096)
    mc_qk(64, 100_000 if QUICK else 1_000_000)
    for n in ([1024] if QUICK else [1024, 4096]):
        softmax_attention_numpy(n, 64)
        kernel_attention_numpy(n, 64)
    if torch is None:
        print("peers: PyTorch is not installed (apt-get install -y python3-torch); NumPy only", file=sys.stderr)
        return
    torch.set_num_threads(2)
    for n in ([1024] if QUICK else [1024, 4096]):
        softmax_attention(n, 64)
        kernel_attention(n, 64)
    for kv in (16, 4, 1):
        decode_step(8, 1024, 16, 1024 if QUICK else 8192, kv)


if __name__ == "__main__":
    main()

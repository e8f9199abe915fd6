#!/usr/bin/env python3
"""PyTorch reference timings for the recipes `cargo bench` times in wgpu-gan.

Runs the same models and schedules in PyTorch eager mode (CPU, or CUDA when available) on
random data of MNIST's shape and prints iterations per second, so that a ratio can be measured
in one session on one machine:

    python3 benches/pytorch_reference.py            # every recipe, every batch size
    python3 benches/pytorch_reference.py --device cuda --iterations 500

- mlp: the seed tutorial's Keras MLP GAN (G 100-256-512-1024-784 with LeakyReLU then
  BatchNorm(eps 1e-3, momentum 0.3); D 784-512-256-1), its schedule: fakes from G in eval mode,
  a D step on reals, a D step on fakes, two G steps; Adam(2e-4, 0.5, 0.999, eps 1e-7).
- dcgan: the 28x28 DCGAN of issue 4 with the pytorch/examples schedule.
- srgan, cyclegan, dvdgan: the new families at their defaults (benches/pytorch_families.py),
  each at its own batch sizes (srgan 16, cyclegan 1 and 16, dvdgan 16), timed for about
  --family-seconds after two warm-up iterations.
Exits with a message (status 0) when PyTorch is not installed.
"""
import argparse
import sys
import time

try:
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError:
    print("PyTorch is not installed; nothing to compare (pip install torch)")
    sys.exit(0)

from pytorch_families import FAMILIES

# The batch sizes each family is timed at (those `cargo bench` times).
FAMILY_BATCHES = {"srgan": [16], "cyclegan": [1, 16], "dvdgan": [16]}


def mlp_models():
    def block(i, o):
        return [nn.Linear(i, o), nn.LeakyReLU(0.2), nn.BatchNorm1d(o, eps=1e-3, momentum=0.3)]

    g = nn.Sequential(*block(100, 256), *block(256, 512), *block(512, 1024), nn.Linear(1024, 784), nn.Tanh())
    d = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))
    return g, d


def dcgan_models():
    g = nn.Sequential(
        nn.Linear(100, 7 * 7 * 128), nn.BatchNorm1d(7 * 7 * 128), nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return g, d


def mlp_iteration(g, d, og, od, real, batch, dev):
    bce = F.binary_cross_entropy_with_logits
    ones = torch.ones(batch, 1, device=dev)
    zeros = torch.zeros(batch, 1, device=dev)
    g.eval()
    with torch.no_grad():
        fake = g(torch.randn(batch, 100, device=dev))
    g.train()
    for x, t in ((real[torch.randint(0, real.shape[0], (batch,), device=dev)], ones), (fake, zeros)):
        od.zero_grad()
        bce(d(x), t).backward()
        od.step()
    for p in d.parameters():
        p.requires_grad_(False)
    for _ in range(2):
        og.zero_grad()
        bce(d(g(torch.randn(batch, 100, device=dev))), ones).backward()
        og.step()
    for p in d.parameters():
        p.requires_grad_(True)


def dcgan_iteration(g, d, og, od, real, batch, dev):
    bce = F.binary_cross_entropy_with_logits
    ones = torch.ones(batch, 1, device=dev)
    zeros = torch.zeros(batch, 1, device=dev)
    x = real[torch.randint(0, real.shape[0], (batch,), device=dev)].view(batch, 1, 28, 28)
    fake = g(torch.randn(batch, 100, device=dev))
    od.zero_grad()
    (bce(d(x), ones) + bce(d(fake.detach()), zeros)).backward()
    od.step()
    og.zero_grad()
    bce(d(fake), ones).backward()
    og.step()


def bench_family(name, batch, dev, seconds):
    step = FAMILIES[name][0](batch, dev)
    for _ in range(2):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    n, t = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t < seconds:
        step()
        n += 1
        if dev.type == "cuda":
            torch.cuda.synchronize()
    return n / (time.perf_counter() - t)


def bench(name, batch, dev, iterations, warmup):
    g, d = (mlp_models if name == "mlp" else dcgan_models)()
    g, d = g.to(dev), d.to(dev)
    eps = 1e-7 if name == "mlp" else 1e-8
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=eps)
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=eps)
    real = torch.rand(10_000, 784, device=dev) * 2 - 1
    step = mlp_iteration if name == "mlp" else dcgan_iteration
    for _ in range(warmup):
        step(g, d, og, od, real, batch, dev)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iterations):
        step(g, d, og, od, real, batch, dev)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return iterations / (time.perf_counter() - t)


# The products `cargo bench --bench engine -- matmul` times: the seed MLP's layers at batch 32
# as forward (x·Wᵀ + b), input gradient (dy·W) and weight gradient (dyᵀ·x), and 512³.
SEED_LAYERS = [(100, 256), (256, 512), (512, 1024), (1024, 784), (784, 512), (512, 256), (256, 1)]


def matmul_cases(batch=32, big=False):
    # 1024³ and 4096³ on a GPU, as `cargo bench` times them on a real GPU (TF32 stays off:
    # PyTorch's default for matmul).
    if big:
        for t in ("none", "at", "bt"):
            yield t, (1024, 1024, 1024)
            yield t, (4096, 4096, 4096)
    for t in ("bt", "none", "at"):
        for i, o in SEED_LAYERS:
            yield t, {"bt": (batch, o, i), "none": (batch, i, o), "at": (o, i, batch)}[t]
        yield t, (512, 512, 512)


def matmul_gflops(t, m, n, k, dev, budget=0.3):
    """GFLOP/s (2mnk) of torch's product of this transpose and shape (m x n output, depth k)."""
    a = torch.randn(*((k, m) if t == "at" else (m, k)), device=dev)
    b = torch.randn(*((n, k) if t == "bt" else (k, n)), device=dev)
    bias = torch.randn(n, device=dev)
    f = {
        "bt": lambda: torch.addmm(bias, a, b.t()),
        "none": lambda: a @ b,
        "at": lambda: a.t() @ b,
    }[t]
    for _ in range(3):
        f()
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget:
        f()
        reps += 1
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return 2 * m * n * k * reps / (time.perf_counter() - start) * 1e-9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--models", default="mlp,dcgan",
                    help="comma-separated (mlp, dcgan, srgan, cyclegan, dvdgan); empty for the matmul table only")
    ap.add_argument("--family-seconds", type=float, default=10.0, help="timing per new-family row")
    ap.add_argument("--batches", default="32,64,256")
    ap.add_argument("--no-matmul", action="store_true", help="skip the matmul GFLOP/s table")
    a = ap.parse_args()
    dev = torch.device(a.device)
    print(f"PyTorch {torch.__version__} on {dev} ({torch.get_num_threads()} CPU threads)")
    if not a.no_matmul:
        print("matmul GFLOP/s (2mnk): op m n k")
        names = {"bt": "matmul_bt", "none": "matmul", "at": "matmul_at"}
        torch.backends.cuda.matmul.allow_tf32 = False
        for t, (m, n, k) in matmul_cases(big=dev.type == "cuda"):
            print(f"pytorch {names[t]:<10} {m:>5} {n:>5} {k:>5} {matmul_gflops(t, m, n, k, dev):9.2f}")
    for name in filter(None, a.models.split(",")):
        if name in FAMILIES:
            for batch in FAMILY_BATCHES[name]:
                its = bench_family(name, batch, dev, a.family_seconds)
                print(f"pytorch {name:<6} batch {batch:>4}: {its:8.3f} it/s", flush=True)
            continue
        for batch in map(int, a.batches.split(",")):
            its = bench(name, batch, dev, a.iterations, a.warmup)
            print(f"pytorch {name:<6} batch {batch:>4}: {its:8.1f} it/s", flush=True)


if __name__ == "__main__":
    main()

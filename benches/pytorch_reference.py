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
- cgan, acgan, infogan: the seed MLP's relatives on its schedule (src/train/schedule/recipes.rs,
  `seed_schedule`) and Adam(2e-4, 0.5, 0.999, eps 1e-7), with G's moving average (decay
  min(0.999, (1 + t)/(10 + t)) at G's step t, over its weights and batch-norm running statistics)
  after each G step. Fakes from G in eval mode; a D step on reals; a D step on fakes; two G steps
  through the frozen D (batch norm in training mode), each on fresh noise and labels.
  cgan: G 110-256-512-1024-784 reads [z, one_hot(y)], D 794-512-256-1 reads [x, one_hot(y)], BCE;
  the matching-aware D step (reals with random labels, target fake) between the real and fake
  D steps. acgan: G 110 in ([z, one_hot(y)]), D 784-512-256-11 ([logit, 10 class logits]); BCE
  plus cross-entropy (weight 1) of the class head on reals' labels, fakes' labels, and in G's
  loss. infogan: latent 62, G 74 in ([z, c (2 codes, uniform in [-1, 1)), one_hot(k)]), D
  784-512-256-13 ([logit, Q's 10 categorical logits, Q's 2 code means]); BCE plus the information
  loss (cross-entropy on k + 0.1 MSE on c) in the D step on fakes and in G's loss, none on reals.
- wgan-gp: G 100-256-512-1024-784 and critic 784-512-256-1 (no sigmoid); 5 critic steps per G
  step (src/train/schedule/heads.rs, `wgan_schedule`), each on fresh noise, reals and mixing
  weights: fakes from G in training mode without gradients, -mean(C(real)) + mean(C(fake)) +
  10 mean((|dC/dx| - 1)^2) at t real + (1 - t) fake, the penalty through autograd's double
  backward (parameter gradients only); then a G step on -mean(C(G(z))); Adam(1e-4, 0, 0.9,
  eps 1e-8); G's moving average as above.
  These four run at each --batches size like mlp and dcgan (their recipes' batch: 32; wgan-gp 64).
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


def mlp_g(inputs=100):
    """The seed's G (Keras Dense, LeakyReLU, BatchNormalization(momentum 0.7, eps 1e-3) blocks)."""
    def block(i, o):
        return [nn.Linear(i, o), nn.LeakyReLU(0.2), nn.BatchNorm1d(o, eps=1e-3, momentum=0.3)]

    return nn.Sequential(*block(inputs, 256), *block(256, 512), *block(512, 1024), nn.Linear(1024, 784), nn.Tanh())


def mlp_d(inputs=784, outputs=1):
    """The seed's D: its logit (or critic value) and any extra heads, linear maps of its last layer."""
    return nn.Sequential(
        nn.Linear(inputs, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, outputs))


def mlp_models():
    return mlp_g(), mlp_d()


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


class Ema:
    """G's moving average as `ops::ema_update` keeps it: weights and batch-norm running statistics,
    ema = beta ema + (1 - beta) value with beta = min(decay, (1 + t)/(10 + t)) at G's step t."""

    def __init__(self, g, decay=0.999):
        self.src = [*g.parameters(), *(b for n, b in g.named_buffers() if "running" in n)]
        self.avg = [t.detach().clone() for t in self.src]
        self.decay, self.t = decay, 0

    @torch.no_grad()
    def update(self):
        self.t += 1
        beta = min(self.decay, (1 + self.t) / (10 + self.t))
        torch._foreach_lerp_(self.avg, [t.detach() for t in self.src], 1 - beta)


def frozen(net, frozen=True):
    for p in net.parameters():
        p.requires_grad_(not frozen)


def relative_step(name, batch, dev):
    """One iteration of cgan, acgan or infogan: the seed schedule (see the module docstring)."""
    classes, codes = 10, 2 if name == "infogan" else 0
    latent = 62 if name == "infogan" else 100
    d_in = 784 + (classes if name == "cgan" else 0)
    heads = {"cgan": 0, "acgan": classes, "infogan": classes + codes}[name]
    g, d = mlp_g(latent + codes + classes).to(dev), mlp_d(d_in, 1 + heads).to(dev)
    ema = Ema(g)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    real = torch.rand(10_000, 784, device=dev) * 2 - 1
    real_labels = torch.randint(0, classes, (10_000,), device=dev)
    bce = F.binary_cross_entropy_with_logits

    def one_hot(y):
        return F.one_hot(y, classes).float()

    def draw():
        z = torch.randn(batch, latent, device=dev)
        y = torch.randint(0, classes, (batch,), device=dev)
        c = torch.rand(batch, codes, device=dev) * 2 - 1 if codes else None
        return y, c, torch.cat([z, *([c] if codes else []), one_hot(y)], 1)

    def d_input(x, y):
        return torch.cat([x, one_hot(y)], 1) if name == "cgan" else x

    def loss(out, target, y, c=None):
        """BCE of the logit column, and acgan's class head or, on fakes, infogan's information loss."""
        total = bce(out[:, :1], torch.full((batch, 1), target, device=dev))
        if name == "acgan":
            total = total + F.cross_entropy(out[:, 1:], y)
        elif name == "infogan" and c is not None:
            total = total + F.cross_entropy(out[:, 1:1 + classes], y) + 0.1 * F.mse_loss(out[:, 1 + classes:], c)
        return total

    def step():
        y, c, g_in = draw()
        pick = torch.randint(0, real.shape[0], (batch,), device=dev)
        x, x_y = real[pick], real_labels[pick]
        g.eval()
        with torch.no_grad():
            fake = g(g_in)
        g.train()
        d_steps = [(x, 1.0, x_y, None)]
        if name == "cgan":
            d_steps.append((x, 0.0, torch.randint(0, classes, (batch,), device=dev), None))
        d_steps.append((fake, 0.0, y, c))
        for inp, target, labels, cc in d_steps:
            od.zero_grad()
            loss(d(d_input(inp, labels)), target, labels, cc).backward()
            od.step()
        frozen(d)
        for _ in range(2):
            y, c, g_in = draw()
            og.zero_grad()
            loss(d(d_input(g(g_in), y)), 1.0, y, c).backward()
            og.step()
            ema.update()
        frozen(d, False)

    return step


def wgan_gp_step(batch, dev, critic_steps=5, gp_weight=10.0):
    """One iteration of wgan-gp: 5 critic steps, then a G step (see the module docstring)."""
    g, d = mlp_g().to(dev), mlp_d().to(dev)
    ema = Ema(g)
    og = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.0, 0.9), eps=1e-8)
    od = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.0, 0.9), eps=1e-8)
    d_params = list(d.parameters())
    real = torch.rand(10_000, 784, device=dev) * 2 - 1
    ones = torch.ones(batch, 1, device=dev)

    def step():
        for _ in range(critic_steps):
            x = real[torch.randint(0, real.shape[0], (batch,), device=dev)]
            t = torch.rand(batch, 1, device=dev)
            with torch.no_grad():
                fake = g(torch.randn(batch, 100, device=dev))
            od.zero_grad()
            loss = -d(x).mean() + d(fake).mean()
            mix = (t * x + (1 - t) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(d(mix), mix, ones, create_graph=True)
            norm = (grad.square().sum(1) + 1e-12).sqrt()
            (loss + gp_weight * (norm - 1).square().mean()).backward(inputs=d_params)
            od.step()
        frozen(d)
        og.zero_grad()
        (-d(g(torch.randn(batch, 100, device=dev))).mean()).backward()
        og.step()
        ema.update()
        frozen(d, False)

    return step


# The seed MLP's relatives: name -> step maker (batch, device).
RELATIVES = {
    "cgan": lambda batch, dev: relative_step("cgan", batch, dev),
    "acgan": lambda batch, dev: relative_step("acgan", batch, dev),
    "infogan": lambda batch, dev: relative_step("infogan", batch, dev),
    "wgan-gp": wgan_gp_step,
}


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
    if name in RELATIVES:
        step = RELATIVES[name](batch, dev)
    else:
        g, d = (mlp_models if name == "mlp" else dcgan_models)()
        g, d = g.to(dev), d.to(dev)
        eps = 1e-7 if name == "mlp" else 1e-8
        og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=eps)
        od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=eps)
        real = torch.rand(10_000, 784, device=dev) * 2 - 1
        iteration = mlp_iteration if name == "mlp" else dcgan_iteration

        def step():
            iteration(g, d, og, od, real, batch, dev)
    for _ in range(warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iterations):
        step()
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
                    help="comma-separated (mlp, dcgan, cgan, acgan, infogan, wgan-gp, srgan, cyclegan, "
                         "dvdgan); empty for the matmul table only")
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
        if name not in ("mlp", "dcgan", *RELATIVES, *FAMILIES):
            sys.exit(f"unknown model {name!r}")
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

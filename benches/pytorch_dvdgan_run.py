"""The DVD-GAN recipe of `train --model dvdgan` (its defaults: 32x32 canvas, 8 frames, one digit of
14 px moving 2 px a frame), trained in PyTorch as a reference for what the recipe reaches
(issue 16's identity consistency).

    cargo bench --bench reference -- dvdgan-dump DIR
    python3 benches/pytorch_dvdgan_run.py DIR [SEED] [STEPS]
    cargo bench --bench reference -- dvdgan-score DIR torch_s0_1000.npy

The nets are pytorch_families.py's (ConvGRU G, D_S on 4 random frames, D_T on the clip pooled
2x2, spectral norm on every D weight); weights N(0, 1/fan_in), zero biases. Clips are made as
the engine makes them (each digit box-averaged to 14x14, a uniform start in 1/256 px, a uniform
direction, bouncing: the position clamped and that component flipped) but from PyTorch's
random numbers. Each D step runs real and fake clips through D in one batch, so spectral norm
does one power iteration per D step; G's step runs D in eval mode (the last u and v). Hinge
losses, Adam G 1e-4 and D 4e-4 with betas (0, 0.999), 2 D steps per G step, batch 16, a moving
average of G (0.999, its BN statistics too) for samples. Every 500 iterations it writes 200
clips of the moving average (BN in eval mode) as DIR/torch_s{SEED}_{iteration}.npy.
"""
import math, os, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(__file__))
from pytorch_families import DvdG, DvdDs, DvdDt

d = sys.argv[1].rstrip("/") + "/"
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
batch, frames, size, dsize, speed, ds_frames = 16, 8, 32, 14, 2.0, 4
torch.manual_seed(seed)
raw = torch.from_numpy(np.load(d + "digits.npy")).to(torch.int64)  # (N, 28, 28) bytes
digits = (raw.view(-1, dsize, 2, dsize, 2).sum((2, 4)) + 2) // 4  # 2x2 cells, rounded mean


def clips(n):
    img = digits[torch.randint(0, len(digits), (n,))]
    span = (size - dsize) * 256
    pos = torch.randint(0, span + 1, (n, 2))
    theta = torch.rand(n) * 2 * math.pi
    vel = torch.stack([torch.floor(256 * speed * torch.cos(theta) + 0.5),
                       torch.floor(256 * speed * torch.sin(theta) + 0.5)], 1).to(torch.int64)
    out = torch.zeros(n, frames, size, size, dtype=torch.int64)
    for t in range(frames):
        if t > 0:
            pos = pos + vel
            low, high = pos < 0, pos > span
            pos = pos.clamp(0, span)
            vel = torch.where(low | high, -vel, vel)
        px = ((pos + 128) // 256).tolist()
        for b in range(n):
            x, y = px[b]
            out[b, t, y:y + dsize, x:x + dsize] = torch.maximum(out[b, t, y:y + dsize, x:x + dsize], img[b])
    return ((out.float() - 127.5) / 127.5).unsqueeze(2)  # (n, T, 1, S, S)


g, ds, dt = DvdG(), DvdDs(), DvdDt()
for net in (g, ds, dt):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear)):
            w = getattr(m, "weight_orig", m.weight)
            nn.init.normal_(w, 0.0, (1.0 / w[0].numel()) ** 0.5)
            nn.init.zeros_(m.bias)
ema = DvdG()
ema.load_state_dict(g.state_dict())
og = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.0, 0.999))
od = torch.optim.Adam([*ds.parameters(), *dt.parameters()], lr=4e-4, betas=(0.0, 0.999))


def scores(x):
    n = x.shape[0]
    pick = torch.randint(0, frames, (n, ds_frames))
    chosen = x[torch.arange(n)[:, None], pick].flatten(0, 1)
    return ds(chosen).view(n, ds_frames).sum(1, keepdim=True), dt(x)


fixed = torch.randn(200, 120, generator=torch.Generator().manual_seed(1234))
t0 = time.time()
for it in range(1, steps + 1):
    ds.train(); dt.train()
    for _ in range(2):
        real = clips(batch)
        with torch.no_grad():
            fake = g(torch.randn(batch, 120))
        od.zero_grad()
        s_s, s_t = scores(torch.cat([real, fake]))
        loss = sum(F.relu(1 - s[:batch]).mean() + F.relu(1 + s[batch:]).mean() for s in (s_s, s_t))
        loss.backward()
        od.step()
    ds.eval(); dt.eval()
    for p in (*ds.parameters(), *dt.parameters()):
        p.requires_grad_(False)
    og.zero_grad()
    gl = -sum(s.mean() for s in scores(g(torch.randn(batch, 120))))
    gl.backward()
    og.step()
    for p in (*ds.parameters(), *dt.parameters()):
        p.requires_grad_(True)
    with torch.no_grad():
        src = g.state_dict()
        for k, v in ema.state_dict().items():
            if v.dtype.is_floating_point:
                v.lerp_(src[k], 1 - 0.999)
            else:
                v.copy_(src[k])
    if it % 50 == 0:
        print(f"{it} {time.time() - t0:.0f}s d {loss.item():.3f} g {gl.item():.3f}", flush=True)
    if it % 500 == 0:
        ema.eval()
        with torch.no_grad():
            out = ema(fixed).squeeze(2).numpy().astype(np.float32)
        np.save(d + f"torch_s{seed}_{it}.npy", out)

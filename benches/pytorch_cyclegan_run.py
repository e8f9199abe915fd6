"""The CycleGAN recipe of `train --model cyclegan --batch-size 16 --steps 5000`, trained in PyTorch
on the same split domains, as a reference for what the recipe reaches (issue 15's class kept).

    cargo bench --bench reference -- cyclegan-dump DIR
    python3 benches/pytorch_cyclegan_run.py DIR [SEED]
    cargo bench --bench reference -- cyclegan-score DIR torch_s0_5000.npy

The nets are pytorch_families.py's (ResNet G with ngf 32 and 6 blocks, the 2-layer PatchGAN D),
N(0, 0.02) weights and zero biases; LSGAN losses, cycle 10 and identity 0.5 x 10, both D on
50-image pools of past fakes (per image: while filling, the fake; then with probability 1/2 a
stored one swapped for it); Adam 2e-4 (0.5, 0.999), constant for half the steps then linear to 0;
batches of 16 drawn with replacement. Every 500 iterations it writes G_BA of B's held-out
images as DIR/torch_s{SEED}_{iteration}.npy. Its random draws are PyTorch's, not the engine's.
"""
import sys, time, random
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, __import__("os").path.dirname(__file__))
from pytorch_families import cyclegan_g, cyclegan_d

seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
steps, batch = 5000, 16
torch.manual_seed(seed); random.seed(seed)
d = sys.argv[1].rstrip("/") + "/"
A = torch.from_numpy(np.load(d + "a_train.npy")); B = torch.from_numpy(np.load(d + "b_train.npy"))
HB = torch.from_numpy(np.load(d + "b_held.npy"))
g_ab, g_ba, d_a, d_b = cyclegan_g(), cyclegan_g(), cyclegan_d(), cyclegan_d()
for net in (g_ab, g_ba, d_a, d_b):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02); nn.init.zeros_(m.bias)
og = torch.optim.Adam([*g_ab.parameters(), *g_ba.parameters()], lr=2e-4, betas=(0.5, 0.999))
od = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=2e-4, betas=(0.5, 0.999))
rule = lambda t: 1.0 if t < steps // 2 else max(0.0, (steps - t) / (steps - steps // 2))
sg = torch.optim.lr_scheduler.LambdaLR(og, rule); sd = torch.optim.lr_scheduler.LambdaLR(od, rule)

class Pool:
    def __init__(s): s.imgs = []
    def query(s, x):
        out = []
        for im in x.detach():
            im = im.unsqueeze(0)
            if len(s.imgs) < 50:
                s.imgs.append(im); out.append(im)
            elif random.random() > 0.5:
                i = random.randint(0, 49); out.append(s.imgs[i].clone()); s.imgs[i] = im
            else:
                out.append(im)
        return torch.cat(out)
pa, pb = Pool(), Pool()
mse = lambda x, t: F.mse_loss(x, torch.full_like(x, t))
l1 = F.l1_loss
t0 = time.time()
for it in range(1, steps + 1):
    a = A[torch.randint(0, len(A), (batch,))]; b = B[torch.randint(0, len(B), (batch,))]
    for p in (*d_a.parameters(), *d_b.parameters()): p.requires_grad_(False)
    og.zero_grad()
    fake_b, fake_a = g_ab(a), g_ba(b)
    loss = mse(d_b(fake_b), 1.0) + mse(d_a(fake_a), 1.0)
    loss = loss + 10 * (l1(g_ba(fake_b), a) + l1(g_ab(fake_a), b))
    loss = loss + 5 * (l1(g_ab(b), b) + l1(g_ba(a), a))
    loss.backward(); og.step()
    for p in (*d_a.parameters(), *d_b.parameters()): p.requires_grad_(True)
    od.zero_grad()
    fa, fb = pa.query(fake_a), pb.query(fake_b)
    dl = 0.5 * (mse(d_a(a), 1.0) + mse(d_a(fa), 0.0)) + 0.5 * (mse(d_b(b), 1.0) + mse(d_b(fb), 0.0))
    dl.backward(); od.step(); sg.step(); sd.step()
    if it % 100 == 0:
        print(f"{it} {time.time()-t0:.0f}s g {loss.item():.3f} d {dl.item():.3f}", flush=True)
    if it % 500 == 0:
        with torch.no_grad():
            np.save(d + f"torch_s{seed}_{it}.npy", g_ba(HB).numpy().astype(np.float32))

"""PyTorch eager twins of wgpu-gan's SRGAN, CycleGAN and DVD-GAN recipes at their defaults, for
`pytorch_reference.py`'s iterations/s (the same layers, shapes, losses and step order as the
families in src/train/families/; random data of the same shapes, since data making is a small
part of an iteration on both sides).

- srgan: one GAN iteration at x4 (HR 28x28, LR 7x7 by average pooling, batch 16): SRResNet G
  (width 64, 8 residual blocks, two pixel-shuffle up blocks), the strided D down to 2x2, a D
  step on the mean of both BCE, then a G step on MSE + 1e-3 BCE through the updated D with the
  same SR batch; Adam(1e-4, 0.9, 0.999).
- cyclegan: the ResNet G (ngf 32, 6 blocks, reflection padding, instance norm, transposed convs
  with output padding) both ways and the PatchGAN D (ndf 32) both ways on 28x28; the G step on
  LSGAN + 10 cycle L1 + 5 identity L1 with both D frozen, then the D step on 0.5 (real + fake);
  Adam(2e-4, 0.5, 0.999).
- dvdgan: 16 clips of 8 frames at 32x32; G a linear layer to 4x4x128, a ConvGRU (k3) unrolled
  over the frames, residual up blocks per frame to 16 channels, conv to 1, tanh; D_S on 4 random
  frames, D_T (two 3-D blocks on 2x2-pooled clips, then a 2-D block), spectral norm on every D
  weight, hinge losses, 2 D steps per G step; Adam G 1e-4, D 4e-4, betas (0, 0.999); a moving
  average of G (0.999).
"""
import torch
from torch import nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm


# ---- SRGAN ----


class SrResNet(nn.Module):
    def __init__(self, c=1, w=64, blocks=8, scale=4):
        super().__init__()
        self.conv_in = nn.Conv2d(c, w, 9, padding=4)
        self.act_in = nn.PReLU(w)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w), nn.PReLU(w),
                nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w))
            for _ in range(blocks))
        self.mid = nn.Sequential(nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w))
        ups = []
        for _ in range(scale.bit_length() - 1):
            ups += [nn.Conv2d(w, 4 * w, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(w)]
        self.up = nn.Sequential(*ups)
        self.conv_out = nn.Conv2d(w, c, 9, padding=4)

    def forward(self, x):
        h0 = self.act_in(self.conv_in(x))
        h = h0
        for b in self.blocks:
            h = h + b(h)
        return torch.tanh(self.conv_out(self.up(self.mid(h) + h0)))


def srgan_d(c=1, w=64, side=28):
    layers = [nn.Conv2d(c, w, 3, padding=1), nn.LeakyReLU(0.2)]
    while True:
        layers += [nn.Conv2d(w, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.LeakyReLU(0.2)]
        side = (side + 1) // 2
        if side <= 2:
            break
        layers += [nn.Conv2d(w, 2 * w, 3, padding=1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2)]
        w *= 2
    layers.append(nn.Conv2d(w, 1, 3, padding=1))
    return nn.Sequential(*layers)


def srgan_step(batch, dev):
    g, d = SrResNet().to(dev), srgan_d().to(dev)
    og = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.9, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.9, 0.999))
    real = torch.rand(10_000, 1, 28, 28, device=dev) * 2 - 1
    bce = F.binary_cross_entropy_with_logits

    def step():
        hr = real[torch.randint(0, real.shape[0], (batch,), device=dev)]
        sr = g(F.avg_pool2d(hr, 4))
        od.zero_grad()
        real_logits, fake_logits = d(hr), d(sr.detach())
        d_loss = 0.5 * (bce(real_logits, torch.ones_like(real_logits))
                        + bce(fake_logits, torch.zeros_like(fake_logits)))
        d_loss.backward()
        od.step()
        og.zero_grad()
        logits = d(sr)
        (F.mse_loss(sr, hr) + 1e-3 * bce(logits, torch.ones_like(logits))).backward()
        og.step()

    return step


# ---- CycleGAN ----


def cyclegan_g(c=1, ngf=32, blocks=6):
    def conv_in_relu(i, o, k, s=1, p=0):
        return [nn.Conv2d(i, o, k, s, p), nn.InstanceNorm2d(o), nn.ReLU()]

    class Block(nn.Module):
        def __init__(self, w):
            super().__init__()
            self.body = nn.Sequential(
                nn.ReflectionPad2d(1), *conv_in_relu(w, w, 3),
                nn.ReflectionPad2d(1), nn.Conv2d(w, w, 3), nn.InstanceNorm2d(w))

        def forward(self, x):
            return x + self.body(x)

    layers = [nn.ReflectionPad2d(3), *conv_in_relu(c, ngf, 7)]
    layers += conv_in_relu(ngf, 2 * ngf, 3, 2, 1) + conv_in_relu(2 * ngf, 4 * ngf, 3, 2, 1)
    layers += [Block(4 * ngf) for _ in range(blocks)]
    for i, o in ((4 * ngf, 2 * ngf), (2 * ngf, ngf)):
        layers += [nn.ConvTranspose2d(i, o, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(o), nn.ReLU()]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, c, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def cyclegan_d(c=1, ndf=32):
    return nn.Sequential(
        nn.Conv2d(c, ndf, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, 2 * ndf, 4, 2, 1), nn.InstanceNorm2d(2 * ndf), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * ndf, 4 * ndf, 4, 1, 1), nn.InstanceNorm2d(4 * ndf), nn.LeakyReLU(0.2),
        nn.Conv2d(4 * ndf, 1, 4, 1, 1))


def cyclegan_step(batch, dev):
    g_ab, g_ba, d_a, d_b = (m().to(dev) for m in (cyclegan_g, cyclegan_g, cyclegan_d, cyclegan_d))
    og = torch.optim.Adam([*g_ab.parameters(), *g_ba.parameters()], lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=2e-4, betas=(0.5, 0.999))
    dom_a = torch.rand(10_000, 1, 28, 28, device=dev) * 2 - 1
    dom_b = torch.rand(1_797, 1, 28, 28, device=dev) * 2 - 1
    l1 = F.l1_loss

    def lsgan(logits, target):
        return F.mse_loss(logits, torch.full_like(logits, target))

    def step():
        a = dom_a[torch.randint(0, dom_a.shape[0], (batch,), device=dev)]
        b = dom_b[torch.randint(0, dom_b.shape[0], (batch,), device=dev)]
        for p in (*d_a.parameters(), *d_b.parameters()):
            p.requires_grad_(False)
        og.zero_grad()
        fake_b, fake_a = g_ab(a), g_ba(b)
        loss = lsgan(d_b(fake_b), 1.0) + lsgan(d_a(fake_a), 1.0)
        loss = loss + 10 * (l1(g_ba(fake_b), a) + l1(g_ab(fake_a), b))
        loss = loss + 5 * (l1(g_ab(b), b) + l1(g_ba(a), a))
        loss.backward()
        og.step()
        for p in (*d_a.parameters(), *d_b.parameters()):
            p.requires_grad_(True)
        od.zero_grad()
        d_loss = 0.5 * (lsgan(d_a(a), 1.0) + lsgan(d_a(fake_a.detach()), 0.0))
        d_loss = d_loss + 0.5 * (lsgan(d_b(b), 1.0) + lsgan(d_b(fake_b.detach()), 0.0))
        d_loss.backward()
        od.step()

    return step


# ---- DVD-GAN ----


class ConvGru(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gates = nn.Conv2d(2 * c, 2 * c, 3, padding=1)
        self.cand = nn.Conv2d(2 * c, c, 3, padding=1)

    def forward(self, x, h):
        r, u = torch.sigmoid(self.gates(torch.cat([x, h], 1))).chunk(2, 1)
        c = torch.tanh(self.cand(torch.cat([x, r * h], 1)))
        return u * h + (1 - u) * c


class UpBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(i), nn.Conv2d(i, o, 3, padding=1)
        self.bn2, self.conv2 = nn.BatchNorm2d(o), nn.Conv2d(o, o, 3, padding=1)
        self.skip = nn.Conv2d(i, o, 1)

    def forward(self, x):
        h = self.conv1(F.interpolate(F.relu(self.bn1(x)), scale_factor=2))
        h = self.conv2(F.relu(self.bn2(h)))
        return h + self.skip(F.interpolate(x, scale_factor=2))


class DvdG(nn.Module):
    def __init__(self, latent=120, width=16, frames=8, size=32):
        super().__init__()
        c = 8 * width
        self.frames, self.c = frames, c
        self.fc = nn.Linear(latent, 4 * 4 * c)
        self.gru = ConvGru(c)
        chans = [c]
        while 4 * 2 ** (len(chans) - 1) < size:
            chans.append(chans[-1] // 2)
        self.ups = nn.Sequential(*(UpBlock(i, o) for i, o in zip(chans, chans[1:])))
        self.out = nn.Sequential(nn.BatchNorm2d(chans[-1]), nn.ReLU(), nn.Conv2d(chans[-1], 1, 3, padding=1), nn.Tanh())

    def forward(self, z):
        x = self.fc(z).view(-1, self.c, 4, 4)
        h, states = torch.zeros_like(x), []
        for _ in range(self.frames):
            h = self.gru(x, h)
            states.append(h)
        y = self.out(self.ups(torch.stack(states, 1).flatten(0, 1)))
        return y.view(z.shape[0], self.frames, 1, *y.shape[-2:])


class DownBlock(nn.Module):
    def __init__(self, i, o, first, conv=nn.Conv2d, pool=F.avg_pool2d):
        super().__init__()
        self.first, self.pool = first, pool
        self.conv1 = spectral_norm(conv(i, o, 3, padding=1))
        self.conv2 = spectral_norm(conv(o, o, 3, padding=1))
        self.skip = spectral_norm(conv(i, o, 1))

    def forward(self, x):
        h = x if self.first else F.relu(x)
        h = self.pool(self.conv2(F.relu(self.conv1(h))), 2)
        return h + self.pool(self.skip(x), 2)


class DvdDs(nn.Module):
    def __init__(self, width=16, size=32):
        super().__init__()
        chans, side = [1, width], size // 2
        while side > 4:
            chans.append(2 * chans[-1])
            side //= 2
        self.blocks = nn.Sequential(*(DownBlock(i, o, k == 0) for k, (i, o) in enumerate(zip(chans, chans[1:]))))
        self.fc = spectral_norm(nn.Linear(chans[-1], 1))

    def forward(self, frames):
        return self.fc(F.relu(self.blocks(frames)).sum((2, 3)))


class DvdDt(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.b3 = nn.Sequential(
            DownBlock(1, width, True, nn.Conv3d, F.avg_pool3d),
            DownBlock(width, 2 * width, False, nn.Conv3d, F.avg_pool3d))
        self.b2 = DownBlock(2 * width, 4 * width, False)
        self.fc = spectral_norm(nn.Linear(4 * width, 1))

    def forward(self, clips):
        x = F.avg_pool2d(clips.flatten(0, 1), 2).view(clips.shape[0], clips.shape[1], 1, clips.shape[3] // 2, -1)
        h = self.b3(x.transpose(1, 2))
        h = self.b2(h.transpose(1, 2).flatten(0, 1))
        return self.fc(F.relu(h).sum((2, 3))).view(clips.shape[0], -1).sum(1, keepdim=True)


def dvdgan_step(batch, dev, frames=8, ds_frames=4):
    g, ds, dt = DvdG().to(dev), DvdDs().to(dev), DvdDt().to(dev)
    ema = [p.detach().clone() for p in g.parameters()]
    og = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.0, 0.999))
    od = torch.optim.Adam([*ds.parameters(), *dt.parameters()], lr=4e-4, betas=(0.0, 0.999))
    real = torch.rand(batch * 8, frames, 1, 32, 32, device=dev) * 2 - 1

    def scores(clips):
        pick = torch.randint(0, frames, (clips.shape[0], ds_frames), device=dev)
        chosen = clips[torch.arange(clips.shape[0], device=dev)[:, None], pick].flatten(0, 1)
        s = ds(chosen).view(clips.shape[0], ds_frames).sum(1, keepdim=True)
        return s, dt(clips)

    def step():
        for _ in range(2):
            x = real[torch.randint(0, real.shape[0], (batch,), device=dev)]
            with torch.no_grad():
                fake = g(torch.randn(batch, 120, device=dev))
            od.zero_grad()
            loss = sum(F.relu(1 - s).mean() for s in scores(x)) + sum(F.relu(1 + s).mean() for s in scores(fake))
            loss.backward()
            od.step()
        for p in (*ds.parameters(), *dt.parameters()):
            p.requires_grad_(False)
        og.zero_grad()
        (-sum(s.mean() for s in scores(g(torch.randn(batch, 120, device=dev))))).backward()
        og.step()
        for p in (*ds.parameters(), *dt.parameters()):
            p.requires_grad_(True)
        with torch.no_grad():
            torch._foreach_lerp_(ema, [p.detach() for p in g.parameters()], 1 - 0.999)

    return step


# name -> (step maker, default batch)
FAMILIES = {
    "srgan": (srgan_step, 16),
    "cyclegan": (cyclegan_step, 1),
    "dvdgan": (dvdgan_step, 16),
}

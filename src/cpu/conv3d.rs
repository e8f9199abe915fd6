//! CPU twins of `shaders/conv3d.wgsl`: the reshapes that lower `nn.Conv3d` to the engine's
//! matmul. x is (N, C_in, T, H, W), w (C_out, C_in, K, K, K), y (N, C_out, T_out, H_out, W_out),
//! all row-major; K3 = C_in·K³, P = T_out·H_out·W_out, cols (K3, N·P). Each twin computes every
//! element as the shader does, terms in the same (kt, ky, kx) order, so they agree bit for bit.

use super::conv2d::{numel, tap_range, Conv2dGeometry, MAX_SPATIAL};
use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in conv3d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Conv3dParams {
    pub n: u32,
    pub c_in: u32,
    pub t: u32,
    pub h: u32,
    pub w: u32,
    pub c_out: u32,
    pub t_out: u32,
    pub h_out: u32,
    pub w_out: u32,
    pub k: u32,
    pub stride: u32,
    pub pad: u32,
    pub flags: u32,
    pub pad0: u32,
    pub pad1: u32,
    pub pad2: u32,
}

/// col2im3d adds `bias[ci]`.
pub const HAS_BIAS: u32 = 1;

/// Shape of a `torch.nn.Conv3d(c_in, c_out, k, stride, pad)` (the same on every axis) applied to
/// (n, c_in, t, h, w).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv3dGeometry {
    pub n: usize,
    pub c_in: usize,
    pub t: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

fn out_size(size: usize, k: usize, stride: usize, pad: usize) -> usize {
    (size + 2 * pad)
        .checked_sub(k)
        .and_then(|d| d.checked_div(stride))
        .map_or(0, |q| q + 1)
}

impl Conv3dGeometry {
    pub fn out_t(&self) -> usize {
        out_size(self.t, self.k, self.stride, self.pad)
    }

    pub fn out_h(&self) -> usize {
        out_size(self.h, self.k, self.stride, self.pad)
    }

    pub fn out_w(&self) -> usize {
        out_size(self.w, self.k, self.stride, self.pad)
    }

    /// Output positions per sample: T_out·H_out·W_out.
    pub fn plane(&self) -> usize {
        numel(&[self.out_t(), self.out_h(), self.out_w()])
    }

    pub fn x_len(&self) -> usize {
        numel(&[self.n, self.c_in, self.t, self.h, self.w])
    }

    pub fn w_len(&self) -> usize {
        numel(&[self.c_out, self.c_in, self.k, self.k, self.k])
    }

    pub fn y_len(&self) -> usize {
        numel(&[self.n, self.c_out, self.plane()])
    }

    /// (K3, N·P): the shape of cols.
    pub fn cols_shape(&self) -> (usize, usize) {
        (
            numel(&[self.c_in, self.k, self.k, self.k]),
            numel(&[self.n, self.plane()]),
        )
    }

    /// The conv2d geometry whose output has y's layout, (N, C_out, T_out·H_out, W_out): the
    /// channel transposes and the bias gradient of conv2d serve conv3d through it.
    pub fn flat_output(&self) -> Conv2dGeometry {
        Conv2dGeometry {
            n: self.n,
            c_in: 1,
            h: self.out_t() * self.out_h(),
            w: self.out_w(),
            c_out: self.c_out,
            kh: 1,
            kw: 1,
            stride: 1,
            pad: 0,
        }
    }

    pub fn params(&self, flags: u32) -> Conv3dParams {
        Conv3dParams {
            n: self.n as u32,
            c_in: self.c_in as u32,
            t: self.t as u32,
            h: self.h as u32,
            w: self.w as u32,
            c_out: self.c_out as u32,
            t_out: self.out_t() as u32,
            h_out: self.out_h() as u32,
            w_out: self.out_w() as u32,
            k: self.k as u32,
            stride: self.stride as u32,
            pad: self.pad as u32,
            flags,
            ..Default::default()
        }
    }

    /// Why this geometry cannot run, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        let (t, h, w, k, s, p) = (self.t, self.h, self.w, self.k, self.stride, self.pad);
        if [self.n, self.c_in, self.c_out, t, h, w, k, s].contains(&0) {
            return Err(format!(
                "batch, channels, sizes {t}x{h}x{w}, kernel {k} and stride {s} must be at least 1"
            ));
        }
        if [t, h, w, k, s, p].iter().any(|&d| d > MAX_SPATIAL) {
            return Err(format!(
                "sizes {t}x{h}x{w}, kernel {k}, stride {s}, padding {p}: each must be at most \
                 {MAX_SPATIAL}"
            ));
        }
        if self.plane() == 0 {
            return Err(format!(
                "kernel {k} with stride {s} and padding {p} leaves no output for a {t}x{h}x{w} input"
            ));
        }
        let (k3, np) = self.cols_shape();
        let lens = [
            self.x_len(),
            self.w_len(),
            self.y_len(),
            k3.saturating_mul(np),
        ];
        if lens.iter().any(|&l| l > i32::MAX as usize) {
            return Err(format!("tensor lengths {lens:?} exceed {}", i32::MAX));
        }
        Ok(())
    }
}

/// cols (K3, N·P) = the patches of x: cols[(ci, kt, ky, kx), (b, ot, oy, ox)] =
/// x[b, ci, ot·s + kt - pad, oy·s + ky - pad, ox·s + kx - pad], 0 in the padding.
pub fn im2col3d(p: &Conv3dParams, x: &[f32], cols: &mut [f32]) {
    let [n, c_in, t, h, w, k, s, pad] =
        [p.n, p.c_in, p.t, p.h, p.w, p.k, p.stride, p.pad].map(|v| v as usize);
    let (to, ho, wo) = (p.t_out as usize, p.h_out as usize, p.w_out as usize);
    let (frame, plane) = (ho * wo, to * ho * wo);
    let (taps, np) = (k * k * k, n * plane);
    let cols = &mut cols[..c_in * taps * np];
    // Row by row (one tap of one channel), on every core; each row is written as contiguous
    // runs of ox, so the values equal `source`'s element by element.
    par::rows(cols, np, |r, row| {
        let (ci, tap) = (r / taps, r % taps);
        let (kt, ky, kx) = (tap / (k * k), (tap / k) % k, tap % k);
        let (ot_lo, ot_hi) = tap_range(kt, pad, s, t, to);
        let (oy_lo, oy_hi) = tap_range(ky, pad, s, h, ho);
        let (ox_lo, ox_hi) = tap_range(kx, pad, s, w, wo);
        for (b, out) in row.chunks_exact_mut(plane).enumerate() {
            let x_c = &x[(b * c_in + ci) * t * h * w..][..t * h * w];
            for (ot, f) in out.chunks_exact_mut(frame).enumerate() {
                if ot < ot_lo || ot >= ot_hi {
                    f.fill(0.0);
                    continue;
                }
                let x_f = &x_c[(ot * s + kt - pad) * h * w..][..h * w];
                for (oy, seg) in f.chunks_exact_mut(wo).enumerate() {
                    if oy < oy_lo || oy >= oy_hi || ox_lo == ox_hi {
                        seg.fill(0.0);
                        continue;
                    }
                    let x_row = &x_f[(oy * s + ky - pad) * w + ox_lo * s + kx - pad..];
                    seg[..ox_lo].fill(0.0);
                    seg[ox_hi..].fill(0.0);
                    let seg = &mut seg[ox_lo..ox_hi];
                    if s == 1 {
                        seg.copy_from_slice(&x_row[..seg.len()]);
                    } else {
                        for (c, xv) in seg.iter_mut().zip(x_row.iter().step_by(s)) {
                            *c = *xv;
                        }
                    }
                }
            }
        }
    });
}

/// x (N, C_in, T, H, W) = col2im3d(cols) (+ bias[ci]): the adjoint of im2col3d; each element
/// sums the cols entries it was copied to, taps in (kt, ky, kx) order.
pub fn col2im3d(p: &Conv3dParams, cols: &[f32], bias: &[f32], x: &mut [f32]) {
    let (t, h, w, k) = (p.t, p.h, p.w, p.k);
    let plane = p.t_out * p.h_out * p.w_out;
    let np = (p.n * plane) as usize;
    let volume = (t * h * w) as usize;
    let len = p.n as usize * p.c_in as usize * volume;
    // One (sample, channel) volume per task, on every core. Each tap's row of cols is added
    // onto the positions it was copied from, taps in (kt, ky, kx) order: each element gets its
    // terms in the order the shader gathers them, from 0.
    let (s, pad, (to, ho, wo)) = (
        p.stride as usize,
        p.pad as usize,
        (p.t_out, p.h_out, p.w_out),
    );
    let (to, ho, wo) = (to as usize, ho as usize, wo as usize);
    let (t, h, w, k) = (t as usize, h as usize, w as usize, k as usize);
    let plane = plane as usize;
    par::rows(&mut x[..len], volume, |i, vol| {
        let (ci, b) = (i % p.c_in as usize, i / p.c_in as usize);
        vol.fill(0.0);
        for kt in 0..k {
            let (ot_lo, ot_hi) = tap_range(kt, pad, s, t, to);
            for ky in 0..k {
                let (oy_lo, oy_hi) = tap_range(ky, pad, s, h, ho);
                for kx in 0..k {
                    let (ox_lo, ox_hi) = tap_range(kx, pad, s, w, wo);
                    if ox_lo >= ox_hi {
                        continue;
                    }
                    let row = ((ci * k + kt) * k + ky) * k + kx;
                    let cols_b = &cols[row * np + b * plane..][..plane];
                    for ot in ot_lo..ot_hi {
                        let it = ot * s + kt - pad;
                        for oy in oy_lo..oy_hi {
                            let iy = oy * s + ky - pad;
                            let src = &cols_b[(ot * ho + oy) * wo..][ox_lo..ox_hi];
                            let dst = &mut vol[(it * h + iy) * w + ox_lo * s + kx - pad..];
                            if s == 1 {
                                dst.iter_mut().zip(src).for_each(|(v, c)| *v += c);
                            } else {
                                dst.iter_mut()
                                    .step_by(s)
                                    .zip(src)
                                    .for_each(|(v, c)| *v += c);
                            }
                        }
                    }
                }
            }
        }
        if p.flags & HAS_BIAS != 0 {
            let bv = bias[ci];
            vol.iter_mut().for_each(|v| *v += bv);
        }
    });
}

pub fn im2col3d_op(words: &[u32], io: &mut CpuIo) {
    let cols = io.f32_mut(1);
    im2col3d(&params(words), io.f32(0), cols);
}

pub fn col2im3d_op(words: &[u32], io: &mut CpuIo) {
    let x = io.f32_mut(2);
    col2im3d(&params(words), io.f32(0), io.f32(1), x);
}

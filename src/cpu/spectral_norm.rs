//! CPU twins of `shaders/spectral_norm.wgsl`: one power iteration, W / sigma, and the gradient
//! through sigma. W is (rows, cols) row-major. The reductions split their terms over 64 lanes and
//! sum the lanes in order, as the shader's single workgroup does.

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in spectral_norm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct SpectralNormParams {
    pub rows: u32,
    pub cols: u32,
    pub flags: u32,
    pub eps: f32,
}

/// spectral_norm_backward adds to dw.
pub const ACCUMULATE: u32 = 1;
/// torch.nn.utils.spectral_norm's default.
pub const EPS: f32 = 1e-12;
const LANES: usize = 64;

/// Σ f(k) for k in 0..len: lane l sums k = l, l + 64, ... in order, then the lanes in order.
fn lane_sum(len: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut total = 0.0f32;
    for lane in 0..LANES {
        let mut s = 0.0f32;
        for k in (lane..len).step_by(LANES) {
            s += f(k);
        }
        total += s;
    }
    total
}

/// v = normalize(Wᵀ u), u = normalize(W v), sigma = uᵀ W v.
pub fn spectral_norm_power(
    p: &SpectralNormParams,
    w: &[f32],
    u: &mut [f32],
    v: &mut [f32],
    sigma: &mut [f32],
) {
    let (rows, cols) = (p.rows as usize, p.cols as usize);
    for (j, vj) in v[..cols].iter_mut().enumerate() {
        let mut acc = 0.0f32;
        for (i, &ui) in u[..rows].iter().enumerate() {
            acc += w[i * cols + j] * ui;
        }
        *vj = acc;
    }
    let nv = lane_sum(cols, |j| v[j] * v[j]).sqrt().max(p.eps);
    v[..cols].iter_mut().for_each(|x| *x /= nv);
    for (i, ui) in u[..rows].iter_mut().enumerate() {
        let row = &w[i * cols..][..cols];
        let mut acc = 0.0f32;
        for (&wij, &vj) in row.iter().zip(&v[..cols]) {
            acc += wij * vj;
        }
        *ui = acc;
    }
    let nu = lane_sum(rows, |i| u[i] * u[i]).sqrt().max(p.eps);
    let raw: Vec<f32> = u[..rows].to_vec();
    u[..rows].iter_mut().for_each(|x| *x /= nu);
    sigma[0] = lane_sum(rows, |i| u[i] * raw[i]);
}

/// sigma = uᵀ W v without an iteration, summed as `spectral_norm_power` sums it.
pub fn spectral_norm_sigma(
    p: &SpectralNormParams,
    w: &[f32],
    (u, v): (&[f32], &[f32]),
    sigma: &mut [f32],
) {
    let cols = p.cols as usize;
    let wv = |i: usize| {
        let mut acc = 0.0f32;
        for (&wij, &vj) in w[i * cols..][..cols].iter().zip(&v[..cols]) {
            acc += wij * vj;
        }
        acc
    };
    sigma[0] = lane_sum(p.rows as usize, |i| u[i] * wv(i));
}

/// w_sn = W / sigma.
pub fn spectral_norm_scale(p: &SpectralNormParams, w: &[f32], sigma: &[f32], w_sn: &mut [f32]) {
    let n = (p.rows * p.cols) as usize;
    for (o, &x) in w_sn[..n].iter_mut().zip(&w[..n]) {
        *o = x / sigma[0];
    }
}

/// dw (+)= g / sigma - (Σ g·W) / sigma² · u vᵀ.
pub fn spectral_norm_backward(
    p: &SpectralNormParams,
    (w, u, v, sigma): (&[f32], &[f32], &[f32], &[f32]),
    g: &[f32],
    dw: &mut [f32],
) {
    let (cols, len) = (p.cols as usize, (p.rows * p.cols) as usize);
    let sg = sigma[0];
    let c = lane_sum(len, |k| g[k] * w[k]) / (sg * sg);
    for (k, d) in dw[..len].iter_mut().enumerate() {
        let grad = g[k] / sg - c * u[k / cols] * v[k % cols];
        *d = if p.flags & ACCUMULATE != 0 {
            grad + *d
        } else {
            grad
        };
    }
}

/// Bindings W(1) u(2) -> u(2) v(3) sigma(4); u is bound once, as a write.
pub fn spectral_norm_power_op(words: &[u32], io: &mut CpuIo) {
    let (u, v, sigma) = (io.f32_mut(1), io.f32_mut(2), io.f32_mut(3));
    spectral_norm_power(&params(words), io.f32(0), u, v, sigma);
}

/// Bindings W(1) u(7) v(8) -> sigma(4).
pub fn spectral_norm_sigma_op(words: &[u32], io: &mut CpuIo) {
    let sigma = io.f32_mut(3);
    spectral_norm_sigma(&params(words), io.f32(0), (io.f32(1), io.f32(2)), sigma);
}

pub fn spectral_norm_scale_op(words: &[u32], io: &mut CpuIo) {
    let w_sn = io.f32_mut(2);
    spectral_norm_scale(&params(words), io.f32(0), io.f32(1), w_sn);
}

/// Bindings W(1) u(7) v(8) sigma(5) g(9) -> dw(6).
pub fn spectral_norm_backward_op(words: &[u32], io: &mut CpuIo) {
    let dw = io.f32_mut(5);
    let ins = (io.f32(0), io.f32(1), io.f32(2), io.f32(3));
    spectral_norm_backward(&params(words), ins, io.f32(4), dw);
}

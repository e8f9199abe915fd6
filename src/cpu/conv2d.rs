//! CPU twins of `shaders/conv2d.wgsl`. x is (N, C_in, H, W), w (C_out, C_in, KH, KW), y
//! (N, C_out, H_out, W_out), all NCHW row-major. Every output sums its terms in the shader's order
//! (forward ci, ky, kx; input grad co, ky, kx; weight grad b, oy, ox), but the loops are turned
//! inside out so that the innermost one walks a contiguous row: these twins are also the
//! `--device cpu` training path.

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in conv2d.wgsl and conv_transpose2d.wgsl. Each op reads the fields in its own
/// sense: x is (n, c_in, h, w) and y is (n, c_out, h_out, w_out).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ConvParams {
    pub n: u32,
    pub c_in: u32,
    pub h: u32,
    pub w: u32,
    pub c_out: u32,
    pub h_out: u32,
    pub w_out: u32,
    pub kh: u32,
    pub kw: u32,
    pub stride: u32,
    pub pad: u32,
    pub flags: u32,
}

/// The forward passes add `bias[c_out]`.
pub const HAS_BIAS: u32 = 1;
/// Weight and bias gradients are added to the output instead of replacing it.
pub const ACCUMULATE: u32 = 2;

/// Spatial sizes, kernel, stride and padding stay below this so that the shaders' u32 and i32
/// index arithmetic cannot overflow.
pub const MAX_SPATIAL: usize = 1 << 15;

/// Shape of a `torch.nn.Conv2d(c_in, c_out, (kh, kw), stride, pad)` applied to (n, c_in, h, w).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2dGeometry {
    /// (h + 2 pad - kh) / stride + 1, or 0 when the kernel does not fit or stride is 0.
    pub fn out_h(&self) -> usize {
        conv_out(self.h, self.kh, self.stride, self.pad)
    }

    pub fn out_w(&self) -> usize {
        conv_out(self.w, self.kw, self.stride, self.pad)
    }

    pub fn x_len(&self) -> usize {
        numel(&[self.n, self.c_in, self.h, self.w])
    }

    pub fn w_len(&self) -> usize {
        numel(&[self.c_out, self.c_in, self.kh, self.kw])
    }

    pub fn y_len(&self) -> usize {
        numel(&[self.n, self.c_out, self.out_h(), self.out_w()])
    }

    pub fn params(&self, flags: u32) -> ConvParams {
        ConvParams {
            n: self.n as u32,
            c_in: self.c_in as u32,
            h: self.h as u32,
            w: self.w as u32,
            c_out: self.c_out as u32,
            h_out: self.out_h() as u32,
            w_out: self.out_w() as u32,
            kh: self.kh as u32,
            kw: self.kw as u32,
            stride: self.stride as u32,
            pad: self.pad as u32,
            flags,
        }
    }

    /// Why this geometry cannot run, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        let extent = self
            .h
            .max(self.w)
            .saturating_add(self.pad.saturating_mul(2));
        validate_geometry(
            [self.h, self.w, self.kh, self.kw, self.stride, self.pad],
            extent,
            (self.out_h(), self.out_w()),
            [self.x_len(), self.w_len(), self.y_len()],
        )
    }
}

fn conv_out(size: usize, k: usize, stride: usize, pad: usize) -> usize {
    size.saturating_add(pad.saturating_mul(2))
        .checked_sub(k)
        .and_then(|d| d.checked_div(stride))
        .map_or(0, |q| q + 1)
}

/// Product of `dims`, saturating (an absurd size then fails validation instead of wrapping).
pub(crate) fn numel(dims: &[usize]) -> usize {
    dims.iter().fold(1usize, |a, &d| a.saturating_mul(d))
}

/// Shared by both conv geometries: `spatial` is [h, w, kh, kw, stride, pad], `extent` the largest
/// padded (or transposed) extent the shader walks, `lens` the x, w and y lengths.
pub(crate) fn validate_geometry(
    spatial: [usize; 6],
    extent: usize,
    (out_h, out_w): (usize, usize),
    lens: [usize; 3],
) -> Result<(), String> {
    let [h, w, kh, kw, stride, pad] = spatial;
    if stride == 0 || kh == 0 || kw == 0 || h == 0 || w == 0 {
        return Err(format!(
            "stride {stride}, kernel {kh}x{kw} and input {h}x{w} must be at least 1"
        ));
    }
    if spatial.iter().any(|&d| d > MAX_SPATIAL) || extent > i32::MAX as usize / 2 {
        return Err(format!(
            "sizes {h}x{w}, kernel {kh}x{kw}, stride {stride}, padding {pad}: each must be at \
             most {MAX_SPATIAL}"
        ));
    }
    if out_h == 0 || out_w == 0 {
        return Err(format!(
            "kernel {kh}x{kw} with stride {stride} and padding {pad} leaves no output for a \
             {h}x{w} input"
        ));
    }
    if lens.iter().any(|&l| l > i32::MAX as usize) {
        return Err(format!("tensor lengths {lens:?} exceed {}", i32::MAX));
    }
    Ok(())
}

/// Output positions o in [lo, hi) whose tap k lands inside the input: 0 <= o*stride + k - pad < size.
pub(super) fn tap_range(
    k: usize,
    pad: usize,
    stride: usize,
    size: usize,
    out: usize,
) -> (usize, usize) {
    let lo = if k >= pad {
        0
    } else {
        (pad - k).div_ceil(stride)
    };
    let hi = if size + pad > k {
        ((size + pad - k - 1) / stride + 1).min(out)
    } else {
        0
    };
    (lo.min(out), hi.max(lo.min(out)))
}

/// The usize copies of the params that every loop below needs.
#[derive(Clone, Copy)]
pub(super) struct Dims {
    pub(super) n: usize,
    pub(super) c_in: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) c_out: usize,
    pub(super) oh: usize,
    pub(super) ow: usize,
    pub(super) kh: usize,
    pub(super) kw: usize,
    pub(super) s: usize,
    pub(super) pad: usize,
}

impl Dims {
    pub(super) fn of(p: &ConvParams) -> Self {
        Self {
            n: p.n as usize,
            c_in: p.c_in as usize,
            h: p.h as usize,
            w: p.w as usize,
            c_out: p.c_out as usize,
            oh: p.h_out as usize,
            ow: p.w_out as usize,
            kh: p.kh as usize,
            kw: p.kw as usize,
            s: p.stride as usize,
            pad: p.pad as usize,
        }
    }

    fn rows(&self, ky: usize) -> (usize, usize) {
        tap_range(ky, self.pad, self.s, self.h, self.oh)
    }

    fn cols(&self, kx: usize) -> (usize, usize) {
        tap_range(kx, self.pad, self.s, self.w, self.ow)
    }
}

/// Runs `f(index, chunk)` over the first `count` chunks of `out`, on every core when `work`
/// multiply-adds pay for it (`par::chunks`: each chunk is computed whole by one thread, so results
/// do not depend on the thread count).
fn for_each_chunk<F>(out: &mut [f32], chunk: usize, count: usize, work: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let size = chunk.max(1);
    par::chunks(&mut out[..chunk * count], size, work, |first, c| {
        f(first / size, c)
    });
}

/// y = conv2d(x, w) (+ bias). Each y plane collects its terms tap by tap.
pub fn conv2d_forward(p: &ConvParams, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let d = Dims::of(p);
    let (x_plane, y_plane, taps) = (d.h * d.w, d.oh * d.ow, d.kh * d.kw);
    let work = d.n * d.c_out * y_plane * d.c_in * taps;
    for_each_chunk(y, y_plane, d.n * d.c_out, work, |plane, y_p| {
        let (b, co) = (plane / d.c_out, plane % d.c_out);
        y_p.fill(0.0);
        for ci in 0..d.c_in {
            let x_p = &x[(b * d.c_in + ci) * x_plane..][..x_plane];
            let w_k = &w[(co * d.c_in + ci) * taps..][..taps];
            for ky in 0..d.kh {
                let (oy_lo, oy_hi) = d.rows(ky);
                for kx in 0..d.kw {
                    let (ox_lo, ox_hi) = d.cols(kx);
                    if ox_lo == ox_hi {
                        continue;
                    }
                    let wv = w_k[ky * d.kw + kx];
                    for oy in oy_lo..oy_hi {
                        let iy = oy * d.s + ky - d.pad;
                        let x_row = &x_p[iy * d.w + ox_lo * d.s + kx - d.pad..];
                        let y_row = &mut y_p[oy * d.ow + ox_lo..oy * d.ow + ox_hi];
                        for (yv, xv) in y_row.iter_mut().zip(x_row.iter().step_by(d.s)) {
                            *yv += xv * wv;
                        }
                    }
                }
            }
        }
        if p.flags & HAS_BIAS != 0 {
            let bv = bias[co];
            y_p.iter_mut().for_each(|v| *v += bv);
        }
    });
}

/// dx = the gradient of conv2d wrt x: each dy row scatters back through every tap.
pub fn conv2d_input_grad(p: &ConvParams, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let d = Dims::of(p);
    let (x_plane, y_plane, taps) = (d.h * d.w, d.oh * d.ow, d.kh * d.kw);
    let work = d.n * d.c_out * y_plane * d.c_in * taps;
    for_each_chunk(dx, x_plane, d.n * d.c_in, work, |plane, dx_p| {
        let (b, ci) = (plane / d.c_in, plane % d.c_in);
        dx_p.fill(0.0);
        for co in 0..d.c_out {
            let dy_p = &dy[(b * d.c_out + co) * y_plane..][..y_plane];
            let w_k = &w[(co * d.c_in + ci) * taps..][..taps];
            for ky in 0..d.kh {
                let (oy_lo, oy_hi) = d.rows(ky);
                for kx in 0..d.kw {
                    let (ox_lo, ox_hi) = d.cols(kx);
                    if ox_lo == ox_hi {
                        continue;
                    }
                    let wv = w_k[ky * d.kw + kx];
                    for oy in oy_lo..oy_hi {
                        let iy = oy * d.s + ky - d.pad;
                        let dx_row = &mut dx_p[iy * d.w + ox_lo * d.s + kx - d.pad..];
                        let dy_row = &dy_p[oy * d.ow + ox_lo..oy * d.ow + ox_hi];
                        for (g, dyv) in dx_row.iter_mut().step_by(d.s).zip(dy_row) {
                            *g += dyv * wv;
                        }
                    }
                }
            }
        }
    });
}

/// dw (+)= the gradient of conv2d wrt w: one dot product over (b, oy, ox) per weight.
pub fn conv2d_weight_grad(p: &ConvParams, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    let d = Dims::of(p);
    let (x_plane, y_plane, taps) = (d.h * d.w, d.oh * d.ow, d.kh * d.kw);
    let accumulate = p.flags & ACCUMULATE != 0;
    let work = d.n * d.c_out * y_plane * d.c_in * taps;
    for_each_chunk(dw, taps, d.c_out * d.c_in, work, |pair, dw_k| {
        let (co, ci) = (pair / d.c_in, pair % d.c_in);
        for ky in 0..d.kh {
            let (oy_lo, oy_hi) = d.rows(ky);
            for kx in 0..d.kw {
                let (ox_lo, ox_hi) = d.cols(kx);
                let mut acc = 0.0f32;
                for b in (0..d.n).filter(|_| ox_lo < ox_hi) {
                    let x_p = &x[(b * d.c_in + ci) * x_plane..][..x_plane];
                    let dy_p = &dy[(b * d.c_out + co) * y_plane..][..y_plane];
                    for oy in oy_lo..oy_hi {
                        let iy = oy * d.s + ky - d.pad;
                        let x_row = &x_p[iy * d.w + ox_lo * d.s + kx - d.pad..];
                        let dy_row = &dy_p[oy * d.ow + ox_lo..oy * d.ow + ox_hi];
                        for (dyv, xv) in dy_row.iter().zip(x_row.iter().step_by(d.s)) {
                            acc += dyv * xv;
                        }
                    }
                }
                let o = &mut dw_k[ky * d.kw + kx];
                *o = if accumulate { acc + *o } else { acc };
            }
        }
    });
}

/// db (+)= dy summed over (N, H_out, W_out): the bias gradient of conv2d and conv_transpose2d.
pub fn conv2d_bias_grad(p: &ConvParams, dy: &[f32], db: &mut [f32]) {
    let (n, c_out) = (p.n as usize, p.c_out as usize);
    let plane = (p.h_out * p.w_out) as usize;
    let work = n * c_out * plane;
    par::chunks(
        &mut db[..c_out],
        par::per_thread(c_out),
        work,
        |first, chunk| {
            for (co, o) in (first..).zip(chunk.iter_mut()) {
                let mut acc = 0.0f32;
                for b in 0..n {
                    for v in &dy[(b * c_out + co) * plane..][..plane] {
                        acc += v;
                    }
                }
                *o = if p.flags & ACCUMULATE != 0 {
                    acc + *o
                } else {
                    acc
                };
            }
        },
    );
}

pub fn conv2d_forward_op(words: &[u32], io: &mut CpuIo) {
    let y = io.f32_mut(3);
    conv2d_forward(&params(words), io.f32(0), io.f32(1), io.f32(2), y);
}

pub fn conv2d_input_grad_op(words: &[u32], io: &mut CpuIo) {
    let dx = io.f32_mut(2);
    conv2d_input_grad(&params(words), io.f32(0), io.f32(1), dx);
}

pub fn conv2d_weight_grad_op(words: &[u32], io: &mut CpuIo) {
    let dw = io.f32_mut(2);
    conv2d_weight_grad(&params(words), io.f32(0), io.f32(1), dw);
}

pub fn conv2d_bias_grad_op(words: &[u32], io: &mut CpuIo) {
    let db = io.f32_mut(1);
    conv2d_bias_grad(&params(words), io.f32(0), db);
}

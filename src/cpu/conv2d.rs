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
    let (y_plane, taps) = (d.oh * d.ow, d.kh * d.kw);
    let work = d.n * d.c_out * y_plane * d.c_in * taps;
    let simd = wide();
    for_each_chunk(y, y_plane, d.n * d.c_out, work, |plane, y_p| {
        let bias = (p.flags & HAS_BIAS != 0).then(|| bias[plane % d.c_out]);
        #[cfg(target_arch = "x86_64")]
        if simd && d.s == 1 {
            // SAFETY: `wide` found AVX-512F on this CPU.
            return unsafe { x86::forward_plane_s1(&d, x, w, bias, plane, y_p) };
        } else if simd {
            // SAFETY: as above.
            return unsafe { x86::forward_plane(&d, x, w, bias, plane, y_p) };
        }
        let _ = simd;
        forward_plane(&d, x, w, bias, plane, y_p);
    });
}

/// Lanes of the 16 columns from `c0` that lie in lo..hi, as an AVX-512 mask.
#[cfg(target_arch = "x86_64")]
pub(super) fn lane_mask(c0: usize, (lo, hi): (usize, usize)) -> u16 {
    (0..16)
        .filter(|&l| lo <= c0 + l && c0 + l < hi)
        .fold(0, |m, l| m | 1 << l)
}

/// Whether the direct twins (and im2col) run their loops compiled for AVX-512 (the same
/// operations in the same order, in wider vectors: bit for bit the plain build's results).
pub(super) fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// One y plane (b, co) of [`conv2d_forward`].
#[inline(always)]
fn forward_plane(d: &Dims, x: &[f32], w: &[f32], bias: Option<f32>, plane: usize, y_p: &mut [f32]) {
    let (x_plane, taps) = (d.h * d.w, d.kh * d.kw);
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
                    if d.s == 1 {
                        // A plain zip vectorizes; `step_by(1)` does not.
                        for (yv, xv) in y_row.iter_mut().zip(x_row) {
                            *yv += xv * wv;
                        }
                    } else {
                        for (yv, xv) in y_row.iter_mut().zip(x_row.iter().step_by(d.s)) {
                            *yv += xv * wv;
                        }
                    }
                }
            }
        }
    }
    if let Some(bv) = bias {
        y_p.iter_mut().for_each(|v| *v += bv);
    }
}

/// dx = the gradient of conv2d wrt x: each dy row scatters back through every tap.
pub fn conv2d_input_grad(p: &ConvParams, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let d = Dims::of(p);
    let (x_plane, y_plane, taps) = (d.h * d.w, d.oh * d.ow, d.kh * d.kw);
    let work = d.n * d.c_out * y_plane * d.c_in * taps;
    let simd = wide();
    for_each_chunk(dx, x_plane, d.n * d.c_in, work, |plane, dx_p| {
        #[cfg(target_arch = "x86_64")]
        if simd && d.s == 1 {
            // SAFETY: `wide` found AVX-512F on this CPU.
            return unsafe { x86::input_grad_plane_s1(&d, dy, w, plane, dx_p) };
        } else if simd {
            // SAFETY: as above.
            return unsafe { x86::input_grad_plane(&d, dy, w, plane, dx_p) };
        }
        let _ = simd;
        input_grad_plane(&d, dy, w, plane, dx_p);
    });
}

/// One dx plane (b, ci) of [`conv2d_input_grad`].
#[inline(always)]
fn input_grad_plane(d: &Dims, dy: &[f32], w: &[f32], plane: usize, dx_p: &mut [f32]) {
    let (y_plane, taps) = (d.oh * d.ow, d.kh * d.kw);
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
                    if d.s == 1 {
                        for (g, dyv) in dx_row.iter_mut().zip(dy_row) {
                            *g += dyv * wv;
                        }
                    } else {
                        for (g, dyv) in dx_row.iter_mut().step_by(d.s).zip(dy_row) {
                            *g += dyv * wv;
                        }
                    }
                }
            }
        }
    }
}

/// dw (+)= the gradient of conv2d wrt w: one dot product over (b, oy, ox) per weight (at stride
/// 1 a kernel row's weights side by side in vector lanes, each its own serial chain).
pub fn conv2d_weight_grad(p: &ConvParams, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    let d = Dims::of(p);
    let (y_plane, taps) = (d.oh * d.ow, d.kh * d.kw);
    let accumulate = p.flags & ACCUMULATE != 0;
    let work = d.n * d.c_out * y_plane * d.c_in * taps;
    if d.s == 1 && d.kw <= LANES {
        let dw = &mut dw[..d.c_out * d.c_in * taps];
        let simd = wide();
        par::chunks(dw, taps * GROUP, work, |first, dw_g| {
            weight_grad_lanes(&d, x, dy, first / taps, dw_g, accumulate, simd);
        });
        return;
    }
    weight_grad_serial(&d, x, dy, dw, accumulate);
}

/// `conv2d_weight_grad` one weight at a time, each a single chain over (b, oy, ox).
fn weight_grad_serial(d: &Dims, x: &[f32], dy: &[f32], dw: &mut [f32], accumulate: bool) {
    let (x_plane, y_plane, taps) = (d.h * d.w, d.oh * d.ow, d.kh * d.kw);
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

/// Lanes of [`weight_grad_lanes`]: one per kx of a kernel row.
const LANES: usize = 16;
/// (co, ci) pairs whose chains [`weight_grad_lanes`] advances together.
const GROUP: usize = 4;

/// `conv2d_weight_grad` at stride 1 for the pairs `first..` whose taps `dw_g` holds (GROUP of
/// them, fewer at the end): per kernel row ky, each kx is a lane of one vector, and GROUP pairs'
/// vectors advance together. A lane adds the terms of its own weight in the serial loop's order
/// (b, oy, ox) and keeps its value where ox is outside its range, so every weight is the serial
/// loop's sum bit for bit; the lanes only take the place of the kx loop.
fn weight_grad_lanes(
    d: &Dims,
    x: &[f32],
    dy: &[f32],
    first: usize,
    dw_g: &mut [f32],
    accumulate: bool,
    simd: bool,
) {
    let (x_plane, y_plane, taps) = (d.h * d.w, d.oh * d.ow, d.kh * d.kw);
    let count = dw_g.len() / taps;
    let _ = simd;
    // Lane kx of output column ox reads x at ox + kx - pad: a padded row puts that at
    // ox + kx, and `live[ox]` (all ones or zero per lane) says which lanes fall inside the row
    // and the kernel.
    let live: Vec<[u32; LANES]> = (0..d.ow)
        .map(|ox| {
            std::array::from_fn(|kx| {
                let (lo, hi) = d.cols(kx);
                if kx < d.kw && lo <= ox && ox < hi {
                    u32::MAX
                } else {
                    0
                }
            })
        })
        .collect();
    let masks: Vec<u16> = live
        .iter()
        .map(|l| (0..LANES).filter(|&k| l[k] != 0).fold(0, |m, k| m | 1 << k))
        .collect();
    let stride = d.ow + LANES;
    // GROUP padded x rows and GROUP dy rows; a short last group repeats its first pair (computed
    // and dropped) so that the loop below always runs GROUP chains.
    let mut padded = vec![0.0f32; GROUP * stride];
    let mut dy_rows = vec![0.0f32; GROUP * d.ow];
    for ky in 0..d.kh {
        let (oy_lo, oy_hi) = d.rows(ky);
        let mut acc = [[0.0f32; LANES]; GROUP];
        for b in 0..d.n {
            for oy in oy_lo..oy_hi {
                let iy = oy + ky - d.pad;
                for g in 0..GROUP {
                    let pair = first + if g < count { g } else { 0 };
                    let (co, ci) = (pair / d.c_in, pair % d.c_in);
                    let x_row = &x[(b * d.c_in + ci) * x_plane + iy * d.w..][..d.w];
                    // Columns outside pad..pad + w stay 0.0 and are never added (their lanes
                    // are not live), but they must be readable.
                    padded[g * stride + d.pad..][..d.w].copy_from_slice(x_row);
                    let dy_row = &dy[(b * d.c_out + co) * y_plane + oy * d.ow..][..d.ow];
                    dy_rows[g * d.ow..][..d.ow].copy_from_slice(dy_row);
                }
                #[cfg(target_arch = "x86_64")]
                if simd {
                    // SAFETY: the CPU has AVX-512F; the rows hold GROUP x (ow + LANES) and
                    // GROUP x ow values and `masks` ow.
                    unsafe { x86::lanes_row(&mut acc, &masks, &dy_rows, &padded, stride) };
                    continue;
                }
                for (ox, live) in live.iter().enumerate() {
                    for (g, acc) in acc.iter_mut().enumerate() {
                        let dyv = dy_rows[g * d.ow + ox];
                        let xs: &[f32; LANES] =
                            padded[g * stride + ox..][..LANES].try_into().unwrap();
                        for l in 0..LANES {
                            let sum = acc[l] + dyv * xs[l];
                            acc[l] = if live[l] != 0 { sum } else { acc[l] };
                        }
                    }
                }
            }
        }
        for (g, acc) in acc.iter().enumerate().take(count) {
            for (kx, &v) in acc.iter().enumerate().take(d.kw) {
                let o = &mut dw_g[g * taps + ky * d.kw + kx];
                *o = if accumulate { v + *o } else { v };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{lane_mask, Dims, GROUP, LANES};
    use std::arch::x86_64::*;

    /// [`super::forward_plane`] compiled for AVX-512.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward_plane(
        d: &Dims,
        x: &[f32],
        w: &[f32],
        bias: Option<f32>,
        plane: usize,
        y_p: &mut [f32],
    ) {
        super::forward_plane(d, x, w, bias, plane, y_p)
    }

    /// [`super::input_grad_plane`] compiled for AVX-512.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn input_grad_plane(
        d: &Dims,
        dy: &[f32],
        w: &[f32],
        plane: usize,
        dx_p: &mut [f32],
    ) {
        super::input_grad_plane(d, dy, w, plane, dx_p)
    }

    /// [`super::forward_plane`] at stride 1: a y row stays in registers, 16 columns a vector,
    /// while every kx of a kernel row adds to it (a multiply, then an add masked to the columns
    /// the tap reaches). Each y value still takes its terms in (ci, ky, kx) order, each with the
    /// scalar loop's two roundings: bit for bit.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward_plane_s1(
        d: &Dims,
        x: &[f32],
        w: &[f32],
        bias: Option<f32>,
        plane: usize,
        y_p: &mut [f32],
    ) {
        let (x_plane, taps) = (d.h * d.w, d.kh * d.kw);
        let (b, co) = (plane / d.c_out, plane % d.c_out);
        let blocks = d.ow.div_ceil(LANES);
        // x's row with `pad` zeros before it and room to read a whole vector past any tap.
        let wide = blocks * LANES + d.kw + d.w + d.pad;
        let mut row = vec![0.0f32; ROWS * wide];
        let masks: Vec<u16> = (0..d.kw)
            .flat_map(|kx| (0..blocks).map(move |cb| (kx, cb)))
            .map(|(kx, cb)| lane_mask(cb * LANES, d.cols(kx)))
            .collect();
        let y_masks: Vec<u16> = (0..blocks)
            .map(|cb| lane_mask(cb * LANES, (0, d.ow)))
            .collect();
        y_p[..d.oh * d.ow].fill(0.0);
        for ci in 0..d.c_in {
            let x_p = &x[(b * d.c_in + ci) * x_plane..][..x_plane];
            let w_k = &w[(co * d.c_in + ci) * taps..][..taps];
            for ky in 0..d.kh {
                let (oy_lo, oy_hi) = d.rows(ky);
                let w_row = &w_k[ky * d.kw..][..d.kw];
                let mut oy = oy_lo;
                while oy < oy_hi {
                    // ROWS rows at a time: independent chains, so the adds overlap.
                    let count = ROWS.min(oy_hi - oy);
                    for r in 0..count {
                        let iy = oy + r + ky - d.pad;
                        // Column ox + kx of a row copy is x's column ox + kx - pad.
                        let copy = &mut row[r * wide + d.pad..][..d.w];
                        copy.copy_from_slice(&x_p[iy * d.w..][..d.w]);
                    }
                    let y_rows = y_p.as_mut_ptr().add(oy * d.ow);
                    let k = Taps {
                        w_row,
                        masks: &masks,
                        blocks,
                        edge: &y_masks,
                    };
                    if count == ROWS {
                        add_taps::<ROWS>(&k, &row, wide, 0, 1, y_rows, d.ow);
                    } else {
                        for r in 0..count {
                            add_taps::<1>(
                                &k,
                                &row[r * wide..],
                                wide,
                                0,
                                1,
                                y_rows.add(r * d.ow),
                                d.ow,
                            );
                        }
                    }
                    oy += count;
                }
            }
        }
        if let Some(bv) = bias {
            y_p.iter_mut().for_each(|v| *v += bv);
        }
    }

    /// [`super::input_grad_plane`] at stride 1, as [`forward_plane_s1`]: a dx row in registers
    /// takes, for each (co, ky), the terms of every kx in order (dy's column ix + pad - kx),
    /// masked to the columns the tap reaches from inside dy.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn input_grad_plane_s1(
        d: &Dims,
        dy: &[f32],
        w: &[f32],
        plane: usize,
        dx_p: &mut [f32],
    ) {
        let (y_plane, taps) = (d.oh * d.ow, d.kh * d.kw);
        let (b, ci) = (plane / d.c_in, plane % d.c_in);
        let blocks = d.w.div_ceil(LANES);
        // dy's row after kw - 1 zeros (so column ix + pad - kx sits at ix + pad + kw - 1 - kx
        // >= 0), with room to read a whole vector past any tap.
        let lead = d.kw - 1;
        let wide = lead + blocks * LANES + d.pad + d.ow + LANES;
        let mut row = vec![0.0f32; ROWS * wide];
        // dx column ix takes tap kx from dy column ox = ix + pad - kx when 0 <= ox < ow, which
        // is ix in [kx - pad, kx - pad + ow) clipped to the row.
        let reach = |kx: usize| {
            let lo = kx.saturating_sub(d.pad);
            let hi = (kx + d.ow).saturating_sub(d.pad).min(d.w);
            (lo, hi.max(lo))
        };
        let masks: Vec<u16> = (0..d.kw)
            .flat_map(|kx| (0..blocks).map(move |cb| (kx, cb)))
            .map(|(kx, cb)| lane_mask(cb * LANES, reach(kx)))
            .collect();
        let x_masks: Vec<u16> = (0..blocks)
            .map(|cb| lane_mask(cb * LANES, (0, d.w)))
            .collect();
        dx_p[..d.h * d.w].fill(0.0);
        for co in 0..d.c_out {
            let dy_p = &dy[(b * d.c_out + co) * y_plane..][..y_plane];
            let w_k = &w[(co * d.c_in + ci) * taps..][..taps];
            for ky in 0..d.kh {
                let (oy_lo, oy_hi) = d.rows(ky);
                let w_row = &w_k[ky * d.kw..][..d.kw];
                let mut oy = oy_lo;
                while oy < oy_hi {
                    let count = ROWS.min(oy_hi - oy);
                    for r in 0..count {
                        let copy = &mut row[r * wide + lead..][..d.ow];
                        copy.copy_from_slice(&dy_p[(oy + r) * d.ow..][..d.ow]);
                    }
                    // dy column c0 + l + pad - kx lies at row[c0 + l + pad + lead - kx].
                    let dx_rows = dx_p.as_mut_ptr().add((oy + ky - d.pad) * d.w);
                    let k = Taps {
                        w_row,
                        masks: &masks,
                        blocks,
                        edge: &x_masks,
                    };
                    let at = d.pad + lead;
                    if count == ROWS {
                        add_taps::<ROWS>(&k, &row, wide, at, -1, dx_rows, d.w);
                    } else {
                        for r in 0..count {
                            add_taps::<1>(
                                &k,
                                &row[r * wide..],
                                wide,
                                at,
                                -1,
                                dx_rows.add(r * d.w),
                                d.w,
                            );
                        }
                    }
                    oy += count;
                }
            }
        }
    }

    /// Output rows the stride-1 kernels advance together.
    const ROWS: usize = 4;

    /// A kernel row's taps: weights, per (kx, block) the lanes each reaches, the output row's
    /// blocks and their lanes inside the row.
    struct Taps<'a> {
        w_row: &'a [f32],
        masks: &'a [u16],
        blocks: usize,
        edge: &'a [u16],
    }

    /// Adds every tap kx of `k` to R output rows (at `out`, `out_w` apart), 16 columns a
    /// vector: row r's column c takes `src[r * wide + at + c + dir * kx] * w_row[kx]`, masked
    /// to the lanes the tap reaches, kx in order (a multiply, then a masked add).
    #[inline(always)]
    unsafe fn add_taps<const R: usize>(
        k: &Taps,
        src: &[f32],
        wide: usize,
        at: usize,
        dir: isize,
        out: *mut f32,
        out_w: usize,
    ) {
        let kw = k.w_row.len();
        assert!(src.len() >= (R - 1) * wide + at + k.blocks * LANES + kw);
        for cb in 0..k.blocks {
            let c0 = cb * LANES;
            let em = k.edge[cb];
            let mut acc: [__m512; R] =
                std::array::from_fn(|r| _mm512_maskz_loadu_ps(em, out.add(r * out_w + c0)));
            for (kx, &wk) in k.w_row.iter().enumerate() {
                let m = *k.masks.get_unchecked(kx * k.blocks + cb);
                let wv = _mm512_set1_ps(wk);
                let from = (at + c0).wrapping_add_signed(dir * kx as isize);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let xs = _mm512_loadu_ps(src.as_ptr().add(r * wide + from));
                    *acc = _mm512_mask_add_ps(*acc, m, *acc, _mm512_mul_ps(xs, wv));
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                _mm512_mask_storeu_ps(out.add(r * out_w + c0), em, *acc);
            }
        }
    }

    /// One (b, oy) row of [`super::weight_grad_lanes`]: for each ox, GROUP chains of LANES add
    /// dy · x where `masks[ox]` has the lane (a multiply, then a masked add: the scalar loop's
    /// two roundings).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn lanes_row(
        acc: &mut [[f32; LANES]; GROUP],
        masks: &[u16],
        dy_rows: &[f32],
        padded: &[f32],
        stride: usize,
    ) {
        let ow = masks.len();
        assert!(dy_rows.len() >= GROUP * ow && padded.len() >= GROUP * stride);
        assert!(stride >= ow + LANES - 1);
        let mut v: [__m512; GROUP] = std::array::from_fn(|g| _mm512_loadu_ps(acc[g].as_ptr()));
        for (ox, &m) in masks.iter().enumerate() {
            for (g, v) in v.iter_mut().enumerate() {
                let dyv = _mm512_set1_ps(*dy_rows.get_unchecked(g * ow + ox));
                let xs = _mm512_loadu_ps(padded.as_ptr().add(g * stride + ox));
                *v = _mm512_mask_add_ps(*v, m, *v, _mm512_mul_ps(dyv, xs));
            }
        }
        for (g, v) in v.iter().enumerate() {
            _mm512_storeu_ps(acc[g].as_mut_ptr(), *v);
        }
    }
}

/// db (+)= dy summed over (N, H_out, W_out): the bias gradient of conv2d and conv_transpose2d.
/// Each channel is one chain of adds in (b, oy, ox) order, several channels' chains advanced
/// together (`channel_sums::channel_sums`).
pub fn conv2d_bias_grad(p: &ConvParams, dy: &[f32], db: &mut [f32]) {
    let shape = super::batch_norm::BatchNormParams {
        n: p.n,
        c: p.c_out,
        hw: p.h_out * p.w_out,
        ..Default::default()
    };
    let c_out = p.c_out as usize;
    if p.flags & ACCUMULATE == 0 {
        super::channel_sums::channel_sums(&shape, dy, db);
        return;
    }
    let mut sums = vec![0.0f32; c_out];
    super::channel_sums::channel_sums(&shape, dy, &mut sums);
    for (o, s) in db[..c_out].iter_mut().zip(sums) {
        *o += s;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                // Some exact zeros (as after a ReLU), the rest in [-1, 1).
                if s.is_multiple_of(7) {
                    0.0
                } else {
                    (s % 20_000) as f32 / 10_000.0 - 1.0
                }
            })
            .collect()
    }

    /// The AVX-512 stride-1 forward and input gradient are the plain loops bit for bit: rows
    /// wider than one vector, fewer rows than a group, paddings of 0 to past the kernel.
    #[test]
    fn stride_one_planes_are_the_plain_loops_bit_for_bit() {
        if !wide() {
            eprintln!("skipped: this CPU has no AVX-512F, so the plain loops are all that run");
            return;
        }
        let shapes = [
            (2, 3, 28, 28, 1, 9, 9, 4),
            (1, 2, 34, 34, 3, 7, 7, 0),
            (2, 4, 3, 37, 2, 3, 5, 1),
            (1, 1, 6, 17, 2, 2, 4, 5),
            (3, 2, 9, 9, 4, 3, 3, 1),
        ];
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for (i, &(n, c_in, h, w, c_out, kh, kw, pad)) in shapes.iter().enumerate() {
            let g = Conv2dGeometry {
                n,
                c_in,
                h,
                w,
                c_out,
                kh,
                kw,
                stride: 1,
                pad,
            };
            g.validate().unwrap();
            let d = Dims::of(&g.params(HAS_BIAS));
            let x = values(g.x_len(), 5 * i as u32 + 1);
            let wt = values(g.w_len(), 5 * i as u32 + 2);
            let dy = values(g.y_len(), 5 * i as u32 + 3);
            let (x_plane, y_plane) = (h * w, d.oh * d.ow);
            for plane in 0..n * c_out {
                let mut fast = vec![7.0; y_plane];
                let mut plain = vec![-7.0; y_plane];
                // SAFETY: `wide` found AVX-512F.
                unsafe { x86::forward_plane_s1(&d, &x, &wt, Some(0.25), plane, &mut fast) };
                forward_plane(&d, &x, &wt, Some(0.25), plane, &mut plain);
                assert_eq!(
                    bits(&fast),
                    bits(&plain),
                    "forward, shape {i}, plane {plane}"
                );
            }
            for plane in 0..n * c_in {
                let mut fast = vec![7.0; x_plane];
                let mut plain = vec![-7.0; x_plane];
                // SAFETY: as above.
                unsafe { x86::input_grad_plane_s1(&d, &dy, &wt, plane, &mut fast) };
                input_grad_plane(&d, &dy, &wt, plane, &mut plain);
                assert_eq!(
                    bits(&fast),
                    bits(&plain),
                    "input grad, shape {i}, plane {plane}"
                );
            }
        }
    }

    /// The bias gradient's chains side by side are each channel's serial sum, bit for bit,
    /// with HW of 1 too, and accumulating.
    #[test]
    fn bias_grad_is_the_serial_sum_bit_for_bit() {
        for (n, c_out, oh, ow) in [(3, 19, 7, 5), (2, 4, 1, 1), (16, 33, 4, 4), (1, 1, 9, 9)] {
            for flags in [0, ACCUMULATE] {
                let g = Conv2dGeometry {
                    n,
                    c_in: 1,
                    h: oh,
                    w: ow,
                    c_out,
                    kh: 1,
                    kw: 1,
                    stride: 1,
                    pad: 0,
                };
                let p = g.params(flags);
                let dy = values(g.y_len(), (n * c_out) as u32);
                let start = values(c_out, 77);
                let mut db = start.clone();
                conv2d_bias_grad(&p, &dy, &mut db);
                for (co, (&got, &was)) in db.iter().zip(&start).enumerate() {
                    let mut acc = 0.0f32;
                    for b in 0..n {
                        for v in &dy[(b * c_out + co) * oh * ow..][..oh * ow] {
                            acc += v;
                        }
                    }
                    let want = if flags != 0 { acc + was } else { acc };
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{n}x{c_out}x{oh}x{ow} channel {co}"
                    );
                }
            }
        }
    }

    /// The stride-1 lanes compute every weight's chain as the serial loop does, bit for bit:
    /// kernels up to the lane count, paddings that clip some taps' columns entirely, pair counts
    /// that leave a short last group, with and without accumulation.
    #[test]
    fn weight_grad_lanes_are_the_serial_loop_bit_for_bit() {
        let shapes = [
            (2, 3, 5, 6, 1, 3, 3, 1),
            (3, 5, 7, 7, 2, 9, 9, 4),
            (1, 2, 4, 9, 3, 1, 7, 0),
            (2, 1, 6, 5, 1, 5, 2, 6),
            (2, 7, 8, 3, 3, 4, 16, 8),
        ];
        for (i, &(n, c_in, h, w, c_out, kh, kw, pad)) in shapes.iter().enumerate() {
            let g = Conv2dGeometry {
                n,
                c_in,
                h,
                w,
                c_out,
                kh,
                kw,
                stride: 1,
                pad,
            };
            if g.validate().is_err() {
                continue;
            }
            for flags in [0, ACCUMULATE] {
                let p = g.params(flags);
                let x = values(g.x_len(), 3 * i as u32 + 1);
                let dy = values(g.y_len(), 3 * i as u32 + 2);
                let start = values(g.w_len(), 3 * i as u32 + 3);
                let mut serial = start.clone();
                weight_grad_serial(&Dims::of(&p), &x, &dy, &mut serial, flags != 0);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                let mut lanes = start.clone();
                conv2d_weight_grad(&p, &x, &dy, &mut lanes);
                assert_eq!(bits(&lanes), bits(&serial), "shape {i}, flags {flags}");
                // The portable lanes too, where the CPU has AVX-512 (which the above took).
                let d = Dims::of(&p);
                let mut plain = start.clone();
                let taps = kh * kw;
                for (group, dw_g) in plain.chunks_mut(taps * GROUP).enumerate() {
                    weight_grad_lanes(&d, &x, &dy, group * GROUP, dw_g, flags != 0, false);
                }
                assert_eq!(
                    bits(&plain),
                    bits(&serial),
                    "portable, shape {i}, flags {flags}"
                );
            }
        }
    }
}

//! CPU twins of `shaders/im2col.wgsl`: the reshapes that lower conv2d and conv_transpose2d to
//! the engine's matmul. Every twin takes conv2d's `ConvParams`: x is (N, C_in, H, W), y
//! (N, C_out, H_out, W_out), K = C_in·KH·KW and P = H_out·W_out; cols is (K, N·P) and a
//! channel-major y_t is (C_out, N·P). The twins produce the shader's values bit for bit (col2im
//! sums each element's terms in the same (ky, kx) order), walking contiguous rows instead of one
//! element at a time.

use super::conv2d::{tap_range, ConvParams, Dims, HAS_BIAS};
use super::{par, params, CpuIo};

/// cols (K, N·P) = the patches of x: cols[(ci, ky, kx), (b, oy, ox)] =
/// x[b, ci, oy·stride + ky - pad, ox·stride + kx - pad], 0 where that falls in the padding.
pub fn im2col(p: &ConvParams, x: &[f32], cols: &mut [f32]) {
    let d = Dims::of(p);
    let (np, plane) = (d.n * d.oh * d.ow, d.oh * d.ow);
    let taps = d.kh * d.kw;
    let cols = &mut cols[..d.c_in * taps * np];
    par::rows(cols, np, |k, row| {
        let (ci, ky, kx) = (k / taps, (k % taps) / d.kw, k % d.kw);
        let (oy_lo, oy_hi) = tap_range(ky, d.pad, d.s, d.h, d.oh);
        let (ox_lo, ox_hi) = tap_range(kx, d.pad, d.s, d.w, d.ow);
        for (b, out) in row.chunks_exact_mut(plane).enumerate() {
            let x_p = &x[(b * d.c_in + ci) * d.h * d.w..][..d.h * d.w];
            for (oy, seg) in out.chunks_exact_mut(d.ow).enumerate() {
                if oy < oy_lo || oy >= oy_hi || ox_lo == ox_hi {
                    seg.fill(0.0);
                    continue;
                }
                let iy = oy * d.s + ky - d.pad;
                let x_row = &x_p[iy * d.w + ox_lo * d.s + kx - d.pad..];
                seg[..ox_lo].fill(0.0);
                seg[ox_hi..].fill(0.0);
                let seg = &mut seg[ox_lo..ox_hi];
                if d.s == 1 {
                    // step_by(1) does not become a copy; this does.
                    seg.copy_from_slice(&x_row[..seg.len()]);
                } else {
                    for (c, xv) in seg.iter_mut().zip(x_row.iter().step_by(d.s)) {
                        *c = *xv;
                    }
                }
            }
        }
    });
}

/// x (N, C_in, H, W) = col2im(cols) (+ bias[ci]): the adjoint of im2col, so each x element sums
/// the cols entries it was copied to, taps in (ky, kx) order as the shader gathers them.
pub fn col2im(p: &ConvParams, cols: &[f32], bias: &[f32], x: &mut [f32]) {
    let d = Dims::of(p);
    let (np, plane, x_plane) = (d.n * d.oh * d.ow, d.oh * d.ow, d.h * d.w);
    let taps = d.kh * d.kw;
    let x = &mut x[..d.n * d.c_in * x_plane];
    par::rows(x, x_plane, |i, x_p| {
        let (b, ci) = (i / d.c_in, i % d.c_in);
        x_p.fill(0.0);
        for ky in 0..d.kh {
            let (oy_lo, oy_hi) = tap_range(ky, d.pad, d.s, d.h, d.oh);
            for kx in 0..d.kw {
                let (ox_lo, ox_hi) = tap_range(kx, d.pad, d.s, d.w, d.ow);
                let row = &cols[(ci * taps + ky * d.kw + kx) * np + b * plane..][..plane];
                for oy in (oy_lo..oy_hi).filter(|_| ox_lo < ox_hi) {
                    let iy = oy * d.s + ky - d.pad;
                    let x_row = &mut x_p[iy * d.w + ox_lo * d.s + kx - d.pad..];
                    let c_row = &row[oy * d.ow + ox_lo..oy * d.ow + ox_hi];
                    if d.s == 1 {
                        for (xv, c) in x_row.iter_mut().zip(c_row) {
                            *xv += c;
                        }
                    } else {
                        for (xv, c) in x_row.iter_mut().step_by(d.s).zip(c_row) {
                            *xv += c;
                        }
                    }
                }
            }
        }
        if p.flags & HAS_BIAS != 0 {
            let bv = bias[ci];
            x_p.iter_mut().for_each(|v| *v += bv);
        }
    });
}

/// y_t (C_out, N·P) = y (N, C_out, P) with its first two axes swapped.
pub fn nchw_to_cnhw(p: &ConvParams, y: &[f32], y_t: &mut [f32]) {
    let d = Dims::of(p);
    let (np, plane) = (d.n * d.oh * d.ow, d.oh * d.ow);
    par::rows(&mut y_t[..d.c_out * np], np, |c, row| {
        for (b, seg) in row.chunks_exact_mut(plane).enumerate() {
            seg.copy_from_slice(&y[(b * d.c_out + c) * plane..][..plane]);
        }
    });
}

/// y (N, C_out, P) = y_t (C_out, N·P) with its first two axes swapped (+ bias[c]).
pub fn cnhw_to_nchw(p: &ConvParams, y_t: &[f32], bias: &[f32], y: &mut [f32]) {
    let d = Dims::of(p);
    let (np, plane) = (d.n * d.oh * d.ow, d.oh * d.ow);
    let with_bias = p.flags & HAS_BIAS != 0;
    par::rows(&mut y[..d.n * d.c_out * plane], plane, |i, seg| {
        let (b, c) = (i / d.c_out, i % d.c_out);
        let src = &y_t[c * np + b * plane..][..plane];
        if with_bias {
            let bv = bias[c];
            seg.iter_mut().zip(src).for_each(|(o, v)| *o = v + bv);
        } else {
            seg.copy_from_slice(src);
        }
    });
}

pub fn im2col_op(words: &[u32], io: &mut CpuIo) {
    let cols = io.f32_mut(1);
    im2col(&params(words), io.f32(0), cols);
}

pub fn col2im_op(words: &[u32], io: &mut CpuIo) {
    let x = io.f32_mut(2);
    col2im(&params(words), io.f32(0), io.f32(1), x);
}

pub fn nchw_to_cnhw_op(words: &[u32], io: &mut CpuIo) {
    let y_t = io.f32_mut(1);
    nchw_to_cnhw(&params(words), io.f32(0), y_t);
}

pub fn cnhw_to_nchw_op(words: &[u32], io: &mut CpuIo) {
    let y = io.f32_mut(2);
    cnhw_to_nchw(&params(words), io.f32(0), io.f32(1), y);
}

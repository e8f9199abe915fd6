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
    let np = d.n * d.oh * d.ow;
    let taps = d.kh * d.kw;
    let cols = &mut cols[..d.c_in * taps * np];
    #[cfg(target_arch = "x86_64")]
    if super::conv2d::wide() {
        // SAFETY: the CPU has AVX-512F; x holds the n samples (the op's length check).
        assert!(x.len() >= d.n * d.c_in * d.h * d.w);
        par::rows(cols, np, |k, row| unsafe { x86::im2col_row(&d, x, k, row) });
        return;
    }
    par::rows(cols, np, |k, row| im2col_row(&d, x, k, row));
}

/// Row k = (ci, ky, kx) of [`im2col`]'s cols, every sample.
fn im2col_row(d: &Dims, x: &[f32], k: usize, row: &mut [f32]) {
    let plane = d.oh * d.ow;
    let taps = d.kh * d.kw;
    {
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
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{tap_range, Dims};
    use crate::cpu::conv2d::lane_mask;
    use std::arch::x86_64::*;

    /// [`super::im2col_row`] 16 columns a vector: per output row, a masked load (stride 1) or
    /// gather (stride > 1) of the columns whose tap lands inside x, zeros elsewhere, one
    /// masked store; the same values (copies and zeros) without a call per short row.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn im2col_row(d: &Dims, x: &[f32], k: usize, row: &mut [f32]) {
        let taps = d.kh * d.kw;
        let (ci, ky, kx) = (k / taps, (k % taps) / d.kw, k % d.kw);
        let (oy_lo, oy_hi) = tap_range(ky, d.pad, d.s, d.h, d.oh);
        let cols = tap_range(kx, d.pad, d.s, d.w, d.ow);
        let plane = d.oh * d.ow;
        assert!(row.len() >= d.n * plane);
        let blocks = d.ow.div_ceil(16);
        let in_row: Vec<u16> = (0..blocks)
            .map(|cb| lane_mask(cb * 16, (0, d.ow)))
            .collect();
        let live: Vec<u16> = (0..blocks).map(|cb| lane_mask(cb * 16, cols)).collect();
        let step = _mm512_set1_epi32(d.s as i32);
        let index = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            step,
        );
        for b in 0..d.n {
            let x_p = x.as_ptr().add((b * d.c_in + ci) * d.h * d.w);
            let out = row.as_mut_ptr().add(b * plane);
            for oy in 0..d.oh {
                let o = out.add(oy * d.ow);
                let inside = (oy_lo..oy_hi).contains(&oy);
                let iy = (oy * d.s + ky).wrapping_sub(d.pad);
                for cb in 0..blocks {
                    let c0 = cb * 16;
                    let m = if inside { live[cb] } else { 0 };
                    // x's column of lane l: (c0 + l)·s + kx - pad; only live lanes are read.
                    let first = (iy * d.w + c0 * d.s + kx) as isize - d.pad as isize;
                    let base = x_p.wrapping_offset(first);
                    let v = if m == 0 {
                        _mm512_setzero_ps()
                    } else if d.s == 1 {
                        _mm512_maskz_loadu_ps(m, base)
                    } else {
                        _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), m, index, base)
                    };
                    _mm512_mask_storeu_ps(o.add(c0), in_row[cb], v);
                }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::conv2d::Conv2dGeometry;

    /// The AVX-512 rows are the plain rows bit for bit (the values are copies and zeros): strides
    /// 1 to 3, paddings that clip whole rows and columns, rows shorter and longer than a vector.
    #[test]
    fn im2col_rows_in_vectors_are_the_plain_rows() {
        #[cfg(target_arch = "x86_64")]
        {
            if !crate::cpu::conv2d::wide() {
                eprintln!("skipped: this CPU has no AVX-512F, so the plain rows are all that run");
                return;
            }
            let shapes = [
                (2, 3, 8, 8, 3, 3, 1, 1),
                (2, 2, 14, 14, 4, 4, 2, 1),
                (1, 2, 40, 37, 3, 5, 1, 2),
                (3, 1, 28, 28, 4, 4, 2, 1),
                (1, 2, 9, 35, 3, 3, 3, 3),
                (2, 1, 5, 5, 5, 5, 1, 4),
            ];
            for (n, c_in, h, w, kh, kw, stride, pad) in shapes {
                let g = Conv2dGeometry {
                    n,
                    c_in,
                    h,
                    w,
                    c_out: 1,
                    kh,
                    kw,
                    stride,
                    pad,
                };
                g.validate().unwrap();
                let d = Dims::of(&g.params(0));
                let x: Vec<f32> = (0..g.x_len()).map(|i| 1.0 + i as f32).collect();
                let np = n * d.oh * d.ow;
                for k in 0..c_in * kh * kw {
                    let mut plain = vec![-1.0; np];
                    let mut fast = vec![-2.0; np];
                    im2col_row(&d, &x, k, &mut plain);
                    // SAFETY: the CPU has AVX-512F, and x holds the n samples.
                    unsafe { x86::im2col_row(&d, &x, k, &mut fast) };
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&fast), bits(&plain), "{g:?}, row {k}");
                }
            }
        }
    }
}

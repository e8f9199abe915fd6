//! Packing blocks of cols from the padded x, and the scratch the direct products keep.

use super::Taps;
use crate::cpu::par;
use std::arch::x86_64::*;
use std::cell::RefCell;

thread_local! {
    /// x_pad.
    pub(super) static PADDED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Panels and packed blocks.
    pub(super) static WORK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// x_pad (n, c_in, tp, hp, wp): x inside a border of zeros, a plane per task.
pub(super) fn pad(g: &Taps, x: &[f32], x_pad: &mut [f32]) {
    let [t, h, w] = g.thw;
    let [tp, hp, wp] = g.padded();
    let [pt, ph, pw] = g.pad;
    let work = x_pad.len();
    par::chunks(x_pad, tp * hp * wp, work, |first, dst| {
        let src = &x[first / (tp * hp * wp) * t * h * w..][..t * h * w];
        dst.fill(0.0);
        for (f, frame) in src.chunks_exact(h * w).enumerate() {
            for (y, row) in frame.chunks_exact(w).enumerate() {
                let at = ((f + pt) * hp + y + ph) * wp + pw;
                dst[at..at + w].copy_from_slice(row);
            }
        }
    });
}

/// For every row r = (ci, kt, ky, kx) of cols, where its tap lies in a sample of x_pad.
pub(super) fn tap_offsets(g: &Taps, plane: usize) -> Vec<u32> {
    let [_, hp, wp] = g.padded();
    let [_, kh, kw] = g.k;
    let taps = g.k.iter().product::<usize>();
    let tap = |r: usize| {
        let (ci, k) = (r / taps, r % taps);
        (ci * plane + (k / (kh * kw)) * hp * wp + (k / kw % kh) * wp + k % kw) as u32
    };
    (0..g.rows()).map(tap).collect()
}

/// For every column np = (b, ot, oy, ox) of cols, where its tap (0, 0, 0) lies in x_pad.
pub(super) fn pixel_offsets(g: &Taps, plane: usize) -> Vec<u32> {
    let [_, hp, wp] = g.padded();
    let [to, ho, wo] = g.out;
    let s = g.stride;
    let mut out = Vec::with_capacity(g.n * to * ho * wo);
    for b in 0..g.n {
        for ot in 0..to {
            for oy in 0..ho {
                let row = b * g.c_in * plane + (ot * s * hp + oy * s) * wp;
                out.extend((0..wo).map(|ox| (row + ox * s) as u32));
            }
        }
    }
    out
}

/// The columns k0..k0 + kl as runs along output rows (`wo` columns a row): (first kk,
/// length, x_pad offset of the first pixel's tap (0, 0, 0)).
pub(super) fn runs_of(
    pixels: &[u32],
    wo: usize,
    k0: usize,
    kl: usize,
    runs: &mut Vec<(usize, usize, usize)>,
) {
    runs.clear();
    let mut kk = 0;
    while kk < kl {
        let np = k0 + kk;
        let len = (wo - np % wo).min(kl - kk);
        runs.push((kk, len, pixels[np] as usize));
        kk += len;
    }
}

/// a[kk] = cols[row, k0 + kk] for the row whose tap lies at `tap` in x_pad, run by run (each
/// run's pixels `stride` apart).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn pack(
    x_pad: &[f32],
    tap: u32,
    stride: usize,
    runs: &[(usize, usize, usize)],
    a: *mut f32,
) {
    let src = x_pad.as_ptr().add(tap as usize);
    let end = x_pad.len() - tap as usize;
    for &(kk, len, at) in runs {
        run(src.add(at), end - at, stride, len, a.add(kk));
    }
}

/// dst[i] = src[i·stride] for i < len, reading no further than `avail` values from src.
#[target_feature(enable = "avx512f")]
unsafe fn run(src: *const f32, avail: usize, stride: usize, len: usize, dst: *mut f32) {
    let lanes = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
    let mut i = 0;
    match stride {
        1 => {
            while i < len {
                let m = lanes(len - i);
                let v = _mm512_maskz_loadu_ps(m, src.wrapping_add(i));
                _mm512_mask_storeu_ps(dst.add(i), m, v);
                i += 16;
            }
        }
        2 => {
            let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            while i < len {
                // Up to 32 source values: those past the run's last one, or past x_pad's
                // end, are masked off.
                let need = (2 * (len - i) - 1).min(avail - 2 * i);
                let lo = _mm512_maskz_loadu_ps(lanes(need), src.wrapping_add(2 * i));
                let hi = _mm512_maskz_loadu_ps(
                    lanes(need.saturating_sub(16)),
                    src.wrapping_add(2 * i + 16),
                );
                let v = _mm512_permutex2var_ps(lo, even, hi);
                _mm512_mask_storeu_ps(dst.add(i), lanes(len - i), v);
                i += 16;
            }
        }
        _ => {
            for i in 0..len {
                *dst.add(i) = *src.add(i * stride);
            }
        }
    }
}

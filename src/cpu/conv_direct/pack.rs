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

/// x_pad (n, c_in, tp, hp, wp): x inside a border of zeros, a plane per task, on the pool
/// when `spread` (the forward runs on a block of samples inside the conv step's parallel loop:
/// there its x_pad is made on its own thread, where the panels are packed from it).
pub(super) fn pad(g: &Taps, x: &[f32], x_pad: &mut [f32], spread: bool) {
    let [t, h, w] = g.thw;
    let [tp, hp, wp] = g.padded();
    let [pt, ph, pw] = g.pad;
    let work = if spread { x_pad.len() } else { 0 };
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

/// Columns j0..j0 + len of cols, as one row of them is packed from x_pad: runs along output
/// rows (a vector copy each), or, where the runs are short or strided, one gather per 16
/// columns at offsets from the first column's pixel. DCGAN's stride-2 convs have runs of 7
/// columns, each two masked loads, a permute and a masked store: packing took a quarter of
/// their forward (1.33 ms a block of 11 samples of d.down2, 0.97 with the panel left stale).
pub(super) struct Span {
    /// (first column, length, x_pad offset of its pixel's tap (0, 0, 0)).
    runs: Vec<(usize, usize, usize)>,
    /// The gather's offsets (from `runs[0]`'s pixel) and lane masks, a vector per 16 columns;
    /// empty to copy runs.
    index: Vec<(__m512i, u16)>,
    stride: usize,
}

impl Span {
    /// Runs no longer than this on average, or strided ones, are gathered instead.
    const SHORT_RUN: usize = 8;

    pub(super) fn new(stride: usize) -> Self {
        Self {
            runs: Vec::new(),
            index: Vec::new(),
            stride,
        }
    }

    /// Columns j0..j0 + len, their pixels' offsets in `pixels`, output rows `wo` columns long.
    pub(super) fn set(&mut self, pixels: &[u32], wo: usize, j0: usize, len: usize) {
        self.runs.clear();
        self.index.clear();
        let mut kk = 0;
        while kk < len {
            let np = j0 + kk;
            let run = (wo - np % wo).min(len - kk);
            self.runs.push((kk, run, pixels[np] as usize));
            kk += run;
        }
        let short = self.stride != 1 || len <= Self::SHORT_RUN * self.runs.len();
        let cols = &pixels[j0..j0 + len];
        // Offsets the gather's signed 32-bit lanes hold (pixels rise with the column).
        let fits = cols.last().is_some_and(|&l| l - cols[0] <= i32::MAX as u32);
        if !(short && fits) {
            return;
        }
        for part in cols.chunks(16) {
            let lanes: [i32; 16] =
                std::array::from_fn(|i| part.get(i).map_or(0, |&o| (o - cols[0]) as i32));
            // SAFETY: 16 lanes of i32 are a __m512i's bits.
            let v = unsafe { std::mem::transmute::<[i32; 16], __m512i>(lanes) };
            self.index.push((v, ((1u32 << part.len()) - 1) as u16));
        }
    }

    /// a[kk] = cols[row, j0 + kk] for the row whose tap lies at `tap` in x_pad (a gather fills
    /// its vectors whole, zero past the span's last column).
    ///
    /// # Safety
    /// AVX-512 must be present, every column's tap inside x_pad, and a must hold the span's
    /// columns (rounded up to 16 when gathered).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn pack(&self, x_pad: &[f32], tap: u32, a: *mut f32) {
        let src = x_pad.as_ptr().add(tap as usize);
        if !self.index.is_empty() {
            // The offsets count from the first column's pixel.
            let base = src.add(self.runs[0].2);
            for (v, &(index, mask)) in self.index.iter().enumerate() {
                let g =
                    _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, index, base.cast());
                _mm512_storeu_ps(a.add(16 * v), g);
            }
            return;
        }
        for &(kk, len, at) in &self.runs {
            run(src.add(at), self.stride, len, a.add(kk));
        }
    }
}

/// dst[i] = src[i·stride] for i < len (a run's columns; strided ones are gathered unless
/// their offsets overflow the gather's lanes).
#[target_feature(enable = "avx512f")]
unsafe fn run(src: *const f32, stride: usize, len: usize, dst: *mut f32) {
    if stride != 1 {
        for i in 0..len {
            *dst.add(i) = *src.add(i * stride);
        }
        return;
    }
    for i in (0..len).step_by(16) {
        let m = ((1u32 << (len - i).min(16)) - 1) as u16;
        let v = _mm512_maskz_loadu_ps(m, src.add(i));
        _mm512_mask_storeu_ps(dst.add(i), m, v);
    }
}

//! The weight gradient dw (+)= y_t · colsᵀ: per k block of 256 columns, y_t's block gathered
//! into panels of 48 output channels, and every 24 rows of cols packed from x_pad and multiplied
//! by each panel. The rows are cut over the threads, or, when few, the k blocks.

use super::pack::{pad, pixel_offsets, tap_offsets, Span, PADDED, WORK};
use super::Taps;
use crate::cpu::gemm::{panel_rows, KC, PANEL};
use crate::cpu::par;
use rayon::prelude::*;
use std::arch::x86_64::*;
use std::cell::RefCell;

/// Rows of cols packed at a time (a multiple of every register block's rows: 8, 12, 24).
const ROWS: usize = 24;
/// Below this many rows a thread, the threads take turns of k blocks instead of rows: a
/// block's gather of y_t then serves every row once instead of each thread's few.
const BLOCK_SPLIT_ROWS: usize = 64;
/// Words of chains kept apart (k blocks x rows x c_out) at most for that.
const CHAINS_MAX: usize = 1 << 22;

/// dw's pointer, shared by the threads, each writing its own rows' columns of dw.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: the parts write disjoint elements of dw while `weight_grad` borrows it.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// dw at column `r0` (a method, so that closures capture the whole `Out`).
    fn at(self, r0: usize) -> *mut f32 {
        self.0.wrapping_add(r0)
    }
}

thread_local! {
    /// The row-major copy of dw's columns.
    static COPY: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The k blocks' chains, kept apart.
    static CHAINS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Between dw's columns (`k` words a row) and a row-major copy of `rows` of them (`c_out`
/// words a row): into dw when `to_dw`, else from it; 32 rows of the copy (in L1) at a time,
/// each dw row's part of them written or read in order.
///
/// # Safety
/// Both must hold what the sizes reach.
unsafe fn transposed(
    dw: *mut f32,
    k: usize,
    copy: *mut f32,
    c_out: usize,
    rows: usize,
    to_dw: bool,
) {
    for r0 in (0..rows).step_by(32) {
        for co in 0..c_out {
            let d = dw.add(co * k + r0);
            let c = copy.add(r0 * c_out + co);
            for r in 0..(rows - r0).min(32) {
                if to_dw {
                    *d.add(r) = *c.add(r * c_out);
                } else {
                    *c.add(r * c_out) = *d.add(r);
                }
            }
        }
    }
}

pub(super) fn weight_grad(g: &Taps, x: &[f32], y_t: &[f32], accumulate: bool, dw: &mut [f32]) {
    let [tp, hp, wp] = g.padded();
    let plane = tp * hp * wp;
    par::scratch(&PADDED, g.n * g.c_in * plane, |x_pad| {
        pad(g, x, x_pad, true);
        let rows = g.rows();
        let offsets = tap_offsets(g, plane);
        let pixels = pixel_offsets(g, plane);
        let x_pad = &*x_pad;
        let threads = par::threads();
        let blocks = pixels.len().div_ceil(KC);
        let size = rows * g.c_out;
        let by_blocks = rows < threads * BLOCK_SPLIT_ROWS
            && blocks >= 2 * threads
            && blocks * size <= CHAINS_MAX;
        if by_blocks {
            let part = Part {
                g,
                x_pad,
                y_t,
                offsets: &offsets,
                pixels: &pixels,
                stride: g.stride,
            };
            // SAFETY: AVX-512 is present (checked by the caller).
            return unsafe { by_block(&part, blocks, accumulate, dw) };
        }
        let per = rows.div_ceil(threads).div_ceil(8) * 8;
        let parts = rows.div_ceil(per);
        let out = Out(dw.as_mut_ptr());
        let part = |r0: usize| {
            let part = Part {
                g,
                x_pad,
                y_t,
                offsets: &offsets[r0..(r0 + per).min(rows)],
                pixels: &pixels,
                stride: g.stride,
            };
            // SAFETY: AVX-512 is present (checked by the caller); the part reads and
            // writes only dw's columns r0..r0 + its rows.
            unsafe { part.run(accumulate, out.at(r0), rows) }
        };
        if parts == 1 {
            part(0);
        } else {
            (0..parts).into_par_iter().for_each(|i| part(i * per));
        }
    });
}

/// Each thread's share of the k blocks, every row: each block's chains (from zero) kept
/// apart, then added to dw in block order, so each element sees the additions of one
/// thread's run through the blocks.
#[target_feature(enable = "avx512f")]
unsafe fn by_block(part: &Part, blocks: usize, accumulate: bool, dw: &mut [f32]) {
    let (rows, c_out) = (part.offsets.len(), part.g.c_out);
    let size = rows * c_out;
    par::scratch(&CHAINS, blocks * size, |chains| {
        let per = blocks.div_ceil(par::threads());
        let base = Out(chains.as_mut_ptr());
        (0..blocks.div_ceil(per)).into_par_iter().for_each(|i| {
            let range = i * per..((i + 1) * per).min(blocks);
            // SAFETY: each task writes only its own blocks' chains.
            unsafe { part.blocks(range, |j| base.at(j * size), |_| false) }
        });
        let (sum, rest) = chains.split_at_mut(size);
        if accumulate {
            par::scratch(&COPY, size, |old| {
                transposed(dw.as_mut_ptr(), rows, old.as_mut_ptr(), c_out, rows, false);
                // old + chain, in the kernels' operand order (it decides which NaN's
                // payload survives).
                #[allow(clippy::assign_op_pattern)]
                sum.iter_mut().zip(&*old).for_each(|(s, o)| *s = o + *s);
            });
        }
        for chain in rest.chunks_exact(size) {
            sum.iter_mut().zip(chain).for_each(|(s, c)| *s += c);
        }
        transposed(dw.as_mut_ptr(), rows, sum.as_mut_ptr(), c_out, rows, true);
    });
}

/// The rows of dw one thread computes.
struct Part<'a> {
    g: &'a Taps,
    x_pad: &'a [f32],
    /// (c_out, NP).
    y_t: &'a [f32],
    /// x_pad offset of each row's tap.
    offsets: &'a [u32],
    /// x_pad offset of each column's tap (0, 0, 0).
    pixels: &'a [u32],
    stride: usize,
}

impl Part<'_> {
    /// dwᵀ for this part's rows in a row-major copy (dw's values first when accumulating),
    /// every k block, then written to dw (`dw` at the part's first column, `k` columns a row).
    #[target_feature(enable = "avx512f")]
    unsafe fn run(&self, accumulate: bool, dw: *mut f32, k: usize) {
        let (rows, c_out) = (self.offsets.len(), self.g.c_out);
        par::scratch(&COPY, rows * c_out, |out| {
            if accumulate {
                transposed(dw, k, out.as_mut_ptr(), c_out, rows, false);
            }
            let blocks = self.pixels.len().div_ceil(KC);
            let at = out.as_mut_ptr();
            self.blocks(0..blocks, |_| at, |j| accumulate || j > 0);
            transposed(dw, k, at, c_out, rows, true);
        })
    }

    /// For k blocks `range` of this part's rows: block j's product into `out(j)` (rows x
    /// c_out, row-major), added to what it holds when `add(j)`.
    #[target_feature(enable = "avx512f")]
    unsafe fn blocks(
        &self,
        range: std::ops::Range<usize>,
        out: impl Fn(usize) -> *mut f32,
        add: impl Fn(usize) -> bool,
    ) {
        let (rows, c_out) = (self.offsets.len(), self.g.c_out);
        let np = self.pixels.len();
        let passes = c_out.div_ceil(PANEL);
        par::scratch(&WORK, passes * KC * PANEL + ROWS * KC, |buf| {
            let (panels, a) = buf.split_at_mut(passes * KC * PANEL);
            let mut span = Span::new(self.stride);
            for j in range {
                let (k0, dst) = (j * KC, out(j));
                let kl = (np - k0).min(KC);
                self.gather(k0, kl, panels);
                span.set(self.pixels, self.g.out[2], k0, kl);
                for r0 in (0..rows).step_by(ROWS) {
                    let block = (rows - r0).min(ROWS);
                    for (i, &tap) in self.offsets[r0..r0 + block].iter().enumerate() {
                        span.pack(self.x_pad, tap, a.as_mut_ptr().add(i * KC));
                    }
                    for pass in 0..passes {
                        let co0 = pass * PANEL;
                        panel_rows(
                            block,
                            (c_out - co0).min(PANEL),
                            a.as_ptr(),
                            KC as isize,
                            panels.as_ptr().add(pass * KC * PANEL),
                            kl,
                            dst.add(r0 * c_out + co0),
                            c_out as isize,
                            add(j),
                        );
                    }
                }
            }
        })
    }

    /// The panels of y_t's columns k0..k0 + kl: panel p's row kk holds y_t[48p.., k0 + kk]
    /// (zero past c_out), gathered 16 channels at a time.
    #[target_feature(enable = "avx512f")]
    unsafe fn gather(&self, k0: usize, kl: usize, panels: &mut [f32]) {
        let (c_out, np) = (self.g.c_out, self.pixels.len());
        let index = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(np as i32),
        );
        for v in 0..c_out.div_ceil(16) {
            let co0 = 16 * v;
            let mask = ((1u32 << (c_out - co0).min(16)) - 1) as u16;
            let dst = panels
                .as_mut_ptr()
                .add(co0 / PANEL * KC * PANEL + co0 % PANEL);
            let src = self.y_t.as_ptr().add(co0 * np + k0);
            for kk in 0..kl {
                let v = _mm512_mask_i32gather_ps::<4>(
                    _mm512_setzero_ps(),
                    mask,
                    index,
                    src.add(kk).cast(),
                );
                _mm512_storeu_ps(dst.add(kk * PANEL), v);
            }
        }
        // A last panel of fewer than three vectors: its unused vectors are never read.
    }
}

//! The GEMM under every product twin: an AVX-512 kernel for out blocks of at least one panel
//! (48 columns), `matrixmultiply` otherwise and on CPUs without AVX-512.
//!
//! `matrixmultiply` packs both operands for every block, which costs more than it saves on the
//! thin products of convolutions (8 to 64 output channels against thousands of columns: 55-85
//! GFLOP/s a core here, against 160 at 512³). This kernel packs only a panel of b (256 x 48
//! values, in L1/L2), reads a in place and keeps 8 rows x 48 columns of out in 24 registers.
//! It sums in `matrixmultiply`'s order: k in blocks of 256, each block a fused multiply-add chain
//! from zero, added to out after the first (or from the start when accumulating), so its
//! results are bit for bit `matrixmultiply`'s (unit test below; every pinned run unchanged), and
//! any cut of out into pieces gives the same values.

/// k is summed in blocks of this many terms, as `matrixmultiply` does for f32.
pub const KC: usize = 256;
/// Rows of out per register block.
const MB: usize = 8;
/// 16-lane vectors per row of the register block.
const SB: usize = 3;
/// Columns of out per panel (and values per row of a packed panel).
pub const PANEL: usize = 16 * SB;
/// Columns of out up to which a product whose b runs down its columns (a weight gradient's
/// colsᵀ or dy_tᵀ, contiguous along k) goes to the thin kernel instead of `matrixmultiply`:
/// a read in place, b's one panel gathered (two vectors).
const THIN: usize = 32;
/// Rows of out from which the thin kernel runs: the gathers are repaid over the row blocks.
const THIN_MIN_ROWS: usize = 64;
/// Columns of out below which a row-major a is read in place rather than copied into blocks
/// of MB rows. One thread, out = a·b: 128 x 128 (k 2304) 87-92 -> 115-118 GFLOP/s, 128 x 256
/// 100-102 -> 115-120, 64 x 256 (k 1152) 104-109 -> 118-123, 32 x 512 (k 576) 104-106 -> 116-120,
/// 128 x 539 (k 1024) 120-121 -> 118-124; at 3136 columns the copy pays (64 rows: 110-117
/// copied, 104-108 in place).
const IN_PLACE_BELOW_COLUMNS: usize = 1024;
/// The kernel copies a whole (m x k) first; larger products go to `matrixmultiply`.
const PACKED_A_MAX: usize = 1 << 20;

/// out = a·b (+ out when `accumulate`) for out (m, n), a (m, k), b (k, n), each at its (row,
/// column) strides in elements.
///
/// # Safety
/// Every element the strides reach must lie inside its allocation, and out's elements must not
/// alias a's or b's.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    (m, k, n): (usize, usize, usize),
    a: *const f32,
    (rsa, csa): (isize, isize),
    b: *const f32,
    (rsb, csb): (isize, isize),
    accumulate: bool,
    out: *mut f32,
    (rso, cso): (isize, isize),
) {
    #[cfg(target_arch = "x86_64")]
    {
        // A weight gradient's product: few columns, b walked down its columns, a along its rows.
        let thin = |m: usize, n: usize, sa: (isize, isize), sb: (isize, isize)| {
            let gatherable = sb.1 > 0 && (sb.1 as u64) * (16 * 4) < 1 << 31;
            (1..=THIN).contains(&n)
                && m >= THIN_MIN_ROWS
                && k > 0
                && sa.1 == 1
                && sb.0 == 1
                && gatherable
        };
        if rso == 1 && cso != 1 && thin(m, n, (rsa, csa), (rsb, csb)) && avx512() {
            return x86::thin_into_columns(m, k, n, a, rsa, b, csb, accumulate, out, cso);
        }
        // A column-major out is computed as its transpose: outᵀ = bᵀ·aᵀ (each element is the
        // same chain of products, so the same bits).
        let (m, n, a, sa, b, sb, so) = if cso == 1 || rso != 1 {
            (m, n, a, (rsa, csa), b, (rsb, csb), (rso, cso))
        } else {
            (n, m, b, (csb, rsb), a, (csa, rsa), (cso, rso))
        };
        if so.1 == 1 && sb.1 == 1 && n >= PANEL && k > 0 && m * k <= PACKED_A_MAX && avx512() {
            return x86::gemm(m, k, n, a, sa, b, sb, accumulate, out, so.0);
        }
        if so.1 == 1 && thin(m, n, sa, sb) && avx512() {
            return x86::thin(m, k, n, a, sa.0, b, sb.1, accumulate, out, so.0);
        }
    }
    let beta = if accumulate { 1.0 } else { 0.0 };
    matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, out, rso, cso);
}

/// out (rows x width, row stride `rso`) = a (rows x kl, row stride `a_row`) · a panel of kl
/// rows of PANEL values packed by the caller (width <= PANEL columns used), added to out when
/// `add`: the kernel's register blocks, each element one chain from zero (the direct weight
/// gradient's product, `cpu::conv_weight_grad`).
///
/// # Safety
/// AVX-512 must be present ([`avx512`]); a, the panel and out must hold what the sizes reach.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn panel_rows(
    rows: usize,
    width: usize,
    a: *const f32,
    a_row: isize,
    panel: *const f32,
    kl: usize,
    out: *mut f32,
    rso: isize,
    add: bool,
) {
    x86::panel_rows(rows, width, a, a_row, panel, kl, out, rso, add)
}

/// Whether this CPU runs the AVX-512 kernel (`WGPU_GAN_CPU_GEMM=matrixmultiply` turns it off).
pub fn avx512() -> bool {
    use std::sync::OnceLock;
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let off = std::env::var("WGPU_GAN_CPU_GEMM").is_ok_and(|v| v == "matrixmultiply");
        #[cfg(target_arch = "x86_64")]
        let has = std::arch::is_x86_feature_detected!("avx512f");
        #[cfg(not(target_arch = "x86_64"))]
        let has = false;
        has && !off
    })
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{IN_PLACE_BELOW_COLUMNS, KC, MB, PANEL, SB};
    use crate::cpu::par::{line_start, LINE_WORDS};
    use std::arch::x86_64::*;

    /// Lane masks of the panel's vectors for a panel `width` columns wide.
    fn masks(width: usize) -> [u16; SB] {
        let mut m = [0u16; SB];
        for (s, mask) in m.iter_mut().enumerate() {
            let cols = width.saturating_sub(16 * s).min(16);
            *mask = ((1u32 << cols) - 1) as u16;
        }
        m
    }

    thread_local! {
        /// The thread's panel (and copy of a), kept between calls (a conv step calls once per
        /// block of samples); nothing in the kernels can call back into it.
        static PANEL_BUF: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// `super::sgemm` for a row-major out (column stride 1) with `rso` between rows.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        sa: (isize, isize),
        b: *const f32,
        (rsb, csb): (isize, isize),
        accumulate: bool,
        out: *mut f32,
        rso: isize,
    ) {
        debug_assert_eq!(csb, 1);
        // A row-major a is read in place where out is narrow: the copy is repaid over the
        // panels only when there are many.
        let in_place = sa.1 == 1 && n < IN_PLACE_BELOW_COLUMNS;
        PANEL_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            let copy = if in_place { 0 } else { m.div_ceil(MB) * MB * k };
            let need = KC * PANEL + copy + LINE_WORDS;
            if buf.len() < need {
                buf.resize(need, 0.0);
            }
            // The panel on a cache line (`par::scratch`).
            let p = buf.as_mut_ptr().add(line_start(&buf));
            gemm_with(
                m,
                k,
                n,
                a,
                sa,
                b,
                rsb,
                accumulate,
                out,
                rso,
                p,
                (!in_place).then(|| p.add(KC * PANEL)),
            )
        })
    }

    /// [`gemm`] with the panel of b at `p` (KC x PANEL values) and a copy of a at `ap` (m rows
    /// rounded up to MB, times k), or a read in place when `ap` is None; every value is written
    /// before it is read.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    unsafe fn gemm_with(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        sa: (isize, isize),
        b: *const f32,
        rsb: isize,
        accumulate: bool,
        out: *mut f32,
        rso: isize,
        p: *mut f32,
        ap: Option<*mut f32>,
    ) {
        // a as blocks of MB rows, each k steps of MB values, so that a register block's
        // broadcasts come from one line per step (a transposed a's rows lie pages apart).
        let at = |ap: *mut f32, i: usize, kk: usize| ap.add((i / MB) * k * MB + kk * MB + i % MB);
        if let Some(ap) = ap {
            if sa.0 == 1 {
                // Transposed a: walk its contiguous rows.
                for kk in 0..k {
                    let src = a.offset(kk as isize * sa.1);
                    for i in 0..m {
                        *at(ap, i, kk) = *src.add(i);
                    }
                }
            } else {
                for i in 0..m {
                    let src = a.offset(i as isize * sa.0);
                    for kk in 0..k {
                        *at(ap, i, kk) = *src.offset(kk as isize * sa.1);
                    }
                }
            }
        }
        for j0 in (0..n).step_by(PANEL) {
            let width = (n - j0).min(PANEL);
            let mask = masks(width);
            for k0 in (0..k).step_by(KC) {
                let kl = (k - k0).min(KC);
                // The panel: b[k0.., j0..] as rows of PANEL values, zero past the last column.
                // (Reading b in place instead was slower: its rows are far apart.)
                let src = b.offset(k0 as isize * rsb + j0 as isize);
                for kk in 0..kl {
                    let row = src.offset(kk as isize * rsb);
                    for (s, &ms) in mask.iter().enumerate() {
                        let v = _mm512_maskz_loadu_ps(ms, row.add(16 * s));
                        _mm512_storeu_ps(p.add(kk * PANEL + 16 * s), v);
                    }
                }
                let add = accumulate || k0 > 0;
                let mut i0 = 0;
                while i0 < m {
                    let rows = (m - i0).min(MB);
                    let blk = Block {
                        a: match ap {
                            Some(ap) => at(ap, i0, k0),
                            None => a.offset(i0 as isize * sa.0).add(k0),
                        },
                        sa: match ap {
                            Some(_) => (1, MB as isize),
                            None => (sa.0, 1),
                        },
                        b: p,
                        kl,
                        out: out.offset(i0 as isize * rso + j0 as isize),
                        rso,
                        mask,
                        add,
                    };
                    // A panel cut short computes only the vectors it has.
                    match width.div_ceil(16) {
                        3 => blk.rows::<3>(rows),
                        2 => blk.rows::<2>(rows),
                        _ => blk.rows::<1>(rows),
                    }
                    i0 += MB;
                }
            }
        }
    }

    thread_local! {
        /// `thin_into_columns`' row-major copy of out.
        static ROWS_BUF: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// `super::sgemm` for n <= THIN columns, a row-major (row stride `rsa`, read in place),
    /// b contiguous down its columns (column stride `csb`), out row-major (row stride `rso`):
    /// per block of k, b's panel gathered (16 columns at a time), then every block of MB rows
    /// of out; each element's chain is the other kernel's (and `matrixmultiply`'s).
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn thin(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        rsa: isize,
        b: *const f32,
        csb: isize,
        accumulate: bool,
        out: *mut f32,
        rso: isize,
    ) {
        debug_assert!((1..=2 * 16).contains(&n));
        PANEL_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            if buf.len() < KC * PANEL + LINE_WORDS {
                buf.resize(KC * PANEL + LINE_WORDS, 0.0);
            }
            let p = buf.as_mut_ptr().add(line_start(&buf));
            let mask = masks(n);
            let index = _mm512_mullo_epi32(
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                _mm512_set1_epi32(csb as i32),
            );
            for k0 in (0..k).step_by(KC) {
                let kl = (k - k0).min(KC);
                // The panel: row kk holds b[k0 + kk, 0..n] (columns past n zero), gathered from
                // n columns that each run front to back as kk goes.
                for kk in 0..kl {
                    for (s, &ms) in mask.iter().enumerate() {
                        let base = b.wrapping_offset((k0 + kk) as isize + (16 * s) as isize * csb);
                        let v = _mm512_mask_i32gather_ps::<4>(
                            _mm512_setzero_ps(),
                            ms,
                            index,
                            base.cast(),
                        );
                        _mm512_storeu_ps(p.add(kk * PANEL + 16 * s), v);
                    }
                }
                let add = accumulate || k0 > 0;
                panel_rows(m, n, a.add(k0), rsa, p, kl, out, rso, add);
            }
        })
    }

    /// `super::panel_rows`: 24 accumulators a register block (24 rows of one vector, 12 of
    /// two, 8 of three), then the rest of the rows 8 at a time.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn panel_rows(
        m: usize,
        width: usize,
        a: *const f32,
        rsa: isize,
        b: *const f32,
        kl: usize,
        out: *mut f32,
        rso: isize,
        add: bool,
    ) {
        let mask = masks(width);
        let blk = |i0: usize| Block {
            a: a.offset(i0 as isize * rsa),
            sa: (rsa, 1),
            b,
            kl,
            out: out.offset(i0 as isize * rso),
            rso,
            mask,
            add,
        };
        let vectors = width.div_ceil(16);
        let tall = [24, 12, MB][vectors.clamp(1, SB) - 1];
        let mut i0 = 0;
        while m - i0 >= tall {
            match vectors {
                1 => blk(i0).run::<24, 1>(),
                2 => blk(i0).run::<12, 2>(),
                _ => blk(i0).run::<MB, 3>(),
            }
            i0 += tall;
        }
        while i0 < m {
            let rows = (m - i0).min(MB);
            match vectors {
                1 => blk(i0).rows::<1>(rows),
                2 => blk(i0).rows::<2>(rows),
                _ => blk(i0).rows::<3>(rows),
            }
            i0 += MB;
        }
    }

    /// [`thin`] for a column-major out (column stride `cso`): computed in a row-major copy
    /// (out's values first when accumulating, so each element sees the same additions), then
    /// written back.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn thin_into_columns(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        rsa: isize,
        b: *const f32,
        csb: isize,
        accumulate: bool,
        out: *mut f32,
        cso: isize,
    ) {
        ROWS_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            if buf.len() < m * n {
                buf.resize(m * n, 0.0);
            }
            let rows = buf.as_mut_ptr();
            if accumulate {
                for i in 0..m {
                    for j in 0..n {
                        *rows.add(i * n + j) = *out.offset(i as isize + j as isize * cso);
                    }
                }
            }
            thin(m, k, n, a, rsa, b, csb, accumulate, rows, n as isize);
            for j in 0..n {
                for i in 0..m {
                    *out.offset(i as isize + j as isize * cso) = *rows.add(i * n + j);
                }
            }
        })
    }

    /// R rows of out by one panel, over one block of k.
    struct Block {
        a: *const f32,
        sa: (isize, isize),
        /// The panel of b: rows of PANEL values.
        b: *const f32,
        kl: usize,
        out: *mut f32,
        rso: isize,
        mask: [u16; SB],
        add: bool,
    }

    impl Block {
        #[target_feature(enable = "avx512f")]
        unsafe fn rows<const S: usize>(&self, rows: usize) {
            match rows {
                8 => self.run::<8, S>(),
                7 => self.run::<7, S>(),
                6 => self.run::<6, S>(),
                5 => self.run::<5, S>(),
                4 => self.run::<4, S>(),
                3 => self.run::<3, S>(),
                2 => self.run::<2, S>(),
                _ => self.run::<1, S>(),
            }
        }

        /// R rows by the panel's first S vectors.
        #[target_feature(enable = "avx512f")]
        unsafe fn run<const R: usize, const S: usize>(&self) {
            let mut acc = [[_mm512_setzero_ps(); S]; R];
            let rows: [*const f32; R] =
                std::array::from_fn(|r| self.a.offset(r as isize * self.sa.0));
            for kk in 0..self.kl {
                let b = self.b.add(kk * PANEL);
                let bv: [__m512; S] = std::array::from_fn(|s| _mm512_loadu_ps(b.add(16 * s)));
                let off = kk as isize * self.sa.1;
                for r in 0..R {
                    let av = _mm512_set1_ps(*rows[r].offset(off));
                    for s in 0..S {
                        acc[r][s] = _mm512_fmadd_ps(av, bv[s], acc[r][s]);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let o = self.out.offset(r as isize * self.rso);
                for (s, &v) in acc.iter().enumerate() {
                    let ms = self.mask[s];
                    let dst = o.add(16 * s);
                    let v = if self.add {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(ms, dst), v)
                    } else {
                        v
                    };
                    _mm512_mask_storeu_ps(dst, ms, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let h = (i as u32 ^ seed).wrapping_mul(0x9e37_79b9).rotate_left(13);
                (h % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    /// Bit for bit `matrixmultiply` on every layout the product twins use (a and b transposed
    /// or not, out row- or column-major), k below, at and across the 256 block, panels cut
    /// short, with and without accumulation. Without AVX-512 both sides are `matrixmultiply`.
    #[test]
    fn sgemm_is_matrixmultiply_bit_for_bit() {
        let shapes = [
            (16, 288, 1024),
            (3, 7, 50),
            (33, 600, 97),
            (64, 256, 48),
            (9, 513, 130),
            (40, 32, 200),
            (288, 16, 1000),
            (12, 300, 75),
            (200, 300, 16),
            (432, 600, 32),
            (64, 513, 20),
            (70, 256, 5),
        ];
        for (m, k, n) in shapes {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let start = values(m * n, 3);
            for (ta, tb, tc, acc) in
                (0..16).map(|i| (i & 1 != 0, i & 2 != 0, i & 4 != 0, i & 8 != 0))
            {
                let sa = if ta { (1, m as isize) } else { (k as isize, 1) };
                let sb = if tb { (1, k as isize) } else { (n as isize, 1) };
                let so = if tc { (1, m as isize) } else { (n as isize, 1) };
                let mut ours = start.clone();
                let mut theirs = start.clone();
                let beta = if acc { 1.0 } else { 0.0 };
                // SAFETY: every stride stays inside the vectors, sized for the shape.
                unsafe {
                    sgemm(
                        (m, k, n),
                        a.as_ptr(),
                        sa,
                        b.as_ptr(),
                        sb,
                        acc,
                        ours.as_mut_ptr(),
                        so,
                    );
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        sa.0,
                        sa.1,
                        b.as_ptr(),
                        sb.0,
                        sb.1,
                        beta,
                        theirs.as_mut_ptr(),
                        so.0,
                        so.1,
                    );
                }
                let differ = ours
                    .iter()
                    .zip(&theirs)
                    .filter(|(x, y)| x.to_bits() != y.to_bits());
                assert_eq!(
                    differ.count(),
                    0,
                    "{m}x{k}x{n} ta {ta} tb {tb} tc {tc} acc {acc}"
                );
            }
        }
    }
}

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
        if let Some(g) = unsafe { x86::Gathers::of(&d) } {
            par::rows(cols, np, |k, row| unsafe {
                x86::im2col_row_gathered(&d, &g, x, k, row)
            });
        } else {
            par::rows(cols, np, |k, row| unsafe { x86::im2col_row(&d, x, k, row) });
        }
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

    /// For maps at most half a vector wide: where each of 16 consecutive columns of a cols row (the
    /// output pixels of several rows, and samples) reads x, per tap, over the columns of
    /// `samples` samples (after which the pattern repeats, one sample's planes further on).
    pub(super) struct Gathers {
        samples: usize,
        vectors: usize,
        /// Per (tap, vector): x offsets from the first sample's plane of the row's channel, and
        /// the lanes whose tap lands inside x.
        at: Vec<([i32; 16], u16)>,
    }

    /// Gather tables larger than this (taps x vectors) are not built; the rows go one at a time.
    const MAX_GATHERS: usize = 1 << 14;

    impl Gathers {
        /// The tables, when the output rows are at most 8 columns, the tables small and the
        /// rows many.
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn of(d: &Dims) -> Option<Self> {
            let (samples, _) = period(d)?;
            // The tables cost about as much as a row of `samples` samples for each tap; build
            // them only where the rows are many times that.
            if d.c_in * d.n < 32 * samples {
                return None;
            }
            Self::build(d)
        }

        /// The tables whenever they are small (the test calls this directly).
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn build(d: &Dims) -> Option<Self> {
            let taps = d.kh * d.kw;
            let x_sample = d.c_in * d.h * d.w;
            let (samples, vectors) = period(d)?;
            let period = vectors * 16;
            if taps * vectors > MAX_GATHERS || (samples * x_sample) as u64 >= 1 << 30 {
                return None;
            }
            let mut at = vec![([0i32; 16], 0u16); taps * vectors];
            for t in 0..taps {
                let (ky, kx) = (t / d.kw, t % d.kw);
                let (mut b, mut oy, mut ox) = (0, 0, 0);
                for j in 0..period {
                    let iy = (oy * d.s + ky).wrapping_sub(d.pad);
                    let ix = (ox * d.s + kx).wrapping_sub(d.pad);
                    if iy < d.h && ix < d.w {
                        let (idx, mask) = &mut at[t * vectors + j / 16];
                        idx[j % 16] = (b * x_sample + iy * d.w + ix) as i32;
                        *mask |= 1 << (j % 16);
                    }
                    ox += 1;
                    if ox == d.ow {
                        (ox, oy) = (0, oy + 1);
                        if oy == d.oh {
                            (oy, b) = (0, b + 1);
                        }
                    }
                }
            }
            Some(Self {
                samples,
                vectors,
                at,
            })
        }
    }

    /// (samples, vectors) after which a cols row's pattern repeats, for output rows of at most 8
    /// columns; rows of 9 to 15 are not measured to gain (28 to 14 at stride 2: 0.28 ns a value
    /// one row at a time, 0.36 gathered).
    fn period(d: &Dims) -> Option<(usize, usize)> {
        let plane = d.oh * d.ow;
        if d.ow > 8 || plane == 0 {
            return None;
        }
        let period = plane * 16 / gcd(plane, 16);
        Some((period / plane, period / 16))
    }

    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    /// [`super::im2col_row`] for maps at most 8 wide: 16 columns a gather (the taps that
    /// land in the padding are zeros) and one store, across row and sample boundaries.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn im2col_row_gathered(
        d: &Dims,
        g: &Gathers,
        x: &[f32],
        k: usize,
        row: &mut [f32],
    ) {
        let taps = d.kh * d.kw;
        let (ci, t) = (k / taps, k % taps);
        let (plane, x_plane) = (d.oh * d.ow, d.h * d.w);
        let total = d.n * plane;
        assert!(row.len() >= total && x.len() >= d.n * d.c_in * x_plane);
        let table = &g.at[t * g.vectors..][..g.vectors];
        for b0 in (0..d.n).step_by(g.samples) {
            let base = x.as_ptr().add((b0 * d.c_in + ci) * x_plane);
            let out = row.as_mut_ptr().add(b0 * plane);
            let left = total - b0 * plane;
            for (v, (idx, mask)) in table.iter().enumerate() {
                let c0 = v * 16;
                if c0 >= left {
                    break;
                }
                let store = if left - c0 >= 16 {
                    u16::MAX
                } else {
                    ((1u32 << (left - c0)) - 1) as u16
                };
                // Lanes past the last sample are neither read nor written.
                let index = _mm512_loadu_si512(idx.as_ptr().cast());
                let val =
                    _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask & store, index, base);
                _mm512_mask_storeu_ps(out.add(c0), store, val);
            }
        }
    }

    /// One tap's share of a 16-column block of an x row: the cols values at `off` from the
    /// plane's first, loaded, permuted and added as `lanes[lane]` says (a small table per
    /// (kx, block), so that a plane 64 wide with a 3x3 kernel keeps its 2,304 ops in 36 KB).
    #[derive(Clone, Copy)]
    struct TapOp {
        off: usize,
        lane: usize,
    }

    /// Which lanes of a 16-column block one kx reaches (`hit`), the lanes of cols to load from
    /// its first ox on (`load`), and each hit lane's place among them (`idx`).
    #[derive(Clone, Copy)]
    struct Lanes {
        hit: u16,
        load: u16,
        idx: __m512i,
    }

    /// What every plane of a col2im does to each 16-column block of each x row: the (ky, kx)
    /// that reach it, ky then kx ascending, as [`TapOp`]s. Lane l (x column cb·16 + l) takes
    /// the tap's output column ox = (cb·16 + l + pad - kx) / s when that divides and lies in
    /// the map. Found once a call (found per plane and row, the stride's divisions and the
    /// offsets' products were most of col2im's time).
    pub(super) struct ColLanes {
        blocks: usize,
        lanes: Vec<Lanes>,
        ops: Vec<TapOp>,
        /// Block (iy, cb)'s ops are `ops[at[iy·blocks + cb]..at[iy·blocks + cb + 1]]`.
        at: Vec<usize>,
    }

    thread_local! {
        /// The last table built on this thread and its geometry (`ColLanes::cached`).
        static LAST: std::cell::RefCell<Option<(Key, std::rc::Rc<ColLanes>)>> =
            const { std::cell::RefCell::new(None) };
    }

    /// What a table depends on: every size of the geometry but the channels.
    type Key = [usize; 9];

    impl ColLanes {
        /// [`ColLanes::of`], reused while the geometry stays the same.
        ///
        /// # Safety
        /// AVX-512F must be present.
        pub(super) unsafe fn cached(d: &Dims) -> std::rc::Rc<Self> {
            let key = [d.n, d.h, d.w, d.oh, d.ow, d.kh, d.kw, d.s, d.pad];
            LAST.with(|last| {
                let mut last = last.borrow_mut();
                match &*last {
                    Some((k, lanes)) if *k == key => lanes.clone(),
                    _ => {
                        let lanes = std::rc::Rc::new(Self::of(d));
                        *last = Some((key, lanes.clone()));
                        lanes
                    }
                }
            })
        }

        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn of(d: &Dims) -> Self {
            let (blocks, np) = (d.w.div_ceil(16), d.n * d.oh * d.ow);
            // Per (kx, block): the lanes the tap reaches, its first ox, the lanes of cols to
            // load from there, and each lane's place among them.
            let mut lanes = Vec::with_capacity(d.kw * blocks);
            for kx in 0..d.kw {
                for cb in 0..blocks {
                    let ox = |l: usize| {
                        let t = (cb * 16 + l + d.pad).checked_sub(kx)?;
                        let inside = cb * 16 + l < d.w && t % d.s == 0 && t / d.s < d.ow;
                        inside.then_some(t / d.s)
                    };
                    let hits: Vec<(usize, usize)> =
                        (0..16).filter_map(|l| Some((l, ox(l)?))).collect();
                    let first = hits.first().map_or(0, |h| h.1);
                    let mut idx = [0i32; 16];
                    let (mut hit, mut load) = (0u16, 0u16);
                    for &(l, o) in &hits {
                        hit |= 1 << l;
                        idx[l] = (o - first) as i32;
                        load |= 1 << (o - first);
                    }
                    lanes.push((hit, first, load, idx));
                }
            }
            let (mut ops, mut at) = (Vec::new(), vec![0]);
            for iy in 0..d.h {
                // The (ky, oy) whose taps reach row iy.
                let reach: Vec<(usize, usize)> = (0..d.kh)
                    .filter_map(|ky| {
                        let t = (iy + d.pad).checked_sub(ky)?;
                        (t % d.s == 0 && t / d.s < d.oh).then_some((ky, t / d.s))
                    })
                    .collect();
                for cb in 0..blocks {
                    for &(ky, oy) in &reach {
                        for kx in 0..d.kw {
                            let lane = kx * blocks + cb;
                            let (hit, first, _, _) = lanes[lane];
                            if hit != 0 {
                                let off = (ky * d.kw + kx) * np + oy * d.ow + first;
                                ops.push(TapOp { off, lane });
                            }
                        }
                    }
                    at.push(ops.len());
                }
            }
            let lanes = lanes
                .iter()
                .map(|&(hit, _, load, idx)| Lanes {
                    hit,
                    load,
                    idx: _mm512_loadu_si512(idx.as_ptr().cast()),
                })
                .collect();
            Self {
                blocks,
                lanes,
                ops,
                at,
            }
        }
    }

    /// [`super::col2im_plane`] 16 columns of an x row a vector: each (ky, kx) that reaches the
    /// row adds its cols values (a masked load, permuted to the lanes they land on) to those
    /// lanes only, taps in the same (ky, kx) order from zero, then the bias: each element the
    /// same additions in the same order.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn col2im_plane(
        d: &Dims,
        lanes: &ColLanes,
        cols: &[f32],
        bias: Option<f32>,
        i: usize,
        x_p: &mut [f32],
    ) {
        let (np, plane, taps) = (d.n * d.oh * d.ow, d.oh * d.ow, d.kh * d.kw);
        let (b, ci) = (i / d.c_in, i % d.c_in);
        assert!(x_p.len() >= d.h * d.w);
        let c = cols.as_ptr().add(ci * taps * np + b * plane);
        for iy in 0..d.h {
            for cb in 0..lanes.blocks {
                let j = iy * lanes.blocks + cb;
                let mut acc = _mm512_setzero_ps();
                for op in &lanes.ops[lanes.at[j]..lanes.at[j + 1]] {
                    // SAFETY: `of` made every op's lane an index of `lanes`.
                    let l = lanes.lanes.get_unchecked(op.lane);
                    let v = _mm512_maskz_loadu_ps(l.load, c.add(op.off));
                    let v = _mm512_permutexvar_ps(l.idx, v);
                    acc = _mm512_mask_add_ps(acc, l.hit, acc, v);
                }
                if let Some(bv) = bias {
                    acc = _mm512_add_ps(acc, _mm512_set1_ps(bv));
                }
                let row_mask = lane_mask(cb * 16, (0, d.w));
                _mm512_mask_storeu_ps(x_p.as_mut_ptr().add(iy * d.w + cb * 16), row_mask, acc);
            }
        }
    }
}

/// x (N, C_in, H, W) = col2im(cols) (+ bias[ci]): the adjoint of im2col, so each x element sums
/// the cols entries it was copied to, taps in (ky, kx) order as the shader gathers them.
pub fn col2im(p: &ConvParams, cols: &[f32], bias: &[f32], x: &mut [f32]) {
    let d = Dims::of(p);
    let (np, x_plane) = (d.n * d.oh * d.ow, d.h * d.w);
    let taps = d.kh * d.kw;
    let x = &mut x[..d.n * d.c_in * x_plane];
    let bias_of = |ci: usize| (p.flags & HAS_BIAS != 0).then(|| bias[ci]);
    #[cfg(target_arch = "x86_64")]
    if super::conv2d::wide() {
        assert!(cols.len() >= d.c_in * taps * np);
        // SAFETY: the CPU has AVX-512F; cols holds every tap row (asserted above).
        let lanes = unsafe { x86::ColLanes::of(&d) };
        // Planes in channel-major order (every sample of a channel in turn), so that each tap
        // row of cols is read front to back.
        let planes = d.n * d.c_in;
        let x_at = Planes(x.as_mut_ptr());
        let run = |j: usize| {
            let (ci, b) = (j / d.n, j % d.n);
            let i = b * d.c_in + ci;
            let x_at = &x_at;
            // SAFETY: each j is one plane of x, written by this call alone.
            let x_p = unsafe { std::slice::from_raw_parts_mut(x_at.0.add(i * x_plane), x_plane) };
            unsafe { x86::col2im_plane(&d, &lanes, cols, bias_of(ci), i, x_p) };
        };
        if planes * x_plane < par::MIN_PARALLEL || par::threads() == 1 {
            (0..planes).for_each(run);
        } else {
            use rayon::prelude::*;
            (0..planes)
                .into_par_iter()
                .with_min_len(d.n.min(64))
                .for_each(run);
        }
        return;
    }
    par::rows(x, x_plane, |i, x_p| {
        col2im_plane(&d, cols, bias_of(i % d.c_in), i, x_p)
    });
}

/// [`col2im`] for channels `c0..c1` of x alone, on this thread, from their rows of cols only
/// (`cols` starts at channel c0's first tap row): each plane the same additions as col2im's.
pub fn col2im_channels(
    p: &ConvParams,
    cols: &[f32],
    (c0, c1): (usize, usize),
    bias: &[f32],
    x: &mut [f32],
) {
    let d = Dims::of(p);
    let x_plane = d.h * d.w;
    // The channels' own rows as a conv of c1 - c0 channels: plane b·(c1 - c0) + (ci - c0).
    let sub = Dims { c_in: c1 - c0, ..d };
    assert!(c0 <= c1 && c1 <= d.c_in && cols.len() >= sub.c_in * d.kh * d.kw * d.n * d.oh * d.ow);
    assert!(x.len() >= d.n * d.c_in * x_plane);
    let bias_of = |ci: usize| (p.flags & HAS_BIAS != 0).then(|| bias[ci]);
    // The conv step calls this a few channels at a time: the table is built once per geometry
    // (built per call, DVD-GAN's 64x64 frames, a channel a call, spent 15 ms an iteration on it).
    #[cfg(target_arch = "x86_64")]
    let lanes = super::conv2d::wide().then(|| {
        // SAFETY: the CPU has AVX-512F.
        unsafe { x86::ColLanes::cached(&d) }
    });
    for ci in c0..c1 {
        for b in 0..d.n {
            let i = b * sub.c_in + ci - c0;
            let x_p = &mut x[(b * d.c_in + ci) * x_plane..][..x_plane];
            #[cfg(target_arch = "x86_64")]
            if let Some(lanes) = &lanes {
                // SAFETY: AVX-512F (wide); cols holds the channels' tap rows (asserted above).
                unsafe { x86::col2im_plane(&sub, lanes, cols, bias_of(ci), i, x_p) };
                continue;
            }
            col2im_plane(&sub, cols, bias_of(ci), i, x_p);
        }
    }
}

/// x's planes for [`col2im`]'s threads, each of which writes planes no other one does.
struct Planes(*mut f32);
// SAFETY: the pointer is only written through, at disjoint planes, while `col2im` borrows x.
unsafe impl Sync for Planes {}
unsafe impl Send for Planes {}

/// Plane i = (b, ci) of [`col2im`].
fn col2im_plane(d: &Dims, cols: &[f32], bias: Option<f32>, i: usize, x_p: &mut [f32]) {
    let (np, plane, taps) = (d.n * d.oh * d.ow, d.oh * d.ow, d.kh * d.kw);
    {
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
        if let Some(bv) = bias {
            x_p.iter_mut().for_each(|v| *v += bv);
        }
    }
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

    /// (n, c_in, h, w, kh, kw, stride, pad).
    type Shape = (usize, usize, usize, usize, usize, usize, usize, usize);

    /// Strides 1 to 3, paddings that clip whole rows and columns, rows shorter and longer than a
    /// vector, kernels wider than the stride and not.
    const SHAPES: [Shape; 7] = [
        (2, 3, 8, 8, 3, 3, 1, 1),
        (2, 2, 14, 14, 4, 4, 2, 1),
        (1, 2, 40, 37, 3, 5, 1, 2),
        (3, 1, 28, 28, 4, 4, 2, 1),
        (1, 2, 9, 35, 3, 3, 3, 3),
        (2, 1, 5, 5, 5, 5, 1, 4),
        (1, 2, 7, 33, 1, 2, 2, 0),
    ];

    fn geometry((n, c_in, h, w, kh, kw, stride, pad): Shape) -> Conv2dGeometry {
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
        g
    }

    /// The AVX-512 planes are the plain ones bit for bit: every element the same additions in
    /// the same order (values of mixed signs and sizes, so that another order would round
    /// differently), with the bias and without.
    #[test]
    fn col2im_planes_in_vectors_are_the_plain_planes() {
        #[cfg(target_arch = "x86_64")]
        {
            if !crate::cpu::conv2d::wide() {
                eprintln!(
                    "skipped: this CPU has no AVX-512F, so the plain planes are all that run"
                );
                return;
            }
            for shape in SHAPES {
                let g = geometry(shape);
                let d = Dims::of(&g.params(0));
                let len = g.c_in * d.kh * d.kw * g.n * d.oh * d.ow;
                let cols: Vec<f32> = (0..len)
                    .map(|i| ((i * 7919) % 1013) as f32 * 0.37 - 150.0 + 1e-3 * i as f32)
                    .collect();
                // SAFETY: the CPU has AVX-512F; cols holds every tap row.
                let lanes = unsafe { x86::ColLanes::of(&d) };
                for i in 0..g.n * g.c_in {
                    for bias in [None, Some(0.3f32)] {
                        let mut plain = vec![-1.0; d.h * d.w];
                        let mut fast = vec![-2.0; d.h * d.w];
                        col2im_plane(&d, &cols, bias, i, &mut plain);
                        // SAFETY: as above.
                        unsafe { x86::col2im_plane(&d, &lanes, &cols, bias, i, &mut fast) };
                        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&fast), bits(&plain), "{g:?}, plane {i}, bias {bias:?}");
                    }
                }
            }
        }
    }

    /// col2im_channels, whose lane tables are kept between calls, gives col2im's planes when
    /// the geometry changes from call to call, here in its padding alone (the same output
    /// size), and back.
    #[test]
    fn col2im_channels_follows_a_changed_geometry() {
        let shape = |pad| (2, 3, 9, 9, 3, 3, 3, pad);
        for pad in [1, 0, 1, 0] {
            let g = geometry(shape(pad));
            let p = g.params(0);
            let d = Dims::of(&p);
            let len = g.c_in * d.kh * d.kw * g.n * d.oh * d.ow;
            let cols: Vec<f32> = (0..len).map(|i| (i % 37) as f32 * 0.5 - 9.0).collect();
            let (mut whole, mut chunks) = (vec![0.0; g.x_len()], vec![1.0; g.x_len()]);
            col2im(&p, &cols, &[], &mut whole);
            col2im_channels(&p, &cols, (0, g.c_in), &[], &mut chunks);
            assert_eq!(whole, chunks, "pad {pad}");
        }
    }

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
            for shape in SHAPES {
                let g = geometry(shape);
                let (n, c_in, kh, kw) = (g.n, g.c_in, g.kh, g.kw);
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
                    // SAFETY: as above.
                    if let Some(gathers) = unsafe { x86::Gathers::build(&d) } {
                        let mut gathered = vec![-3.0; np];
                        unsafe { x86::im2col_row_gathered(&d, &gathers, &x, k, &mut gathered) };
                        assert_eq!(bits(&gathered), bits(&plain), "{g:?}, row {k}, gathered");
                    }
                }
            }
        }
    }
}

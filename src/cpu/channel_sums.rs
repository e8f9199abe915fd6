//! Per-channel sums over (N, C, HW) tensors for batch norm and the conv bias gradient: each
//! channel's sum is one chain of adds in (b, s) order from zero, exactly as the shaders'
//! per-channel loops add them, whatever the pieces or the threads.

use super::batch_norm::BatchNormParams;
use super::par;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Channels whose sums one thread advances together without AVX-512: each is still one chain
/// of adds in the serial order, but independent chains overlap, where one alone waits on every
/// add (BN was a tenth of a DCGAN iteration on the CPU path).
pub(super) const CHAINS: usize = 8;

/// Every channel's sum of v over its (b, s) values, into `out[ch]`, the channels cut in
/// pieces over the cores ([`piece`]).
pub(super) fn channel_sums(p: &BatchNormParams, v: &[f32], out: &mut [f32]) {
    let mut sums = vec![[0.0f32; 1]; p.c as usize];
    par::chunks(&mut sums, piece(p), work(p), |first, sums| {
        piece_sums(p, v, v, first, sums, &Value)
    });
    out[..sums.len()]
        .iter_mut()
        .zip(sums)
        .for_each(|(o, [s])| *o = s);
}

/// Channels a piece of work: about four pieces a thread, and at least CHAINS channels (fewer
/// would leave each chain waiting on its adds: a BatchNorm2d of 8 or 16 channels, as DVD-GAN's
/// G has, ran one channel a piece), or 16 for a BatchNorm1d (HW = 1).
pub(super) fn piece(p: &BatchNormParams) -> usize {
    let least = if p.hw == 1 { 16 } else { CHAINS };
    par::per_thread(p.c as usize).max(least)
}

/// Values in the tensor (work for `par::chunks`).
pub(super) fn work(p: &BatchNormParams) -> usize {
    (p.n * p.c * p.hw) as usize
}

/// S terms summed per channel from the values of two tensors at the same index: a scalar form,
/// and the same operations on 16 channels' lanes (AVX-512), so that either gives the same bits.
pub(super) trait Term<const S: usize>: Sync {
    fn at(&self, ch: usize, v: f32, w: f32) -> [f32; S];

    /// The terms of channels ch0..ch0 + 16 (lanes off in `mask` may hold anything).
    ///
    /// # Safety
    /// AVX-512 must be present; the caller inlines it into an AVX-512 function.
    #[cfg(target_arch = "x86_64")]
    unsafe fn lanes(&self, ch0: usize, mask: u16, v: __m512, w: __m512) -> [__m512; S];
}

/// v itself.
pub(super) struct Value;

impl Term<1> for Value {
    #[inline(always)]
    fn at(&self, _: usize, v: f32, _: f32) -> [f32; 1] {
        [v]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn lanes(&self, _: usize, _: u16, v: __m512, _: __m512) -> [__m512; 1] {
        [v]
    }
}

/// (v - mean)², `mean` indexed from channel `first`.
pub(super) struct SquaredDeviation<'a> {
    pub mean: &'a [f32],
    pub first: usize,
}

impl Term<1> for SquaredDeviation<'_> {
    #[inline(always)]
    fn at(&self, ch: usize, v: f32, _: f32) -> [f32; 1] {
        let m = self.mean[ch - self.first];
        [(v - m) * (v - m)]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn lanes(&self, ch0: usize, mask: u16, v: __m512, _: __m512) -> [__m512; 1] {
        let m = _mm512_maskz_loadu_ps(mask, self.mean.as_ptr().add(ch0 - self.first));
        let d = _mm512_sub_ps(v, m);
        [_mm512_mul_ps(d, d)]
    }
}

/// Batch norm's backward sums of v = dy and w = x: [dy, dy·(x - mean)·invstd].
pub(super) struct DyXhat<'a> {
    pub mean: &'a [f32],
    pub invstd: &'a [f32],
}

impl Term<2> for DyXhat<'_> {
    #[inline(always)]
    fn at(&self, ch: usize, d: f32, x: f32) -> [f32; 2] {
        [d, d * (x - self.mean[ch]) * self.invstd[ch]]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn lanes(&self, ch0: usize, mask: u16, d: __m512, x: __m512) -> [__m512; 2] {
        let m = _mm512_maskz_loadu_ps(mask, self.mean.as_ptr().add(ch0));
        let s = _mm512_maskz_loadu_ps(mask, self.invstd.as_ptr().add(ch0));
        [d, _mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(x, m)), s)]
    }
}

/// The sums of channels `first..first + sums.len()`, the samples outermost: a sample's rows of
/// the piece's channels lie together, so they are read in memory order (a channel group at a
/// time through every sample read 196-byte rows 25 KB apart, and ran at a third of the speed
/// from memory). Each chain goes on from where the last sample left it, so it is still one
/// chain in (b, s) order.
pub(super) fn piece_sums<const S: usize>(
    p: &BatchNormParams,
    v: &[f32],
    w: &[f32],
    first: usize,
    sums: &mut [[f32; S]],
    term: &impl Term<S>,
) {
    let (n, c, hw) = (p.n as usize, p.c as usize, p.hw as usize);
    assert!(first + sums.len() <= c && v.len() >= n * c * hw && w.len() >= n * c * hw);
    sums.fill([0.0; S]);
    if hw == 1 {
        // A BatchNorm1d: the piece's channels are one contiguous run of each sample's values,
        // summed as a vector.
        for b in 0..n {
            let at = b * c + first;
            let (vr, wr) = (&v[at..at + sums.len()], &w[at..at + sums.len()]);
            for (j, ((s, &x), &y)) in sums.iter_mut().zip(vr).zip(wr).enumerate() {
                let t = term.at(first + j, x, y);
                for (s, t) in s.iter_mut().zip(t) {
                    *s += t;
                }
            }
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if super::conv2d::wide() && 15 * hw <= i32::MAX as usize {
        // SAFETY: AVX-512 is present; the tensors hold every row (asserted above).
        return unsafe { lanes(p, (v, w), first, sums, term) };
    }
    chains(p, (v, w), first, sums, term);
}

/// [`piece_sums`] with HW > 1 without AVX-512: CHAINS channels' chains at a time.
fn chains<const S: usize>(
    p: &BatchNormParams,
    (v, w): (&[f32], &[f32]),
    first: usize,
    sums: &mut [[f32; S]],
    term: &impl Term<S>,
) {
    let (n, c, hw) = (p.n as usize, p.c as usize, p.hw as usize);
    for b in 0..n {
        for (g, group) in sums.chunks_mut(CHAINS).enumerate() {
            let ch0 = first + g * CHAINS;
            let row = |l: usize| (b * c + ch0 + l) * hw;
            if group.len() == CHAINS {
                let mut acc: [[f32; S]; CHAINS] = std::array::from_fn(|l| group[l]);
                let vr: [&[f32]; CHAINS] = std::array::from_fn(|l| &v[row(l)..row(l) + hw]);
                let wr: [&[f32]; CHAINS] = std::array::from_fn(|l| &w[row(l)..row(l) + hw]);
                for s in 0..hw {
                    for l in 0..CHAINS {
                        let t = term.at(ch0 + l, vr[l][s], wr[l][s]);
                        for (a, t) in acc[l].iter_mut().zip(t) {
                            *a += t;
                        }
                    }
                }
                group.copy_from_slice(&acc);
            } else {
                for (l, a) in group.iter_mut().enumerate() {
                    let (vr, wr) = (&v[row(l)..row(l) + hw], &w[row(l)..row(l) + hw]);
                    for (&x, &y) in vr.iter().zip(wr) {
                        let t = term.at(ch0 + l, x, y);
                        for (a, t) in a.iter_mut().zip(t) {
                            *a += t;
                        }
                    }
                }
            }
        }
    }
}

/// [`piece_sums`] with HW > 1 on AVX-512: 16 channels' chains in the lanes of a vector, each
/// step's values gathered from the 16 rows (`hw` apart), so every lane adds its channel's
/// terms in (b, s) order as the scalar chains do.
///
/// # Safety
/// AVX-512 must be present, v and w must hold the (N, C, HW) tensor, and 15·HW must fit in i32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn lanes<const S: usize>(
    p: &BatchNormParams,
    (v, w): (&[f32], &[f32]),
    first: usize,
    sums: &mut [[f32; S]],
    term: &impl Term<S>,
) {
    let (n, c, hw) = (p.n as usize, p.c as usize, p.hw as usize);
    let same = std::ptr::eq(v, w);
    let index = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(hw as i32),
    );
    let groups = sums.len().div_ceil(16);
    let mut acc = vec![[_mm512_setzero_ps(); S]; groups];
    let mask = |g: usize| ((1u32 << (sums.len() - 16 * g).min(16)) - 1) as u16;
    for b in 0..n {
        for (g, acc) in acc.iter_mut().enumerate() {
            let (ch0, mask) = (first + 16 * g, mask(g));
            let at = (b * c + ch0) * hw;
            let (vp, wp) = (v.as_ptr().add(at), w.as_ptr().add(at));
            let mut a = *acc;
            for s in 0..hw {
                let zero = _mm512_setzero_ps();
                let x = _mm512_mask_i32gather_ps::<4>(zero, mask, index, vp.add(s).cast());
                let y = if same {
                    x
                } else {
                    _mm512_mask_i32gather_ps::<4>(zero, mask, index, wp.add(s).cast())
                };
                let t = term.lanes(ch0, mask, x, y);
                for (a, t) in a.iter_mut().zip(t) {
                    *a = _mm512_add_ps(*a, t);
                }
            }
            *acc = a;
        }
    }
    for (g, acc) in acc.iter().enumerate() {
        for (j, a) in acc.iter().enumerate() {
            let mut out = [0.0f32; 16];
            _mm512_storeu_ps(out.as_mut_ptr(), *a);
            for (s, &o) in sums[16 * g..].iter_mut().zip(&out) {
                s[j] = o;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 16-lane chains give the scalar chains' bits for every term, on pieces that start
    /// inside a vector's worth of channels and end short of one.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn lanes_are_the_scalar_chains_bit_for_bit() {
        if !super::super::conv2d::wide() {
            eprintln!("skipped: no AVX-512 here, the scalar chains are the only path");
            return;
        }
        for (n, c, hw) in [(3, 21, 5), (2, 40, 49), (4, 16, 7), (1, 37, 2)] {
            let p = BatchNormParams {
                n,
                c,
                hw,
                ..Default::default()
            };
            let len = (n * c * hw) as usize;
            let v: Vec<f32> = (0..len)
                .map(|i| ((i * 7919) % 997) as f32 * 0.013 - 6.0)
                .collect();
            let w: Vec<f32> = (0..len)
                .map(|i| ((i * 31) % 101) as f32 * 0.07 - 3.0)
                .collect();
            let mean: Vec<f32> = (0..c).map(|i| i as f32 * 0.1 - 1.0).collect();
            let invstd: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.03).collect();
            for (first, count) in [(0, c as usize), (3, c as usize - 5), (5, 1)] {
                let check = |name: &str, ours: Vec<[f32; 2]>, theirs: Vec<[f32; 2]>| {
                    let bits = |s: &[[f32; 2]]| -> Vec<u32> {
                        s.iter().flatten().map(|x| x.to_bits()).collect()
                    };
                    assert_eq!(
                        bits(&ours),
                        bits(&theirs),
                        "{name} {n}x{c}x{hw} from {first}"
                    );
                };
                let pair = |f: &dyn Fn(bool, &mut [[f32; 2]])| {
                    let (mut a, mut b) = (vec![[0.0; 2]; count], vec![[0.0; 2]; count]);
                    f(true, &mut a);
                    f(false, &mut b);
                    (a, b)
                };
                let term = DyXhat {
                    mean: &mean,
                    invstd: &invstd,
                };
                let (a, b) = pair(&|fast, s| {
                    s.fill([0.0; 2]);
                    if fast {
                        // SAFETY: AVX-512 checked above; v and w hold the tensor.
                        unsafe { lanes(&p, (&v, &w), first, s, &term) }
                    } else {
                        chains(&p, (&v, &w), first, s, &term)
                    }
                });
                check("dy, dy xhat", a, b);
                let term = SquaredDeviation {
                    mean: &mean[first..],
                    first,
                };
                let (a, b) = pair(&|fast, s| {
                    let mut one = vec![[0.0f32; 1]; s.len()];
                    if fast {
                        // SAFETY: as above.
                        unsafe { lanes(&p, (&v, &v), first, &mut one, &term) }
                    } else {
                        chains(&p, (&v, &v), first, &mut one, &term)
                    }
                    s.iter_mut().zip(&one).for_each(|(s, o)| *s = [o[0], 0.0]);
                });
                check("squared deviation", a, b);
            }
        }
    }
}

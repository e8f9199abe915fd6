//! CPU twins of `shaders/batch_norm.wgsl`, index for index. x is (N, C, HW); gamma_beta,
//! running and saved are (2C).

use super::channel_sums::{piece, piece_sums, work, DyXhat, SquaredDeviation, Value};
use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in batch_norm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BatchNormParams {
    pub n: u32,
    pub c: u32,
    pub hw: u32,
    pub flags: u32,
    pub eps: f32,
    pub momentum: f32,
}

pub const UPDATE_RUNNING: u32 = 1;
pub const ACCUMULATE: u32 = 2;

/// A pointer to y or dx, shared by the pieces, each writing only its own channels' rows.
#[derive(Clone, Copy)]
struct Rows(*mut f32);
// SAFETY: the pieces write disjoint channels' values while the slice is borrowed.
unsafe impl Send for Rows {}
unsafe impl Sync for Rows {}

impl Rows {
    /// `out[i] = f(coef(ch), x[i], w[i])` for every value of channels `first..first + count`,
    /// the samples outermost (a channel's coefficients are taken once a row, so the row's loop
    /// has them in registers).
    ///
    /// # Safety
    /// The pointer must hold the tensor `p` describes, and no other thread may touch these
    /// channels' values.
    unsafe fn map<C: Copy>(
        self,
        p: &BatchNormParams,
        (first, count): (usize, usize),
        (x, w): (&[f32], &[f32]),
        coef: impl Fn(usize) -> C,
        f: impl Fn(C, f32, f32) -> f32,
    ) {
        let (n, c, hw) = (p.n as usize, p.c as usize, p.hw as usize);
        for b in 0..n {
            let at = (b * c + first) * hw;
            let out = std::slice::from_raw_parts_mut(self.0.add(at), count * hw);
            let (xr, wr) = (&x[at..at + count * hw], &w[at..at + count * hw]);
            if hw == 1 {
                for (j, ((o, &a), &v)) in out.iter_mut().zip(xr).zip(wr).enumerate() {
                    *o = f(coef(first + j), a, v);
                }
                continue;
            }
            for (j, ((o, xr), wr)) in out
                .chunks_exact_mut(hw)
                .zip(xr.chunks_exact(hw))
                .zip(wr.chunks_exact(hw))
                .enumerate()
            {
                let k = coef(first + j);
                for ((o, &a), &v) in o.iter_mut().zip(xr).zip(wr) {
                    *o = f(k, a, v);
                }
            }
        }
    }
}

pub fn batch_norm_forward_train(
    p: &BatchNormParams,
    x: &[f32],
    gamma_beta: &[f32],
    y: &mut [f32],
    running: &mut [f32],
    saved: &mut [f32],
) {
    let c = p.c as usize;
    let count = (p.n * p.hw) as f32;
    let (gamma, beta) = gamma_beta.split_at(c);
    assert!(x.len() >= work(p) && y.len() >= work(p));
    // Per channel: mean, sum of squared deviations, invstd. A piece's channels go through all
    // three passes on one thread, so the passes after the first read its rows from that core's
    // cache.
    let mut stats = vec![[0.0f32; 3]; c];
    let out = Rows(y.as_mut_ptr());
    par::chunks(&mut stats, piece(p), work(p), |first, st| {
        let mut sums = vec![[0.0f32; 1]; st.len()];
        piece_sums(p, x, x, first, &mut sums, &Value);
        let mean: Vec<f32> = sums.iter().map(|[s]| s / count).collect();
        let term = SquaredDeviation { mean: &mean, first };
        piece_sums(p, x, x, first, &mut sums, &term);
        for ((s, &m), [sq]) in st.iter_mut().zip(&mean).zip(&sums) {
            *s = [m, *sq, 1.0 / (sq / count + p.eps).sqrt()];
        }
        // SAFETY: y holds the tensor (asserted), and this piece writes only its channels.
        unsafe {
            out.map(
                p,
                (first, st.len()),
                (x, x),
                |ch| (st[ch - first], gamma[ch], beta[ch]),
                |([m, _, invstd], gamma, beta), x, _| (x - m) * invstd * gamma + beta,
            )
        };
    });
    for (ch, &[mean, sq, invstd]) in stats.iter().enumerate() {
        if p.flags & UPDATE_RUNNING != 0 {
            let var_biased = sq / count;
            let var_unbiased = if count > 1.0 {
                sq / (count - 1.0)
            } else {
                var_biased
            };
            running[ch] = (1.0 - p.momentum) * running[ch] + p.momentum * mean;
            running[c + ch] = (1.0 - p.momentum) * running[c + ch] + p.momentum * var_unbiased;
        }
        saved[ch] = mean;
        saved[c + ch] = invstd;
    }
}

pub fn batch_norm_forward_eval(
    p: &BatchNormParams,
    x: &[f32],
    gamma_beta: &[f32],
    running: &[f32],
    y: &mut [f32],
) {
    let c = p.c as usize;
    let (mean, var) = running.split_at(c);
    let (gamma, beta) = gamma_beta.split_at(c);
    assert!(x.len() >= work(p) && y.len() >= work(p));
    let mut invstd = vec![0.0f32; c];
    let out = Rows(y.as_mut_ptr());
    par::chunks(&mut invstd, piece(p), work(p), |first, inv| {
        for (j, s) in inv.iter_mut().enumerate() {
            *s = 1.0 / (var[first + j] + p.eps).sqrt();
        }
        // SAFETY: y holds the tensor (asserted), and this piece writes only its channels.
        unsafe {
            out.map(
                p,
                (first, inv.len()),
                (x, x),
                |ch| (mean[ch], inv[ch - first], gamma[ch], beta[ch]),
                |(m, invstd, gamma, beta), x, _| (x - m) * invstd * gamma + beta,
            )
        };
    });
}

pub fn batch_norm_backward(
    p: &BatchNormParams,
    x: &[f32],
    dy: &[f32],
    gamma_beta: &[f32],
    saved: &[f32],
    dx: &mut [f32],
    grad_gamma_beta: &mut [f32],
) {
    let c = p.c as usize;
    let count = (p.n * p.hw) as f32;
    let (mean, invstd) = saved.split_at(c);
    assert!(x.len() >= work(p) && dy.len() >= work(p) && dx.len() >= work(p));
    // Per channel: sum of dy, sum of dy·xhat (each its own chain, as two passes would add it),
    // then dx, a piece's channels on one thread (the map reads its rows from that core's cache).
    let mut sums = vec![[0.0f32; 2]; c];
    let out = Rows(dx.as_mut_ptr());
    par::chunks(&mut sums, piece(p), work(p), |first, sums| {
        piece_sums(p, dy, x, first, sums, &DyXhat { mean, invstd });
        let k: Vec<f32> = (first..first + sums.len())
            .map(|ch| gamma_beta[ch] * invstd[ch] / count)
            .collect();
        // SAFETY: dx holds the tensor (asserted), and this piece writes only its channels.
        unsafe {
            out.map(
                p,
                (first, sums.len()),
                (x, dy),
                |ch| (sums[ch - first], k[ch - first], mean[ch], invstd[ch]),
                |([sum_dy, sum_dy_xhat], k, mean, invstd), x, d| {
                    let xhat = (x - mean) * invstd;
                    k * (count * d - sum_dy - xhat * sum_dy_xhat)
                },
            )
        };
    });
    let (sum_dy, sum_dy_xhat): (Vec<f32>, Vec<f32>) = sums.into_iter().map(|[a, b]| (a, b)).unzip();
    let accumulate = p.flags & ACCUMULATE != 0;
    for ch in 0..c {
        let keep = |old: f32| if accumulate { old } else { 0.0 };
        grad_gamma_beta[ch] = keep(grad_gamma_beta[ch]) + sum_dy_xhat[ch];
        grad_gamma_beta[c + ch] = keep(grad_gamma_beta[c + ch]) + sum_dy[ch];
    }
}

pub fn batch_norm_forward_train_op(w: &[u32], io: &mut CpuIo) {
    let (y, running, saved) = (io.f32_mut(2), io.f32_mut(3), io.f32_mut(4));
    batch_norm_forward_train(&params(w), io.f32(0), io.f32(1), y, running, saved);
}

pub fn batch_norm_forward_eval_op(w: &[u32], io: &mut CpuIo) {
    batch_norm_forward_eval(&params(w), io.f32(0), io.f32(1), io.f32(2), io.f32_mut(3));
}

pub fn batch_norm_backward_op(w: &[u32], io: &mut CpuIo) {
    let (dx, grads) = (io.f32_mut(4), io.f32_mut(5));
    batch_norm_backward(
        &params(w),
        io.f32(0),
        io.f32(1),
        io.f32(2),
        io.f32(3),
        dx,
        grads,
    );
}

/// The twin of the serial variant: the same results as `batch_norm_forward_train`.
pub fn batch_norm_forward_train_serial_op(w: &[u32], io: &mut CpuIo) {
    batch_norm_forward_train_op(w, io);
}

/// The twin of the serial variant: the same results as `batch_norm_backward`.
pub fn batch_norm_backward_serial_op(w: &[u32], io: &mut CpuIo) {
    batch_norm_backward_op(w, io);
}

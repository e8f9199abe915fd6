//! CPU twins of `shaders/batch_norm.wgsl`, index for index. x is (N, C, HW); gamma_beta,
//! running and saved are (2C).

use super::{params, CpuIo};
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

/// Per-channel sums of f(i, ch) over (b, s), visiting memory in order. Each channel's terms are
/// still added in (b, s) order, exactly as the shader's per-channel loop adds them.
fn channel_sums(p: &BatchNormParams, mut f: impl FnMut(usize, usize) -> f32) -> Vec<f32> {
    let (c, hw) = (p.c as usize, p.hw as usize);
    let mut sums = vec![0.0f32; c];
    for b in 0..p.n as usize {
        for (ch, sum) in sums.iter_mut().enumerate() {
            let base = (b * c + ch) * hw;
            for i in base..base + hw {
                *sum += f(i, ch);
            }
        }
    }
    sums
}

/// Applies f(i, ch) to every element in memory order.
fn for_each(p: &BatchNormParams, mut f: impl FnMut(usize, usize)) {
    let (c, hw) = (p.c as usize, p.hw as usize);
    for b in 0..p.n as usize {
        for ch in 0..c {
            let base = (b * c + ch) * hw;
            (base..base + hw).for_each(|i| f(i, ch));
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
    let mean: Vec<f32> = channel_sums(p, |i, _| x[i])
        .iter()
        .map(|s| s / count)
        .collect();
    let sq = channel_sums(p, |i, ch| (x[i] - mean[ch]) * (x[i] - mean[ch]));
    let invstd: Vec<f32> = sq
        .iter()
        .map(|s| 1.0 / (s / count + p.eps).sqrt())
        .collect();
    for_each(p, |i, ch| {
        y[i] = (x[i] - mean[ch]) * invstd[ch] * gamma_beta[ch] + gamma_beta[c + ch]
    });
    for ch in 0..c {
        if p.flags & UPDATE_RUNNING != 0 {
            let var_biased = sq[ch] / count;
            let var_unbiased = if count > 1.0 {
                sq[ch] / (count - 1.0)
            } else {
                var_biased
            };
            running[ch] = (1.0 - p.momentum) * running[ch] + p.momentum * mean[ch];
            running[c + ch] = (1.0 - p.momentum) * running[c + ch] + p.momentum * var_unbiased;
        }
        saved[ch] = mean[ch];
        saved[c + ch] = invstd[ch];
    }
}

pub fn batch_norm_forward_eval(
    p: &BatchNormParams,
    x: &[f32],
    gamma_beta: &[f32],
    running: &[f32],
    y: &mut [f32],
) {
    let (c, hw) = (p.c as usize, p.hw as usize);
    for i in 0..p.n as usize * c * hw {
        let ch = (i / hw) % c;
        let invstd = 1.0 / (running[c + ch] + p.eps).sqrt();
        y[i] = (x[i] - running[ch]) * invstd * gamma_beta[ch] + gamma_beta[c + ch];
    }
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
    let sum_dy = channel_sums(p, |i, _| dy[i]);
    let sum_dy_xhat = channel_sums(p, |i, ch| dy[i] * (x[i] - mean[ch]) * invstd[ch]);
    for_each(p, |i, ch| {
        let k = gamma_beta[ch] * invstd[ch] / count;
        let xhat = (x[i] - mean[ch]) * invstd[ch];
        dx[i] = k * (count * dy[i] - sum_dy[ch] - xhat * sum_dy_xhat[ch]);
    });
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

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

impl BatchNormParams {
    fn at(&self, b: usize, ch: usize, s: usize) -> usize {
        (b * self.c as usize + ch) * self.hw as usize + s
    }

    fn indices(&self, ch: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.n as usize)
            .flat_map(move |b| (0..self.hw as usize).map(move |s| self.at(b, ch, s)))
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
    for ch in 0..c {
        let mean = p.indices(ch).map(|i| x[i]).sum::<f32>() / count;
        let sq: f32 = p.indices(ch).map(|i| (x[i] - mean) * (x[i] - mean)).sum();
        let var_biased = sq / count;
        let invstd = 1.0 / (var_biased + p.eps).sqrt();
        for i in p.indices(ch) {
            y[i] = (x[i] - mean) * invstd * gamma_beta[ch] + gamma_beta[c + ch];
        }
        if p.flags & UPDATE_RUNNING != 0 {
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
    for ch in 0..c {
        let (mean, invstd) = (saved[ch], saved[c + ch]);
        let mut sum_dy = 0.0f32;
        let mut sum_dy_xhat = 0.0f32;
        for i in p.indices(ch) {
            sum_dy += dy[i];
            sum_dy_xhat += dy[i] * (x[i] - mean) * invstd;
        }
        let k = gamma_beta[ch] * invstd / count;
        for i in p.indices(ch) {
            let xhat = (x[i] - mean) * invstd;
            dx[i] = k * (count * dy[i] - sum_dy - xhat * sum_dy_xhat);
        }
        if p.flags & ACCUMULATE != 0 {
            grad_gamma_beta[ch] += sum_dy_xhat;
            grad_gamma_beta[c + ch] += sum_dy;
        } else {
            grad_gamma_beta[ch] = sum_dy_xhat;
            grad_gamma_beta[c + ch] = sum_dy;
        }
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

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

/// The (b, ch) rows of HW values of `v`, in memory order, with their channel. The twins walk
/// these rows with iterators (no bounds checks, so the elementwise loops vectorize) and add each
/// channel's terms in (b, s) order, exactly as the shader's per-channel loop adds them.
fn rows<'a>(p: &BatchNormParams, v: &'a [f32]) -> impl Iterator<Item = (usize, &'a [f32])> {
    let (c, hw) = (p.c as usize, p.hw as usize);
    v[..p.n as usize * c * hw]
        .chunks_exact(hw.max(1))
        .enumerate()
        .map(move |(j, row)| (j % c, row))
}

fn rows_mut<'a>(p: &BatchNormParams, v: &'a mut [f32]) -> impl Iterator<Item = &'a mut [f32]> {
    let (c, hw) = (p.c as usize, p.hw as usize);
    v[..p.n as usize * c * hw].chunks_exact_mut(hw.max(1))
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
    let mut mean = vec![0.0f32; c];
    for (ch, row) in rows(p, x) {
        mean[ch] = row.iter().fold(mean[ch], |acc, &v| acc + v);
    }
    mean.iter_mut().for_each(|m| *m /= count);
    let mut sq = vec![0.0f32; c];
    for (ch, row) in rows(p, x) {
        let m = mean[ch];
        sq[ch] = row.iter().fold(sq[ch], |acc, &v| acc + (v - m) * (v - m));
    }
    let invstd: Vec<f32> = sq
        .iter()
        .map(|s| 1.0 / (s / count + p.eps).sqrt())
        .collect();
    for ((ch, xr), yr) in rows(p, x).zip(rows_mut(p, y)) {
        let (m, s, g, b) = (mean[ch], invstd[ch], gamma_beta[ch], gamma_beta[c + ch]);
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = (x - m) * s * g + b;
        }
    }
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
    let c = p.c as usize;
    for ((ch, xr), yr) in rows(p, x).zip(rows_mut(p, y)) {
        let invstd = 1.0 / (running[c + ch] + p.eps).sqrt();
        let (m, g, b) = (running[ch], gamma_beta[ch], gamma_beta[c + ch]);
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = (x - m) * invstd * g + b;
        }
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
    let mut sum_dy = vec![0.0f32; c];
    let mut sum_dy_xhat = vec![0.0f32; c];
    for ((ch, xr), (_, dyr)) in rows(p, x).zip(rows(p, dy)) {
        let (m, s) = (mean[ch], invstd[ch]);
        sum_dy[ch] = dyr.iter().fold(sum_dy[ch], |acc, &d| acc + d);
        let terms = dyr.iter().zip(xr);
        sum_dy_xhat[ch] = terms.fold(sum_dy_xhat[ch], |acc, (&d, &x)| acc + d * (x - m) * s);
    }
    for (((ch, xr), (_, dyr)), dxr) in rows(p, x).zip(rows(p, dy)).zip(rows_mut(p, dx)) {
        let (m, s) = (mean[ch], invstd[ch]);
        let k = gamma_beta[ch] * s / count;
        let (sd, sdx) = (sum_dy[ch], sum_dy_xhat[ch]);
        for ((dx, &x), &d) in dxr.iter_mut().zip(xr).zip(dyr) {
            let xhat = (x - m) * s;
            *dx = k * (count * d - sd - xhat * sdx);
        }
    }
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

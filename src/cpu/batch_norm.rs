//! CPU twins of `shaders/batch_norm.wgsl`, index for index. x is (N, C, HW); gamma_beta,
//! running and saved are (2C).

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

/// One channel's sum of `term(v)` over its (b, s) values of `v`, in (b, s) order, exactly as the
/// shader's per-channel loop adds them (the rows are walked with iterators: no bounds checks).
fn channel_sum(p: &BatchNormParams, v: &[f32], ch: usize, term: impl Fn(usize, f32) -> f32) -> f32 {
    let (c, hw) = (p.c as usize, p.hw as usize);
    (0..p.n as usize).fold(0.0, |acc, b| {
        let start = (b * c + ch) * hw;
        let row = v[start..start + hw].iter().enumerate();
        row.fold(acc, |acc, (s, &x)| acc + term(start + s, x))
    })
}

/// `out[ch] = f(ch)` for every channel, channels spread over the cores (each channel's value
/// is computed whole by one thread, so the cut does not matter).
fn per_channel(p: &BatchNormParams, out: &mut [f32], f: impl Fn(usize) -> f32 + Sync + Send) {
    let work = (p.n * p.c * p.hw) as usize;
    let c = p.c as usize;
    par::chunks(&mut out[..c], par::per_thread(c), work, |first, chunk| {
        for (ch, o) in (first..).zip(chunk.iter_mut()) {
            *o = f(ch);
        }
    });
}

/// `f(ch, x_row, y_row)` for every (b, ch) row of HW values of `y`, in blocks of rows on every
/// core, `x_row` being the same row of `x`.
fn rows_map(
    p: &BatchNormParams,
    x: &[f32],
    y: &mut [f32],
    f: impl Fn(usize, usize, &[f32], &mut [f32]) + Sync + Send,
) {
    let (c, hw) = (p.c as usize, p.hw.max(1) as usize);
    let len = p.n as usize * c * p.hw as usize;
    let rows_per_block = (par::BLOCK / hw).max(1);
    par::chunks(&mut y[..len], rows_per_block * hw, len, |first, block| {
        for (j, y_row) in (first / hw..).zip(block.chunks_exact_mut(hw)) {
            f(j % c, j * hw, &x[j * hw..(j + 1) * hw], y_row);
        }
    });
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
    per_channel(p, &mut mean, |ch| channel_sum(p, x, ch, |_, v| v) / count);
    let mut sq = vec![0.0f32; c];
    per_channel(p, &mut sq, |ch| {
        let m = mean[ch];
        channel_sum(p, x, ch, |_, v| (v - m) * (v - m))
    });
    let invstd: Vec<f32> = sq
        .iter()
        .map(|s| 1.0 / (s / count + p.eps).sqrt())
        .collect();
    rows_map(p, x, y, |ch, _, xr, yr| {
        let (m, s, g, b) = (mean[ch], invstd[ch], gamma_beta[ch], gamma_beta[c + ch]);
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = (x - m) * s * g + b;
        }
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
    let c = p.c as usize;
    rows_map(p, x, y, |ch, _, xr, yr| {
        let invstd = 1.0 / (running[c + ch] + p.eps).sqrt();
        let (m, g, b) = (running[ch], gamma_beta[ch], gamma_beta[c + ch]);
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = (x - m) * invstd * g + b;
        }
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
    let mut sum_dy = vec![0.0f32; c];
    per_channel(p, &mut sum_dy, |ch| channel_sum(p, dy, ch, |_, d| d));
    let mut sum_dy_xhat = vec![0.0f32; c];
    per_channel(p, &mut sum_dy_xhat, |ch| {
        let (m, s) = (mean[ch], invstd[ch]);
        channel_sum(p, dy, ch, |i, d| d * (x[i] - m) * s)
    });
    rows_map(p, x, dx, |ch, start, xr, dxr| {
        let (m, s) = (mean[ch], invstd[ch]);
        let k = gamma_beta[ch] * s / count;
        let (sd, sdx) = (sum_dy[ch], sum_dy_xhat[ch]);
        let dyr = &dy[start..start + xr.len()];
        for ((dx, &x), &d) in dxr.iter_mut().zip(xr).zip(dyr) {
            let xhat = (x - m) * s;
            *dx = k * (count * d - sd - xhat * sdx);
        }
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

/// The twin of the serial variant: the same results as `batch_norm_forward_train`.
pub fn batch_norm_forward_train_serial_op(w: &[u32], io: &mut CpuIo) {
    batch_norm_forward_train_op(w, io);
}

/// The twin of the serial variant: the same results as `batch_norm_backward`.
pub fn batch_norm_backward_serial_op(w: &[u32], io: &mut CpuIo) {
    batch_norm_backward_op(w, io);
}

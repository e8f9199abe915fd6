//! CPU twins of `shaders/loss.wgsl`.

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in loss.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LossParams {
    /// Rows (the batch).
    pub n: u32,
    /// First of the three metric words (loss, accuracy, count) this call accumulates into.
    pub slot: u32,
    pub flags: u32,
    pub target_value: f32,
    pub scale: f32,
    /// Columns the loss reads per row: the classes of `softmax_cross_entropy`, the code
    /// length of `mse_loss` with TARGETS, the input length of `gradient_penalty`; else 1.
    pub classes: u32,
    /// Row length of the prediction and gradient buffers.
    pub stride: u32,
    /// First column of the loss's head in each row.
    pub offset: u32,
}

/// `mse_loss` flag: targets come from the labels buffer, `classes` per row.
pub const TARGETS: u32 = 1;

impl LossParams {
    fn at(&self, i: usize, c: usize) -> usize {
        i * self.stride as usize + self.offset as usize + c
    }
}

pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn bce_term(x: f32, t: f32) -> f32 {
    x.max(0.0) - x * t + (1.0 + (-x.abs()).exp()).ln()
}

fn record(p: &LossParams, metrics: &mut [f32], loss_sum: f32, correct: f32, count: f32) {
    let s = p.slot as usize;
    metrics[s] += loss_sum / count;
    metrics[s + 1] += correct / count;
    metrics[s + 2] += 1.0;
}

pub fn bce_with_logits(p: &LossParams, logits: &[f32], grad: &mut [f32], metrics: &mut [f32]) {
    let (n, t) = (p.n as usize, p.target_value);
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for i in 0..n {
        let x = logits[p.at(i, 0)];
        grad[p.at(i, 0)] = (sigmoid(x) - t) / n as f32 * p.scale;
        loss += bce_term(x, t);
        correct += f32::from(u8::from((x > 0.0) == (t > 0.5)));
    }
    record(p, metrics, loss, correct, n as f32);
}

pub fn mse_loss(
    p: &LossParams,
    pred: &[f32],
    targets: &[f32],
    grad: &mut [f32],
    metrics: &mut [f32],
) {
    let (n, k) = (p.n as usize, p.classes as usize);
    let from_buffer = p.flags & TARGETS != 0;
    let count = (n * k) as f32;
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for i in 0..n {
        for c in 0..k {
            let x = pred[p.at(i, c)];
            let t = if from_buffer {
                targets[i * k + c]
            } else {
                p.target_value
            };
            grad[p.at(i, c)] = 2.0 * (x - t) / count * p.scale;
            loss += (x - t) * (x - t);
            let hit = if from_buffer {
                (x - t).abs() < 0.5
            } else {
                (x > 0.5) == (t > 0.5)
            };
            correct += f32::from(u8::from(hit));
        }
    }
    record(p, metrics, loss, correct, count);
}

/// Row i's (loss, argmax == label), as the shader computes them.
fn cross_entropy_row(row: &[f32], label: usize) -> (f32, f32) {
    let mut top = row[0];
    let mut arg = 0;
    for (c, &v) in row.iter().enumerate().skip(1) {
        if v > top {
            top = v;
            arg = c;
        }
    }
    let sum: f32 = row.iter().map(|&v| (v - top).exp()).sum();
    (
        top + sum.ln() - row[label],
        if arg == label { 1.0 } else { 0.0 },
    )
}

pub fn softmax_cross_entropy(
    p: &LossParams,
    logits: &[f32],
    labels: &[f32],
    grad: &mut [f32],
    metrics: &mut [f32],
) {
    let (n, k) = (p.n as usize, p.classes as usize);
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for (i, &label) in labels[..n].iter().enumerate() {
        let start = p.at(i, 0);
        let row = &logits[start..start + k];
        let label = label as usize;
        let top = row.iter().copied().fold(row[0], f32::max);
        let sum: f32 = row.iter().map(|&v| (v - top).exp()).sum();
        for c in 0..k {
            let prob = (row[c] - top).exp() / sum;
            let onehot = if c == label { 1.0 } else { 0.0 };
            grad[start + c] = (prob - onehot) / n as f32 * p.scale;
        }
        let (l, hit) = cross_entropy_row(row, label);
        loss += l;
        correct += hit;
    }
    record(p, metrics, loss, correct, n as f32);
}

/// WGAN's critic loss: -mean(critic) for target 1, +mean(critic) for target 0.
pub fn wasserstein_loss(p: &LossParams, critic: &[f32], grad: &mut [f32], metrics: &mut [f32]) {
    let n = p.n as usize;
    let real = p.target_value > 0.5;
    let sign = if real { -1.0 } else { 1.0 };
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for i in 0..n {
        let x = critic[p.at(i, 0)];
        grad[p.at(i, 0)] = sign / n as f32 * p.scale;
        loss += sign * x;
        correct += f32::from(u8::from((x > 0.0) == real));
    }
    record(p, metrics, loss, correct, n as f32);
}

fn row_norm(p: &LossParams, g: &[f32], i: usize) -> f32 {
    let s: f32 = (0..p.classes as usize)
        .map(|c| g[p.at(i, c)] * g[p.at(i, c)])
        .sum();
    (s + 1e-12).sqrt()
}

/// WGAN-GP's penalty on the critic's input gradients g (n, classes):
/// target_value · mean_b (|g_b| - 1)², and its gradient with respect to g.
pub fn gradient_penalty(p: &LossParams, g: &[f32], grad: &mut [f32], metrics: &mut [f32]) {
    let (n, lambda) = (p.n as usize, p.target_value);
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for i in 0..n {
        let norm = row_norm(p, g, i);
        let k = 2.0 * lambda * (norm - 1.0) / (norm * n as f32) * p.scale;
        for c in 0..p.classes as usize {
            grad[p.at(i, c)] = k * g[p.at(i, c)];
        }
        let d = norm - 1.0;
        loss += lambda * d * d;
        correct += f32::from(u8::from(d.abs() < 0.1));
    }
    record(p, metrics, loss, correct, n as f32);
}

pub fn softmax_cross_entropy_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    softmax_cross_entropy(&params(w), io.f32(0), io.f32(3), grad, metrics);
}

pub fn bce_with_logits_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    bce_with_logits(&params(w), io.f32(0), grad, metrics);
}

/// Mean |pred - target| over rows of `classes` columns against `targets` (n, classes).
pub fn l1_loss(
    p: &LossParams,
    pred: &[f32],
    targets: &[f32],
    grad: &mut [f32],
    metrics: &mut [f32],
) {
    let (n, k) = (p.n as usize, p.classes as usize);
    let count = (n * k) as f32;
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for i in 0..n {
        for c in 0..k {
            let d = pred[p.at(i, c)] - targets[i * k + c];
            // f32::signum(0.0) is 1; the shader's sign and PyTorch's gradient are 0 there.
            let sign = if d > 0.0 {
                1.0
            } else if d < 0.0 {
                -1.0
            } else {
                0.0
            };
            grad[p.at(i, c)] = sign / count * p.scale;
            loss += d.abs();
            correct += f32::from(u8::from(d.abs() < 0.5));
        }
    }
    record(p, metrics, loss, correct, count);
}

pub fn l1_loss_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    l1_loss(&params(w), io.f32(0), io.f32(3), grad, metrics);
}

pub fn mse_loss_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    mse_loss(&params(w), io.f32(0), io.f32(3), grad, metrics);
}

pub fn wasserstein_loss_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    wasserstein_loss(&params(w), io.f32(0), grad, metrics);
}

pub fn gradient_penalty_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    gradient_penalty(&params(w), io.f32(0), grad, metrics);
}

//! CPU twins of `shaders/loss.wgsl`.

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in loss.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LossParams {
    pub n: u32,
    /// First of the three metric words (loss, accuracy, count) this call accumulates into.
    pub slot: u32,
    pub flags: u32,
    pub target_value: f32,
    pub scale: f32,
    /// Row length of `softmax_cross_entropy`'s logits.
    pub classes: u32,
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

fn record(p: &LossParams, metrics: &mut [f32], loss_sum: f32, correct: f32) {
    let n = p.n as f32;
    let s = p.slot as usize;
    metrics[s] += loss_sum / n;
    metrics[s + 1] += correct / n;
    metrics[s + 2] += 1.0;
}

pub fn bce_with_logits(p: &LossParams, logits: &[f32], grad: &mut [f32], metrics: &mut [f32]) {
    let (n, t) = (p.n as usize, p.target_value);
    for i in 0..n {
        grad[i] = (sigmoid(logits[i]) - t) / n as f32 * p.scale;
    }
    let loss = logits[..n].iter().map(|&x| bce_term(x, t)).sum();
    let correct = logits[..n]
        .iter()
        .filter(|&&x| (x > 0.0) == (t > 0.5))
        .count() as f32;
    record(p, metrics, loss, correct);
}

pub fn mse_loss(p: &LossParams, pred: &[f32], grad: &mut [f32], metrics: &mut [f32]) {
    let (n, t) = (p.n as usize, p.target_value);
    for i in 0..n {
        grad[i] = 2.0 * (pred[i] - t) / n as f32 * p.scale;
    }
    let loss = pred[..n].iter().map(|&x| (x - t) * (x - t)).sum();
    let correct = pred[..n]
        .iter()
        .filter(|&&x| (x > 0.5) == (t > 0.5))
        .count() as f32;
    record(p, metrics, loss, correct);
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
    for i in 0..n {
        let row = &logits[i * k..(i + 1) * k];
        let label = labels[i] as usize;
        let top = row.iter().copied().fold(row[0], f32::max);
        let sum: f32 = row.iter().map(|&v| (v - top).exp()).sum();
        for c in 0..k {
            let prob = (row[c] - top).exp() / sum;
            let onehot = if c == label { 1.0 } else { 0.0 };
            grad[i * k + c] = (prob - onehot) / n as f32 * p.scale;
        }
        let (l, hit) = cross_entropy_row(row, label);
        loss += l;
        correct += hit;
    }
    record(p, metrics, loss, correct);
}

pub fn softmax_cross_entropy_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    softmax_cross_entropy(&params(w), io.f32(0), io.f32(3), grad, metrics);
}

pub fn bce_with_logits_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    bce_with_logits(&params(w), io.f32(0), grad, metrics);
}

pub fn mse_loss_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    mse_loss(&params(w), io.f32(0), grad, metrics);
}

//! CPU twins of `shaders/condition.wgsl`: the one-hot label code appended to rows (cgan).

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in condition.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ConditionParams {
    pub batch: u32,
    /// Row length of x (F).
    pub features: u32,
    /// Length of the one-hot code (C).
    pub classes: u32,
    pub pad: u32,
}

/// out (B, F + C) = [x (B, F), one_hot(labels (B), C)].
pub fn concat_one_hot_forward(p: &ConditionParams, x: &[f32], labels: &[f32], out: &mut [f32]) {
    let (f, c) = (p.features as usize, p.classes as usize);
    for b in 0..p.batch as usize {
        let row = &mut out[b * (f + c)..(b + 1) * (f + c)];
        row[..f].copy_from_slice(&x[b * f..(b + 1) * f]);
        for (k, v) in row[f..].iter_mut().enumerate() {
            *v = if k as f32 == labels[b] { 1.0 } else { 0.0 };
        }
    }
}

/// dx (B, F) = dout (B, F + C)[:, :F].
pub fn concat_one_hot_backward(p: &ConditionParams, dout: &[f32], dx: &mut [f32]) {
    let (f, c) = (p.features as usize, p.classes as usize);
    for b in 0..p.batch as usize {
        dx[b * f..(b + 1) * f].copy_from_slice(&dout[b * (f + c)..b * (f + c) + f]);
    }
}

pub fn concat_one_hot_forward_op(w: &[u32], io: &mut CpuIo) {
    concat_one_hot_forward(&params(w), io.f32(0), io.f32(1), io.f32_mut(2));
}

pub fn concat_one_hot_backward_op(w: &[u32], io: &mut CpuIo) {
    concat_one_hot_backward(&params(w), io.f32(0), io.f32_mut(1));
}

//! CPU twins of `shaders/adam.wgsl`.

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in adam.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct AdamParams {
    pub n: u32,
    pub t_slot: u32,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Word of the flags buffer set to 1 when a gradient is not finite.
    pub flag_slot: u32,
}

#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    p: &AdamParams,
    grads: &[f32],
    counters: &[u32],
    params: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    nonfinite: &mut [f32],
) {
    if grads[..p.n as usize].iter().any(|g| !g.is_finite()) {
        nonfinite[p.flag_slot as usize] = 1.0;
    }
    let t = counters[p.t_slot as usize] as f32;
    let step_size = p.lr / (1.0 - p.beta1.powf(t));
    let bias_correction2_sqrt = (1.0 - p.beta2.powf(t)).sqrt();
    for i in 0..p.n as usize {
        let g = grads[i];
        m[i] = p.beta1 * m[i] + (1.0 - p.beta1) * g;
        v[i] = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
        let denom = v[i].sqrt() / bias_correction2_sqrt + p.eps;
        params[i] -= step_size * m[i] / denom;
    }
}

/// ema = beta·ema + (1 - beta)·values, beta = min(beta1, (1 + t)/(10 + t)), t = the step count.
pub fn ema_update(p: &AdamParams, values: &[f32], counters: &[u32], ema: &mut [f32]) {
    let t = counters[p.t_slot as usize] as f32;
    let beta = p.beta1.min((1.0 + t) / (10.0 + t));
    for (e, &v) in ema[..p.n as usize].iter_mut().zip(values) {
        *e = beta * *e + (1.0 - beta) * v;
    }
}

pub fn ema_update_op(w: &[u32], io: &mut CpuIo) {
    ema_update(&params(w), io.f32(0), io.u32(1), io.f32_mut(2));
}

/// `n` in the uniform is the slot to increment.
pub fn counter_increment(p: &AdamParams, counters: &mut [u32]) {
    counters[p.n as usize] += 1;
}

pub fn adam_step_op(w: &[u32], io: &mut CpuIo) {
    let (params_, m, v, flags) = (io.f32_mut(2), io.f32_mut(3), io.f32_mut(4), io.f32_mut(5));
    adam_step(&params(w), io.f32(0), io.u32(1), params_, m, v, flags);
}

pub fn counter_increment_op(w: &[u32], io: &mut CpuIo) {
    counter_increment(&params(w), io.u32_mut(0));
}

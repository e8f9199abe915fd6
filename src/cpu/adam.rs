//! CPU twins of `shaders/adam.wgsl`.

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;

/// Mirrors `Params` in adam.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct AdamParams {
    pub n: u32,
    pub t_slot: u32,
    /// The learning rate is lrs[counters[iteration_slot] % lr_period].
    pub lr_period: u32,
    pub iteration_slot: u32,
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
    lrs: &[f32],
    params: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    nonfinite: &mut [f32],
) {
    let n = p.n as usize;
    let t = counters[p.t_slot as usize] as f32;
    let lr = lrs[counters[p.iteration_slot as usize] as usize % p.lr_period as usize];
    let step_size = lr / (1.0 - p.beta1.powf(t));
    let bias_correction2_sqrt = (1.0 - p.beta2.powf(t)).sqrt();
    // Element by element, so the result does not depend on how the range is split.
    let update = |g: &[f32], params: &mut [f32], m: &mut [f32], v: &mut [f32]| {
        let mut finite = true;
        for (((&g, p_), m), v) in g.iter().zip(params).zip(m).zip(v) {
            finite &= g.is_finite();
            *m = p.beta1 * *m + (1.0 - p.beta1) * g;
            *v = p.beta2 * *v + (1.0 - p.beta2) * g * g;
            let denom = v.sqrt() / bias_correction2_sqrt + p.eps;
            *p_ -= step_size * *m / denom;
        }
        finite
    };
    let (g, params) = (&grads[..n], &mut params[..n]);
    let finite = if n < par::MIN_PARALLEL || par::threads() == 1 {
        update(g, params, &mut m[..n], &mut v[..n])
    } else {
        let b = par::BLOCK;
        let moments = m[..n].par_chunks_mut(b).zip(v[..n].par_chunks_mut(b));
        let parts = g.par_chunks(b).zip(params.par_chunks_mut(b)).zip(moments);
        parts
            .map(|((g, pa), (m, v))| update(g, pa, m, v))
            .reduce(|| true, |a, b| a && b)
    };
    if !finite {
        nonfinite[p.flag_slot as usize] = 1.0;
    }
}

/// ema = beta·ema + (1 - beta)·values, beta = min(beta1, (1 + t)/(10 + t)), t = the step count.
pub fn ema_update(p: &AdamParams, values: &[f32], counters: &[u32], ema: &mut [f32]) {
    let t = counters[p.t_slot as usize] as f32;
    let beta = p.beta1.min((1.0 + t) / (10.0 + t));
    par::blocks(&mut ema[..p.n as usize], |s, ema| {
        for (e, &v) in ema.iter_mut().zip(&values[s..]) {
            *e = beta * *e + (1.0 - beta) * v;
        }
    });
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
    adam_step(
        &params(w),
        io.f32(0),
        io.u32(1),
        io.f32(6),
        params_,
        m,
        v,
        flags,
    );
}

pub fn counter_increment_op(w: &[u32], io: &mut CpuIo) {
    counter_increment(&params(w), io.u32_mut(0));
}

//! CPU twins of `shaders/prelu.wgsl`, index for index. x is (N, C, HW); slope is (C).

use super::reduce::workgroup_sum;
use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in prelu.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct PreluParams {
    pub n: u32,
    pub c: u32,
    pub hw: u32,
    pub flags: u32,
}

/// Add to grad_slope instead of replacing it.
pub const ACCUMULATE: u32 = 1;

impl PreluParams {
    pub fn len(&self) -> usize {
        (self.n * self.c * self.hw) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn channel(&self, i: usize) -> usize {
        (i / self.hw as usize) % self.c as usize
    }
}

/// y = max(0, x) + slope_c · min(0, x).
pub fn prelu_forward(p: &PreluParams, x: &[f32], slope: &[f32], y: &mut [f32]) {
    for (i, (y, &v)) in y[..p.len()].iter_mut().zip(x).enumerate() {
        *y = v.max(0.0) + slope[p.channel(i)] * v.min(0.0);
    }
}

/// dx = dy where x > 0, else slope_c · dy (PyTorch's choice at x = 0).
pub fn prelu_backward(p: &PreluParams, x: &[f32], slope: &[f32], dy: &[f32], dx: &mut [f32]) {
    for (i, ((dx, &v), &d)) in dx[..p.len()].iter_mut().zip(x).zip(dy).enumerate() {
        *dx = if v > 0.0 { d } else { slope[p.channel(i)] * d };
    }
}

/// grad_slope_c (+)= Σ_(b, s) min(0, x) · dy, in the shader's order (`cpu::reduce`).
pub fn prelu_slope_grad(p: &PreluParams, x: &[f32], dy: &[f32], grad_slope: &mut [f32]) {
    let (c, hw) = (p.c as usize, p.hw as usize);
    for (ch, g) in grad_slope[..c].iter_mut().enumerate() {
        let at = |k: usize| ((k / hw) * c + ch) * hw + k % hw;
        let mut acc = workgroup_sum(p.n as usize * hw, |k| x[at(k)].min(0.0) * dy[at(k)]);
        if p.flags & ACCUMULATE != 0 {
            acc += *g;
        }
        *g = acc;
    }
}

pub fn prelu_forward_op(w: &[u32], io: &mut CpuIo) {
    prelu_forward(&params(w), io.f32(0), io.f32(1), io.f32_mut(2));
}

pub fn prelu_backward_op(w: &[u32], io: &mut CpuIo) {
    prelu_backward(&params(w), io.f32(0), io.f32(1), io.f32(2), io.f32_mut(3));
}

pub fn prelu_slope_grad_op(w: &[u32], io: &mut CpuIo) {
    prelu_slope_grad(&params(w), io.f32(0), io.f32(1), io.f32_mut(2));
}

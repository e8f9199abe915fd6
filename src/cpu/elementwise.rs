//! CPU twins of `shaders/elementwise.wgsl`.

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in elementwise.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ElementwiseParams {
    pub n: u32,
    pub a: f32,
    pub b: f32,
    pub pad: u32,
}

/// out = a·x + b·y over the first n elements.
pub fn axpby(p: &ElementwiseParams, x: &[f32], y: &[f32], out: &mut [f32]) {
    let n = p.n as usize;
    let (x, y) = (&x[..n], &y[..n]);
    par::blocks(&mut out[..n], |s, out| {
        for ((o, &x), &y) in out.iter_mut().zip(&x[s..]).zip(&y[s..]) {
            *o = p.a * x + p.b * y;
        }
    });
}

pub fn axpby_op(w: &[u32], io: &mut CpuIo) {
    axpby(&params(w), io.f32(0), io.f32(1), io.f32_mut(2));
}

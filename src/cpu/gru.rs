//! CPU twins of `shaders/gru.wgsl`: the elementwise gates of a convolutional GRU.

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in gru.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct GruParams {
    pub n: u32,
    pub pad0: u32,
    pub pad1: u32,
    pub pad2: u32,
}

/// out = r·h.
pub fn gru_reset_forward(p: &GruParams, r: &[f32], h: &[f32], out: &mut [f32]) {
    let n = p.n as usize;
    for ((o, &r), &h) in out[..n].iter_mut().zip(&r[..n]).zip(&h[..n]) {
        *o = r * h;
    }
}

/// dr = dy·h, dh = dy·r.
pub fn gru_reset_backward(
    p: &GruParams,
    (r, h, dy): (&[f32], &[f32], &[f32]),
    dr: &mut [f32],
    dh: &mut [f32],
) {
    for i in 0..p.n as usize {
        dr[i] = dy[i] * h[i];
        dh[i] = dy[i] * r[i];
    }
}

/// out = u·h + (1 - u)·c.
pub fn gru_update_forward(p: &GruParams, (u, h, c): (&[f32], &[f32], &[f32]), out: &mut [f32]) {
    for i in 0..p.n as usize {
        out[i] = u[i] * h[i] + (1.0 - u[i]) * c[i];
    }
}

/// du = dy·(h - c), dh = dy·u, dc = dy·(1 - u).
pub fn gru_update_backward(
    p: &GruParams,
    (u, h, c, dy): (&[f32], &[f32], &[f32], &[f32]),
    (du, dh, dc): (&mut [f32], &mut [f32], &mut [f32]),
) {
    for i in 0..p.n as usize {
        du[i] = dy[i] * (h[i] - c[i]);
        dh[i] = dy[i] * u[i];
        dc[i] = dy[i] * (1.0 - u[i]);
    }
}

pub fn gru_reset_forward_op(w: &[u32], io: &mut CpuIo) {
    let out = io.f32_mut(2);
    gru_reset_forward(&params(w), io.f32(0), io.f32(1), out);
}

/// Bindings r(1) h(2) dy(9) -> dr(4) dh(5), in that order.
pub fn gru_reset_backward_op(w: &[u32], io: &mut CpuIo) {
    let (dr, dh) = (io.f32_mut(3), io.f32_mut(4));
    gru_reset_backward(&params(w), (io.f32(0), io.f32(1), io.f32(2)), dr, dh);
}

/// Bindings u(1) h(2) c(8) -> out(4), in that order.
pub fn gru_update_forward_op(w: &[u32], io: &mut CpuIo) {
    let out = io.f32_mut(3);
    gru_update_forward(&params(w), (io.f32(0), io.f32(1), io.f32(2)), out);
}

/// Bindings u(1) h(2) c(8) dy(9) -> du(5) dh(6) dc(7), in that order.
pub fn gru_update_backward_op(w: &[u32], io: &mut CpuIo) {
    let (du, dh, dc) = (io.f32_mut(4), io.f32_mut(5), io.f32_mut(6));
    let ins = (io.f32(0), io.f32(1), io.f32(2), io.f32(3));
    gru_update_backward(&params(w), ins, (du, dh, dc));
}

//! CPU twins of `shaders/upsample.wgsl`: nearest-neighbour upsampling by 2 of (planes, H, W).

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in upsample.wgsl; planes = N·C.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct UpsampleParams {
    pub planes: u32,
    pub h: u32,
    pub w: u32,
    pub pad: u32,
}

/// y (planes, 2H, 2W): each x pixel copied to a 2x2 block; rows of y on every core.
pub fn upsample_nearest_forward(p: &UpsampleParams, x: &[f32], y: &mut [f32]) {
    let (h, w) = (p.h as usize, p.w as usize);
    par::rows(&mut y[..p.planes as usize * 4 * h * w], 2 * w, |r, row| {
        let (plane, oy) = (r / (2 * h), r % (2 * h));
        let src = &x[(plane * h + oy / 2) * w..][..w];
        for (pair, &v) in row.chunks_exact_mut(2).zip(src) {
            pair.fill(v);
        }
    });
}

/// dx (planes, H, W): the sum of each 2x2 block of dy, in the shader's order; rows of dx on
/// every core.
pub fn upsample_nearest_backward(p: &UpsampleParams, dy: &[f32], dx: &mut [f32]) {
    let (h, w) = (p.h as usize, p.w as usize);
    let w2 = 2 * w;
    par::rows(&mut dx[..p.planes as usize * h * w], w, |r, row| {
        let (plane, y) = (r / h, r % h);
        let top = &dy[(plane * 2 * h + 2 * y) * w2..][..2 * w2];
        let (upper, lower) = top.split_at(w2);
        let pairs = upper.chunks_exact(2).zip(lower.chunks_exact(2));
        for (v, (u, l)) in row.iter_mut().zip(pairs) {
            *v = u[0] + u[1] + l[0] + l[1];
        }
    });
}

pub fn upsample_nearest_forward_op(w: &[u32], io: &mut CpuIo) {
    let y = io.f32_mut(1);
    upsample_nearest_forward(&params(w), io.f32(0), y);
}

pub fn upsample_nearest_backward_op(w: &[u32], io: &mut CpuIo) {
    let dx = io.f32_mut(1);
    upsample_nearest_backward(&params(w), io.f32(0), dx);
}

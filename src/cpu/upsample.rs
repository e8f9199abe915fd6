//! CPU twins of `shaders/upsample.wgsl`: nearest-neighbour upsampling by 2 of (planes, H, W).

use super::{params, CpuIo};
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

/// y (planes, 2H, 2W): each x pixel copied to a 2x2 block.
pub fn upsample_nearest_forward(p: &UpsampleParams, x: &[f32], y: &mut [f32]) {
    let (h, w) = (p.h as usize, p.w as usize);
    let rows = y[..p.planes as usize * 4 * h * w].chunks_exact_mut(2 * w);
    for (r, row) in rows.enumerate() {
        let (plane, oy) = (r / (2 * h), r % (2 * h));
        let src = &x[(plane * h + oy / 2) * w..][..w];
        for (pair, &v) in row.chunks_exact_mut(2).zip(src) {
            pair.fill(v);
        }
    }
}

/// dx (planes, H, W): the sum of each 2x2 block of dy, in the shader's order.
pub fn upsample_nearest_backward(p: &UpsampleParams, dy: &[f32], dx: &mut [f32]) {
    let (h, w) = (p.h as usize, p.w as usize);
    let w2 = 2 * w;
    for (i, v) in dx[..p.planes as usize * h * w].iter_mut().enumerate() {
        let (x, y, plane) = (i % w, (i / w) % h, i / (w * h));
        let top = (plane * 2 * h + 2 * y) * w2 + 2 * x;
        *v = dy[top] + dy[top + 1] + dy[top + w2] + dy[top + w2 + 1];
    }
}

pub fn upsample_nearest_forward_op(w: &[u32], io: &mut CpuIo) {
    let y = io.f32_mut(1);
    upsample_nearest_forward(&params(w), io.f32(0), y);
}

pub fn upsample_nearest_backward_op(w: &[u32], io: &mut CpuIo) {
    let dx = io.f32_mut(1);
    upsample_nearest_backward(&params(w), io.f32(0), dx);
}

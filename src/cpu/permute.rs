//! CPU twin of `shaders/permute.wgsl`: swapping two adjacent axes.

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in permute.wgsl: x is (outer, a, b, inner).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct PermuteParams {
    pub outer: u32,
    pub a: u32,
    pub b: u32,
    pub inner: u32,
}

/// y (outer, b, a, inner) = x (outer, a, b, inner) with its middle axes swapped.
pub fn swap_axes(p: &PermuteParams, x: &[f32], y: &mut [f32]) {
    let (a, b, inner) = (p.a as usize, p.b as usize, p.inner as usize);
    let rows = y[..p.outer as usize * a * b * inner].chunks_exact_mut(inner);
    for (r, row) in rows.enumerate() {
        let (i, j, o) = (r % a, (r / a) % b, r / (a * b));
        row.copy_from_slice(&x[((o * a + i) * b + j) * inner..][..inner]);
    }
}

pub fn swap_axes_op(w: &[u32], io: &mut CpuIo) {
    let y = io.f32_mut(1);
    swap_axes(&params(w), io.f32(0), y);
}

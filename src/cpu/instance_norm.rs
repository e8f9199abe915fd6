//! CPU twins of `shaders/instance_norm.wgsl`, index for index: x is (planes, HW), planes = N·C.

use super::reduce::workgroup_sum;
use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in instance_norm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct InstanceNormParams {
    pub planes: u32,
    pub hw: u32,
    pub eps: f32,
    pub pad: u32,
}

impl InstanceNormParams {
    pub fn new(n: usize, c: usize, hw: usize, eps: f32) -> Self {
        Self {
            planes: (n * c) as u32,
            hw: hw as u32,
            eps,
            pad: 0,
        }
    }

    pub fn len(&self) -> usize {
        (self.planes * self.hw) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// (mean, 1 / sqrt(biased var + eps)) of one plane, summed in the shader's order.
fn stats(p: &InstanceNormParams, x: &[f32]) -> (f32, f32) {
    let count = p.hw as f32;
    let mean = workgroup_sum(x.len(), |s| x[s]) / count;
    let sq = workgroup_sum(x.len(), |s| (x[s] - mean) * (x[s] - mean));
    (mean, 1.0 / (sq / count + p.eps).sqrt())
}

fn planes<'a>(p: &InstanceNormParams, v: &'a [f32]) -> std::slice::ChunksExact<'a, f32> {
    v[..p.len()].chunks_exact(p.hw.max(1) as usize)
}

pub fn instance_norm_forward(p: &InstanceNormParams, x: &[f32], y: &mut [f32]) {
    let hw = p.hw.max(1) as usize;
    for (xr, yr) in planes(p, x).zip(y[..p.len()].chunks_exact_mut(hw)) {
        let (mean, invstd) = stats(p, xr);
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = (x - mean) * invstd;
        }
    }
}

pub fn instance_norm_backward(p: &InstanceNormParams, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    let hw = p.hw.max(1) as usize;
    let count = p.hw as f32;
    let rows = planes(p, x).zip(planes(p, dy));
    for ((xr, dyr), dxr) in rows.zip(dx[..p.len()].chunks_exact_mut(hw)) {
        let (mean, invstd) = stats(p, xr);
        let sum_dy = workgroup_sum(hw, |s| dyr[s]);
        let sum_dy_xhat = workgroup_sum(hw, |s| dyr[s] * (xr[s] - mean) * invstd);
        let k = invstd / count;
        for ((dx, &x), &d) in dxr.iter_mut().zip(xr).zip(dyr) {
            let xhat = (x - mean) * invstd;
            *dx = k * (count * d - sum_dy - xhat * sum_dy_xhat);
        }
    }
}

pub fn instance_norm_forward_op(w: &[u32], io: &mut CpuIo) {
    instance_norm_forward(&params(w), io.f32(0), io.f32_mut(1));
}

pub fn instance_norm_backward_op(w: &[u32], io: &mut CpuIo) {
    instance_norm_backward(&params(w), io.f32(0), io.f32(1), io.f32_mut(2));
}

//! CPU twins of `shaders/instance_norm.wgsl`, index for index: x is (planes, HW), planes = N·C;
//! the planes on every core (`par::chunks`), each summed whole by one thread.

use super::reduce::workgroup_sum;
use super::{par, params, CpuIo};
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

/// `f(plane, out_row)` for every plane of `out`, in chunks of planes on the pool.
fn each_plane<F>(p: &InstanceNormParams, out: &mut [f32], f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let hw = p.hw.max(1) as usize;
    let chunk = par::per_thread(p.planes as usize) * hw;
    par::chunks(&mut out[..p.len()], chunk, p.len(), |first, rows| {
        for (i, row) in rows.chunks_exact_mut(hw).enumerate() {
            f(first / hw + i, row);
        }
    });
}

pub fn instance_norm_forward(p: &InstanceNormParams, x: &[f32], y: &mut [f32]) {
    let hw = p.hw.max(1) as usize;
    each_plane(p, y, |plane, yr| {
        let xr = &x[plane * hw..(plane + 1) * hw];
        let (mean, invstd) = stats(p, xr);
        for (y, &x) in yr.iter_mut().zip(xr) {
            *y = (x - mean) * invstd;
        }
    });
}

pub fn instance_norm_backward(p: &InstanceNormParams, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    let hw = p.hw.max(1) as usize;
    let count = p.hw as f32;
    each_plane(p, dx, |plane, dxr| {
        let (xr, dyr) = (&x[plane * hw..][..hw], &dy[plane * hw..][..hw]);
        let (mean, invstd) = stats(p, xr);
        let sum_dy = workgroup_sum(hw, |s| dyr[s]);
        let sum_dy_xhat = workgroup_sum(hw, |s| dyr[s] * (xr[s] - mean) * invstd);
        let k = invstd / count;
        for ((dx, &x), &d) in dxr.iter_mut().zip(xr).zip(dyr) {
            let xhat = (x - mean) * invstd;
            *dx = k * (count * d - sum_dy - xhat * sum_dy_xhat);
        }
    });
}

pub fn instance_norm_forward_op(w: &[u32], io: &mut CpuIo) {
    instance_norm_forward(&params(w), io.f32(0), io.f32_mut(1));
}

pub fn instance_norm_backward_op(w: &[u32], io: &mut CpuIo) {
    instance_norm_backward(&params(w), io.f32(0), io.f32(1), io.f32_mut(2));
}

/// The twin of the serial variant: the same results as `instance_norm_forward`.
pub fn instance_norm_forward_serial_op(w: &[u32], io: &mut CpuIo) {
    instance_norm_forward_op(w, io);
}

/// The twin of the serial variant: the same results as `instance_norm_backward`.
pub fn instance_norm_backward_serial_op(w: &[u32], io: &mut CpuIo) {
    instance_norm_backward_op(w, io);
}

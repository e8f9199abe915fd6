//! CPU twins of `shaders/prelu.wgsl`, index for index. x is (N, C, HW); slope is (C).

use super::reduce::Partials;
use super::{par, params, CpuIo};
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
}

/// `f(ch, first, block)` over `out` in pieces that each lie inside one channel's run of hw
/// values (a BLOCK at most), on every core when it is large: the slope is looked up once a
/// piece instead of an index division per value.
fn channel_runs<F>(p: &PreluParams, out: &mut [f32], f: F)
where
    F: Fn(usize, usize, &mut [f32]) + Sync + Send,
{
    let (c, hw) = (p.c as usize, (p.hw as usize).max(1));
    let out = &mut out[..p.len()];
    if hw == 1 {
        // (N, C): a piece is a sample's row of channels, value by value.
        let c = c.max(1);
        return par::chunks(out, c, out.len(), |first, row| {
            for (k, v) in row.iter_mut().enumerate() {
                f(k, first + k, std::slice::from_mut(v));
            }
        });
    }
    let piece = hw.min(par::BLOCK);
    par::chunks(out, hw, out.len(), |first, plane| {
        let ch = (first / hw) % c;
        for (k, run) in plane.chunks_mut(piece).enumerate() {
            f(ch, first + k * piece, run);
        }
    });
}

/// y = max(0, x) + slope_c · min(0, x).
pub fn prelu_forward(p: &PreluParams, x: &[f32], slope: &[f32], y: &mut [f32]) {
    channel_runs(p, y, |ch, first, y| {
        let a = slope[ch];
        for (y, &v) in y.iter_mut().zip(&x[first..]) {
            *y = v.max(0.0) + a * v.min(0.0);
        }
    });
}

/// dx = dy where x > 0, else slope_c · dy (PyTorch's choice at x = 0).
pub fn prelu_backward(p: &PreluParams, x: &[f32], slope: &[f32], dy: &[f32], dx: &mut [f32]) {
    channel_runs(p, dx, |ch, first, dx| {
        let a = slope[ch];
        for ((dx, &v), &d) in dx.iter_mut().zip(&x[first..]).zip(&dy[first..]) {
            *dx = if v > 0.0 { d } else { a * d };
        }
    });
}

/// grad_slope_c (+)= Σ_(b, s) min(0, x) · dy, in the shader's order (`cpu::reduce`), the
/// channels on every core.
pub fn prelu_slope_grad(p: &PreluParams, x: &[f32], dy: &[f32], grad_slope: &mut [f32]) {
    let (c, hw) = (p.c as usize, p.hw as usize);
    let work = p.len();
    par::chunks(
        &mut grad_slope[..c],
        par::per_thread(c),
        work,
        |first, gs| {
            for (ch, g) in (first..).zip(gs.iter_mut()) {
                let mut sum = Partials::new();
                for b in 0..p.n as usize {
                    let at = (b * c + ch) * hw;
                    sum.add(
                        x[at..at + hw]
                            .iter()
                            .zip(&dy[at..at + hw])
                            .map(|(&v, &d)| v.min(0.0) * d),
                    );
                }
                let mut acc = sum.total();
                if p.flags & ACCUMULATE != 0 {
                    acc += *g;
                }
                *g = acc;
            }
        },
    );
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

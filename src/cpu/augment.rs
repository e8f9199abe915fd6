//! CPU twin of `shaders/augment.wgsl`.

use super::random::philox;
use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in augment.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct AugmentParams {
    pub n: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub stream: u32,
    pub slot: u32,
    pub channels: u32,
    pub side: u32,
    pub max_shift: u32,
}

pub fn random_shift(p: &AugmentParams, counters: &[u32], x: &[f32], out: &mut [f32]) {
    let (side, plane) = (p.side as i32, p.side * p.side);
    let span = 2 * p.max_shift + 1;
    let m = p.max_shift as i32;
    par::blocks(&mut out[..p.n as usize], |first, out| {
        for (i, o) in (first as u32..).zip(out.iter_mut()) {
            let row = i / (p.channels * plane);
            let yy = ((i % plane) / p.side) as i32;
            let xx = (i % p.side) as i32;
            let r = philox(
                [row, counters[p.slot as usize], p.stream, 3],
                [p.seed_lo, p.seed_hi],
            );
            let sy = yy - ((r[0] % span) as i32 - m);
            let sx = xx - ((r[1] % span) as i32 - m);
            *o = if sy < 0 || sy >= side || sx < 0 || sx >= side {
                -1.0
            } else {
                x[(i as i32 - (yy * side + xx) + (sy * side + sx)) as usize]
            };
        }
    });
}

pub fn random_shift_op(w: &[u32], io: &mut CpuIo) {
    random_shift(&params(w), io.u32(0), io.f32(1), io.f32_mut(2));
}

//! CPU twin of `shaders/image_pool.wgsl`: CycleGAN's pool of past fakes, with the same Philox
//! draws as the shader, so both paths keep and return the same images.

use super::random::philox;
use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in image_pool.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ImagePoolParams {
    pub batch: u32,
    pub image_len: u32,
    pub pool_size: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub stream: u32,
    pub slot: u32,
    pub pad: u32,
}

/// CycleGAN's pool size.
pub const POOL_SIZE: usize = 50;

/// out = the pool's answer to `fake` (batch, image_len); pool and state[0] (the fill) updated.
pub fn image_pool_query(
    p: &ImagePoolParams,
    fake: &[f32],
    counters: &[u32],
    pool: &mut [f32],
    state: &mut [u32],
    out: &mut [f32],
) {
    let len = p.image_len as usize;
    let mut count = state[0];
    for j in 0..p.batch {
        let img = j as usize * len..(j as usize + 1) * len;
        if count < p.pool_size {
            let slot = count as usize * len;
            pool[slot..slot + len].copy_from_slice(&fake[img.clone()]);
            out[img.clone()].copy_from_slice(&fake[img]);
            count += 1;
            continue;
        }
        let ctr = [j, counters[p.slot as usize], p.stream, 3];
        let r = philox(ctr, [p.seed_lo, p.seed_hi]);
        let u = (r[0] >> 8) as f32 * 5.960_464_5e-8;
        if u > 0.5 {
            let slot = (r[1] % p.pool_size) as usize * len;
            out[img.clone()].copy_from_slice(&pool[slot..slot + len]);
            pool[slot..slot + len].copy_from_slice(&fake[img]);
        } else {
            out[img.clone()].copy_from_slice(&fake[img]);
        }
    }
    state[0] = count;
}

pub fn image_pool_query_op(w: &[u32], io: &mut CpuIo) {
    let (pool, state, out) = (io.f32_mut(2), io.u32_mut(3), io.f32_mut(4));
    image_pool_query(&params(w), io.f32(0), io.u32(1), pool, state, out);
}

//! Recording CycleGAN's image pool (shaders/image_pool.wgsl).

use super::{check, RandomStream, Result};
use crate::cpu::image_pool::ImagePoolParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{Program, View};

/// A pool's device tensors: `images` (pool_size, image_len) and `state` (1 word: the fill, a u32).
/// Both are state to checkpoint; a new pool starts with state 0.
#[derive(Clone, Copy, Debug)]
pub struct ImagePoolViews {
    pub images: View,
    pub state: View,
}

/// out (batch, image_len) = the pool's answer to `fake`; the pool keeps the new fakes. The draws
/// come from `rs` at the iteration in counters[rs.slot].
#[allow(clippy::too_many_arguments)]
pub fn image_pool_query(
    prog: &mut Program,
    rs: RandomStream,
    counters: View,
    pool: ImagePoolViews,
    (batch, image_len): (usize, usize),
    fake: View,
    out: View,
    label: &str,
) -> Result {
    check(prog, label, fake, batch * image_len)?;
    check(prog, label, out, batch * image_len)?;
    check(prog, label, pool.state, 1)?;
    let pool_size = pool.images.len / image_len.max(1);
    check(prog, label, pool.images, pool_size.max(1) * image_len)?;
    let p = ImagePoolParams {
        batch: batch as u32,
        image_len: image_len as u32,
        pool_size: pool_size as u32,
        seed_lo: rs.seed as u32,
        seed_hi: (rs.seed >> 32) as u32,
        stream: rs.stream,
        slot: rs.slot as u32,
        pad: 0,
    };
    let b = vec![
        (fake, R),
        (counters, R),
        (pool.images, W),
        (pool.state, W),
        (out, W),
    ];
    prog.push(Kernel::ImagePoolQuery, &words(&p), b, [1, 1, 1], label);
    Ok(())
}

//! Builder for data augmentation (the classifier's random shifts).

use super::{check, RandomStream, Result};
use crate::cpu::augment::AugmentParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// out (N, C, S, S) = x moved by a random whole-pixel (dy, dx) in [-max_shift, max_shift]² per
/// image, filled with -1.
#[allow(clippy::too_many_arguments)]
pub fn random_shift(
    prog: &mut Program,
    rs: RandomStream,
    counters: View,
    x: View,
    out: View,
    (channels, side): (usize, usize),
    max_shift: usize,
    label: &str,
) -> Result {
    let image = channels * side * side;
    check(prog, label, x, x.len.div_ceil(image.max(1)) * image)?;
    check(prog, label, out, x.len)?;
    let p = AugmentParams {
        n: x.len as u32,
        seed_lo: rs.seed as u32,
        seed_hi: (rs.seed >> 32) as u32,
        stream: rs.stream,
        slot: rs.slot as u32,
        channels: channels as u32,
        side: side as u32,
        max_shift: max_shift as u32,
    };
    let b = vec![(counters, R), (x, R), (out, W)];
    prog.push(
        Kernel::RandomShift,
        &words(&p),
        b,
        grid_1d(x.len, 64),
        label,
    );
    Ok(())
}

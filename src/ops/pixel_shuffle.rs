//! Recording pixel shuffle (shaders/pixel_shuffle.wgsl).

use super::{check, Result, ShapeError};
use crate::cpu::pixel_shuffle::PixelShuffleParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// y (N, C, r·H, r·W) = pixel_shuffle(x (N, C·r², H, W), r).
pub fn pixel_shuffle_forward(
    prog: &mut Program,
    p: PixelShuffleParams,
    x: View,
    y: View,
    label: &str,
) -> Result {
    record(prog, Kernel::PixelShuffleForward, p, (x, y), label)
}

/// dx (N, C·r², H, W) from dy (N, C, r·H, r·W).
pub fn pixel_shuffle_backward(
    prog: &mut Program,
    p: PixelShuffleParams,
    dy: View,
    dx: View,
    label: &str,
) -> Result {
    record(prog, Kernel::PixelShuffleBackward, p, (dy, dx), label)
}

fn record(
    prog: &mut Program,
    kernel: Kernel,
    p: PixelShuffleParams,
    (src, dst): (View, View),
    label: &str,
) -> Result {
    if p.r == 0 {
        return Err(ShapeError {
            op: format!("{label}: the pixel shuffle factor must be at least 1"),
            tensor: prog.buffer_name(src).to_string(),
            got: 0,
            expected: 1,
        });
    }
    check(prog, label, src, p.len())?;
    check(prog, label, dst, p.len())?;
    let g = grid_1d(p.len(), 64);
    prog.push(kernel, &words(&p), vec![(src, R), (dst, W)], g, label);
    Ok(())
}

//! Recording nearest-neighbour upsampling by 2 (`shaders/upsample.wgsl`).

use super::{check, Result};
use crate::cpu::upsample::UpsampleParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// y (planes, 2H, 2W) = F.interpolate(x (planes, H, W), scale_factor=2, mode="nearest");
/// planes = N·C.
pub fn upsample_nearest_forward(
    prog: &mut Program,
    (planes, h, w): (usize, usize, usize),
    x: View,
    y: View,
    label: &str,
) -> Result {
    check(prog, label, x, planes * h * w)?;
    check(prog, label, y, planes * 4 * h * w)?;
    let p = params(planes, h, w);
    let b = vec![(x, R), (y, W)];
    let grid = grid_1d(y.len, 64);
    prog.push(Kernel::UpsampleNearestForward, &words(&p), b, grid, label);
    Ok(())
}

/// dx (planes, H, W) = the gradient of [`upsample_nearest_forward`] from dy (planes, 2H, 2W).
pub fn upsample_nearest_backward(
    prog: &mut Program,
    (planes, h, w): (usize, usize, usize),
    dy: View,
    dx: View,
    label: &str,
) -> Result {
    check(prog, label, dy, planes * 4 * h * w)?;
    check(prog, label, dx, planes * h * w)?;
    let p = params(planes, h, w);
    let b = vec![(dy, R), (dx, W)];
    let grid = grid_1d(dx.len, 64);
    prog.push(Kernel::UpsampleNearestBackward, &words(&p), b, grid, label);
    Ok(())
}

fn params(planes: usize, h: usize, w: usize) -> UpsampleParams {
    UpsampleParams {
        planes: planes as u32,
        h: h as u32,
        w: w as u32,
        pad: 0,
    }
}

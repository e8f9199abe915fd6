//! Recording instance normalisation (shaders/instance_norm.wgsl).

use super::{check, Result};
use crate::cpu::instance_norm::InstanceNormParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// y = each (sample, channel) plane of x normalised over its HW values.
pub fn instance_norm_forward(
    prog: &mut Program,
    p: InstanceNormParams,
    x: View,
    y: View,
    label: &str,
) -> Result {
    check(prog, label, x, p.len())?;
    check(prog, label, y, p.len())?;
    let g = grid_1d(p.planes as usize * 256, 256);
    prog.push(
        Kernel::InstanceNormForward,
        &words(&p),
        vec![(x, R), (y, W)],
        g,
        label,
    );
    Ok(())
}

/// dx from the forward input x and dy.
pub fn instance_norm_backward(
    prog: &mut Program,
    p: InstanceNormParams,
    x: View,
    dy: View,
    dx: View,
    label: &str,
) -> Result {
    check(prog, label, x, p.len())?;
    check(prog, label, dy, p.len())?;
    check(prog, label, dx, p.len())?;
    let b = vec![(x, R), (dy, R), (dx, W)];
    let g = grid_1d(p.planes as usize * 256, 256);
    prog.push(Kernel::InstanceNormBackward, &words(&p), b, g, label);
    Ok(())
}

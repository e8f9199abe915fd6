//! Recording PReLU (shaders/prelu.wgsl): x (N, C, HW), one slope per channel.

use super::{check, Result};
use crate::cpu::prelu::PreluParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// y = max(0, x) + slope_c · min(0, x); `p.flags` is not read.
pub fn prelu_forward(
    prog: &mut Program,
    p: PreluParams,
    x: View,
    slope: View,
    y: View,
    label: &str,
) -> Result {
    check(prog, label, x, p.len())?;
    check(prog, label, slope, p.c as usize)?;
    check(prog, label, y, p.len())?;
    let b = vec![(x, R), (slope, R), (y, W)];
    let g = grid_1d(p.len(), 64);
    prog.push(Kernel::PreluForward, &words(&p), b, g, label);
    Ok(())
}

/// dx, the input gradient, from the forward input x and dy.
pub fn prelu_backward(
    prog: &mut Program,
    p: PreluParams,
    (x, slope): (View, View),
    dy: View,
    dx: View,
    label: &str,
) -> Result {
    check(prog, label, x, p.len())?;
    check(prog, label, slope, p.c as usize)?;
    check(prog, label, dy, p.len())?;
    check(prog, label, dx, p.len())?;
    let b = vec![(x, R), (slope, R), (dy, R), (dx, W)];
    let g = grid_1d(p.len(), 64);
    prog.push(Kernel::PreluBackward, &words(&p), b, g, label);
    Ok(())
}

/// grad_slope (C) (+)= Σ min(0, x) · dy per channel; `p.flags` may hold ACCUMULATE.
pub fn prelu_slope_grad(
    prog: &mut Program,
    p: PreluParams,
    x: View,
    dy: View,
    grad_slope: View,
    label: &str,
) -> Result {
    check(prog, label, x, p.len())?;
    check(prog, label, dy, p.len())?;
    check(prog, label, grad_slope, p.c as usize)?;
    let b = vec![(x, R), (dy, R), (grad_slope, W)];
    // One workgroup per channel.
    let g = [p.c, 1, 1];
    prog.push(Kernel::PreluSlopeGrad, &words(&p), b, g, label);
    Ok(())
}

//! Recording reflection padding (shaders/reflect_pad.wgsl).

use super::{check, Result, ShapeError};
use crate::cpu::reflect_pad::ReflectPadParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// PyTorch's rule: a reflection needs a pixel beyond the edge one on each side.
fn valid(prog: &Program, p: &ReflectPadParams, x: View, label: &str) -> Result {
    if p.pad < p.h && p.pad < p.w {
        return Ok(());
    }
    Err(ShapeError {
        op: format!(
            "{label}: reflection padding {} needs a side larger than it (got {}x{})",
            p.pad, p.h, p.w
        ),
        tensor: prog.buffer_name(x).to_string(),
        got: x.len,
        expected: p.x_len(),
    })
}

/// y (planes, H + 2p, W + 2p) = reflect_pad(x (planes, H, W)).
pub fn reflect_pad_forward(
    prog: &mut Program,
    p: ReflectPadParams,
    x: View,
    y: View,
    label: &str,
) -> Result {
    valid(prog, &p, x, label)?;
    check(prog, label, x, p.x_len())?;
    check(prog, label, y, p.y_len())?;
    let g = grid_1d(p.y_len(), 64);
    prog.push(
        Kernel::ReflectPadForward,
        &words(&p),
        vec![(x, R), (y, W)],
        g,
        label,
    );
    Ok(())
}

/// dx (planes, H, W): dy folded back onto the pixels each padded pixel mirrors.
pub fn reflect_pad_backward(
    prog: &mut Program,
    p: ReflectPadParams,
    dy: View,
    dx: View,
    label: &str,
) -> Result {
    valid(prog, &p, dx, label)?;
    check(prog, label, dy, p.y_len())?;
    check(prog, label, dx, p.x_len())?;
    let g = grid_1d(p.x_len(), 64);
    prog.push(
        Kernel::ReflectPadBackward,
        &words(&p),
        vec![(dy, R), (dx, W)],
        g,
        label,
    );
    Ok(())
}

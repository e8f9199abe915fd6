//! Recording average pooling (shaders/pool.wgsl).

use super::{check, Result, ShapeError};
use crate::cpu::pool::PoolGeometry;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

fn valid(prog: &Program, g: &PoolGeometry, x: View, label: &str) -> Result {
    g.validate().map_err(|why| ShapeError {
        op: format!("{label}: {why}"),
        tensor: prog.buffer_name(x).to_string(),
        got: x.len,
        expected: g.x_len(),
    })
}

/// y (planes, T/kt, H/kh, W/kw) = the mean of each window of x (planes, T, H, W).
pub fn avg_pool_forward(
    prog: &mut Program,
    g: PoolGeometry,
    x: View,
    y: View,
    label: &str,
) -> Result {
    valid(prog, &g, x, label)?;
    check(prog, label, x, g.x_len())?;
    check(prog, label, y, g.y_len())?;
    let b = vec![(x, R), (y, W)];
    prog.push(
        Kernel::AvgPoolForward,
        &words(&g.params()),
        b,
        grid_1d(y.len, 64),
        label,
    );
    Ok(())
}

/// dx (planes, T, H, W) from dy (planes, T/kt, H/kh, W/kw).
pub fn avg_pool_backward(
    prog: &mut Program,
    g: PoolGeometry,
    dy: View,
    dx: View,
    label: &str,
) -> Result {
    valid(prog, &g, dx, label)?;
    check(prog, label, dy, g.y_len())?;
    check(prog, label, dx, g.x_len())?;
    let b = vec![(dy, R), (dx, W)];
    prog.push(
        Kernel::AvgPoolBackward,
        &words(&g.params()),
        b,
        grid_1d(dx.len, 64),
        label,
    );
    Ok(())
}

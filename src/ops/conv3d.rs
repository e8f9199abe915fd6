//! conv3d (`nn.Conv3d`, a cubic kernel, one stride and padding on every axis) lowered to the
//! engine's matmul as conv2d is (`ops::conv`): with K3 = C_in·K³, P = T_out·H_out·W_out and W
//! seen as (C_out, K3),
//!   forward      y = cnhw_to_nchw(W · im2col3d(x)) (+ bias)
//!   input grad   dx = col2im3d(Wᵀ · nchw_to_cnhw(dy))
//!   weight grad  dW (+)= nchw_to_cnhw(dy) · im2col3d(x)ᵀ
//! The channel transposes and the bias gradient are conv2d's, on `Conv3dGeometry::flat_output`.
//! Scratch is the conv2d lowering's, shared by every conv of a program. There is no direct
//! kernel to fall back on: a conv3d whose scratch passes 128 MiB is a shape error.
//! Weight and bias grads take `flags`; only `cpu::conv2d::ACCUMULATE` is read.

use super::conv::{self, drop_if_redundant, scratch, CHANNEL_MAJOR, COLS, MAX_SCRATCH};
use super::{check, matmul, Result, ShapeError, Transpose};
use crate::cpu::conv2d::ACCUMULATE;
use crate::cpu::conv3d::{Conv3dGeometry, HAS_BIAS};
use crate::cpu::matmul::ACCUMULATE as MATMUL_ACCUMULATE;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// Scratch views (cols, channel-major y) after checking the geometry and the scratch limit.
fn prepare(prog: &mut Program, g: &Conv3dGeometry, label: &str) -> Result<(View, View)> {
    let (k3, np) = g.cols_shape();
    let why = match g.validate() {
        Err(why) => Some(why),
        Ok(()) if k3.max(g.c_out).saturating_mul(np) > MAX_SCRATCH => {
            Some(format!("scratch of {k3}x{np} words passes {MAX_SCRATCH}"))
        }
        Ok(()) => None,
    };
    if let Some(why) = why {
        return Err(ShapeError {
            op: format!("{label} ({why})"),
            tensor: "conv3d geometry".into(),
            got: 0,
            expected: 0,
        });
    }
    let cols = scratch(prog, COLS, k3 * np);
    Ok((cols, scratch(prog, CHANNEL_MAJOR, g.c_out * np)))
}

/// cols (K3, N·P) = the patches of x (N, C_in, T, H, W).
pub fn im2col3d(prog: &mut Program, g: Conv3dGeometry, x: View, cols: View, label: &str) -> Result {
    let (k3, np) = g.cols_shape();
    check(prog, label, x, g.x_len())?;
    check(prog, label, cols, k3 * np)?;
    let b = vec![(x, R), (cols, W)];
    let grid = grid_1d(k3 * np, 64);
    prog.push(Kernel::Im2col3d, &words(&g.params(0)), b, grid, label);
    Ok(())
}

/// x (N, C_in, T, H, W) = col2im3d(cols (K3, N·P)) (+ bias (C_in)): the adjoint of im2col3d.
pub fn col2im3d(
    prog: &mut Program,
    g: Conv3dGeometry,
    cols: View,
    bias: Option<View>,
    x: View,
    label: &str,
) -> Result {
    let (k3, np) = g.cols_shape();
    check(prog, label, cols, k3 * np)?;
    check(prog, label, x, g.x_len())?;
    let mut flags = 0;
    let bias = match bias {
        Some(v) => {
            check(prog, label, v, g.c_in)?;
            flags |= HAS_BIAS;
            v
        }
        None => prog.dummy(),
    };
    let b = vec![(cols, R), (bias, R), (x, W)];
    let grid = grid_1d(g.x_len(), 64);
    prog.push(Kernel::Col2im3d, &words(&g.params(flags)), b, grid, label);
    Ok(())
}

/// y (N, C_out, T_out, H_out, W_out) = conv3d(x, w) (+ bias): x (N, C_in, T, H, W),
/// w (C_out, C_in, K, K, K), bias (C_out).
pub fn conv3d_forward(
    prog: &mut Program,
    g: Conv3dGeometry,
    (x, w, bias): (View, View, Option<View>),
    y: View,
    label: &str,
) -> Result {
    let (cols, y_t) = prepare(prog, &g, label)?;
    let (k3, np) = g.cols_shape();
    check(prog, label, w, g.w_len())?;
    check(prog, label, y, g.y_len())?;
    im2col3d(prog, g, x, cols, &format!("{label} / im2col3d"))?;
    drop_if_redundant(prog);
    let l = format!("{label} / matmul");
    matmul(
        prog,
        Transpose::None,
        w,
        cols,
        None,
        y_t,
        (g.c_out, np, k3),
        0,
        &l,
    )?;
    let flat = g.flat_output();
    conv::cnhw_to_nchw(prog, flat, y_t, bias, y, &format!("{label} / cnhw_to_nchw"))
}

/// dx (N, C_in, T, H, W) = the gradient of conv3d wrt x, from dy.
pub fn conv3d_input_grad(
    prog: &mut Program,
    g: Conv3dGeometry,
    dy: View,
    w: View,
    dx: View,
    label: &str,
) -> Result {
    let (cols, y_t) = prepare(prog, &g, label)?;
    let (k3, np) = g.cols_shape();
    check(prog, label, w, g.w_len())?;
    let flat = g.flat_output();
    conv::nchw_to_cnhw(prog, flat, dy, y_t, &format!("{label} / nchw_to_cnhw"))?;
    drop_if_redundant(prog);
    let l = format!("{label} / matmul");
    matmul(
        prog,
        Transpose::A,
        w,
        y_t,
        None,
        cols,
        (k3, np, g.c_out),
        0,
        &l,
    )?;
    col2im3d(prog, g, cols, None, dx, &format!("{label} / col2im3d"))
}

/// dw (C_out, C_in, K, K, K) (+)= the gradient of conv3d wrt w (ACCUMULATE in `flags`).
pub fn conv3d_weight_grad(
    prog: &mut Program,
    g: Conv3dGeometry,
    x: View,
    dy: View,
    dw: View,
    flags: u32,
    label: &str,
) -> Result {
    let (cols, y_t) = prepare(prog, &g, label)?;
    let (k3, np) = g.cols_shape();
    check(prog, label, dw, g.w_len())?;
    im2col3d(prog, g, x, cols, &format!("{label} / im2col3d"))?;
    drop_if_redundant(prog);
    let flat = g.flat_output();
    conv::nchw_to_cnhw(prog, flat, dy, y_t, &format!("{label} / nchw_to_cnhw"))?;
    drop_if_redundant(prog);
    let mm_flags = if flags & ACCUMULATE != 0 {
        MATMUL_ACCUMULATE
    } else {
        0
    };
    let l = format!("{label} / matmul");
    matmul(
        prog,
        Transpose::B,
        y_t,
        cols,
        None,
        dw,
        (g.c_out, k3, np),
        mm_flags,
        &l,
    )
}

/// db (C_out) (+)= the gradient of conv3d wrt its bias (conv2d_bias_grad over T_out·H_out·W_out).
pub fn conv3d_bias_grad(
    prog: &mut Program,
    g: Conv3dGeometry,
    dy: View,
    db: View,
    flags: u32,
    label: &str,
) -> Result {
    g.validate().map_err(|why| ShapeError {
        op: format!("{label} ({why})"),
        tensor: "conv3d geometry".into(),
        got: 0,
        expected: 0,
    })?;
    conv::conv2d_bias_grad(prog, g.flat_output(), dy, db, flags, label)
}

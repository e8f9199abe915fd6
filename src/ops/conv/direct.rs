//! The direct conv kernels (`shaders/conv2d.wgsl`, `shaders/conv_transpose2d.wgsl`): one
//! invocation per output element. The `ops::conv` builders fall back to these where the lowering
//! does not fit; called on their own they record the reference the lowering is tested against.
//! The checks here are shared by both paths.

use crate::cpu::conv2d::{Conv2dGeometry, ConvParams, ACCUMULATE, HAS_BIAS};
use crate::cpu::conv_transpose2d::ConvTranspose2dGeometry;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::ops::{check, Result, ShapeError};
use crate::program::{grid_1d, Program, View};

/// What a builder needs from either geometry, taken once it is known to be valid.
pub(super) struct Shape {
    x_len: usize,
    w_len: usize,
    y_len: usize,
    c_out: usize,
    params: ConvParams,
}

/// An invalid geometry is reported against the y-shaped tensor (y or dy), with the length it
/// implies (0 when there is no output).
fn invalid(prog: &Program, label: &str, why: String, y: View, y_len: usize) -> ShapeError {
    ShapeError {
        op: format!("{label} ({why})"),
        tensor: prog.buffer_name(y).to_string(),
        got: y.len,
        expected: y_len,
    }
}

pub(super) fn conv2d_shape(
    prog: &Program,
    g: &Conv2dGeometry,
    y: View,
    label: &str,
) -> Result<Shape> {
    g.validate()
        .map_err(|why| invalid(prog, label, why, y, g.y_len()))?;
    Ok(Shape {
        x_len: g.x_len(),
        w_len: g.w_len(),
        y_len: g.y_len(),
        c_out: g.c_out,
        params: g.params(0),
    })
}

pub(super) fn transposed_shape(
    prog: &Program,
    g: &ConvTranspose2dGeometry,
    y: View,
    label: &str,
) -> Result<Shape> {
    g.validate()
        .map_err(|why| invalid(prog, label, why, y, g.y_len()))?;
    Ok(Shape {
        x_len: g.x_len(),
        w_len: g.w_len(),
        y_len: g.y_len(),
        c_out: g.c_out,
        params: g.params(0),
    })
}

/// Checks x (N, C_in, H, W), w, optional bias (C_out) and y (N, C_out, H_out, W_out); returns
/// the params with HAS_BIAS set when there is a bias.
pub(super) fn check_forward(
    prog: &Program,
    s: &Shape,
    (x, w, bias, y): (View, View, Option<View>, View),
    label: &str,
) -> Result<ConvParams> {
    check(prog, label, x, s.x_len)?;
    check(prog, label, w, s.w_len)?;
    check(prog, label, y, s.y_len)?;
    let mut p = s.params;
    if let Some(v) = bias {
        check(prog, label, v, s.c_out)?;
        p.flags |= HAS_BIAS;
    }
    Ok(p)
}

/// Checks dy (N, C_out, H_out, W_out), w and dx (N, C_in, H, W).
pub(super) fn check_input_grad(
    prog: &Program,
    s: &Shape,
    (dy, w, dx): (View, View, View),
    label: &str,
) -> Result {
    check(prog, label, dy, s.y_len)?;
    check(prog, label, w, s.w_len)?;
    check(prog, label, dx, s.x_len)
}

/// Checks x, dy and dw.
pub(super) fn check_weight_grad(
    prog: &Program,
    s: &Shape,
    (x, dy, dw): (View, View, View),
    label: &str,
) -> Result {
    check(prog, label, x, s.x_len)?;
    check(prog, label, dy, s.y_len)?;
    check(prog, label, dw, s.w_len)
}

/// x, w, optional bias -> y.
fn forward(
    prog: &mut Program,
    kernel: Kernel,
    s: Shape,
    (x, w, bias, y): (View, View, Option<View>, View),
    label: &str,
) -> Result {
    let p = check_forward(prog, &s, (x, w, bias, y), label)?;
    let bias = bias.unwrap_or_else(|| prog.dummy());
    let b = vec![(x, R), (w, R), (bias, R), (y, W)];
    prog.push(kernel, &words(&p), b, grid_1d(s.y_len, 64), label);
    Ok(())
}

/// dy, w -> dx.
fn input_grad(
    prog: &mut Program,
    kernel: Kernel,
    s: Shape,
    (dy, w, dx): (View, View, View),
    label: &str,
) -> Result {
    check_input_grad(prog, &s, (dy, w, dx), label)?;
    let b = vec![(dy, R), (w, R), (dx, W)];
    prog.push(kernel, &words(&s.params), b, grid_1d(s.x_len, 64), label);
    Ok(())
}

/// x, dy -> dw (+)= the weight gradient.
fn weight_grad(
    prog: &mut Program,
    kernel: Kernel,
    s: Shape,
    (x, dy, dw): (View, View, View),
    flags: u32,
    label: &str,
) -> Result {
    check_weight_grad(prog, &s, (x, dy, dw), label)?;
    let p = ConvParams {
        flags: flags & ACCUMULATE,
        ..s.params
    };
    let b = vec![(x, R), (dy, R), (dw, W)];
    prog.push(kernel, &words(&p), b, grid_1d(s.w_len, 64), label);
    Ok(())
}

/// dy (N, C_out, H_out, W_out) -> db (C_out) (+)= dy.sum((0, 2, 3)); shared by both convs.
pub(super) fn bias_grad(
    prog: &mut Program,
    s: Shape,
    dy: View,
    db: View,
    flags: u32,
    label: &str,
) -> Result {
    check(prog, label, dy, s.y_len)?;
    check(prog, label, db, s.c_out)?;
    let p = ConvParams {
        flags: flags & ACCUMULATE,
        ..s.params
    };
    let b = vec![(dy, R), (db, W)];
    prog.push(
        Kernel::Conv2dBiasGrad,
        &words(&p),
        b,
        grid_1d(s.c_out, 64),
        label,
    );
    Ok(())
}

/// `conv2d_forward` as one conv2d_forward kernel.
pub fn conv2d_forward(
    prog: &mut Program,
    g: Conv2dGeometry,
    x: View,
    w: View,
    bias: Option<View>,
    y: View,
    label: &str,
) -> Result {
    let s = conv2d_shape(prog, &g, y, label)?;
    forward(prog, Kernel::Conv2dForward, s, (x, w, bias, y), label)
}

/// `conv2d_input_grad` as one conv2d_input_grad kernel.
pub fn conv2d_input_grad(
    prog: &mut Program,
    g: Conv2dGeometry,
    dy: View,
    w: View,
    dx: View,
    label: &str,
) -> Result {
    let s = conv2d_shape(prog, &g, dy, label)?;
    input_grad(prog, Kernel::Conv2dInputGrad, s, (dy, w, dx), label)
}

/// `conv2d_weight_grad` as one conv2d_weight_grad kernel.
pub fn conv2d_weight_grad(
    prog: &mut Program,
    g: Conv2dGeometry,
    x: View,
    dy: View,
    dw: View,
    flags: u32,
    label: &str,
) -> Result {
    let s = conv2d_shape(prog, &g, dy, label)?;
    weight_grad(prog, Kernel::Conv2dWeightGrad, s, (x, dy, dw), flags, label)
}

/// `conv_transpose2d_forward` as one conv_transpose2d_forward kernel.
pub fn conv_transpose2d_forward(
    prog: &mut Program,
    g: ConvTranspose2dGeometry,
    x: View,
    w: View,
    bias: Option<View>,
    y: View,
    label: &str,
) -> Result {
    let s = transposed_shape(prog, &g, y, label)?;
    let k = Kernel::ConvTranspose2dForward;
    forward(prog, k, s, (x, w, bias, y), label)
}

/// `conv_transpose2d_input_grad` as one conv_transpose2d_input_grad kernel.
pub fn conv_transpose2d_input_grad(
    prog: &mut Program,
    g: ConvTranspose2dGeometry,
    dy: View,
    w: View,
    dx: View,
    label: &str,
) -> Result {
    let s = transposed_shape(prog, &g, dy, label)?;
    let k = Kernel::ConvTranspose2dInputGrad;
    input_grad(prog, k, s, (dy, w, dx), label)
}

/// `conv_transpose2d_weight_grad` as one conv_transpose2d_weight_grad kernel.
pub fn conv_transpose2d_weight_grad(
    prog: &mut Program,
    g: ConvTranspose2dGeometry,
    x: View,
    dy: View,
    dw: View,
    flags: u32,
    label: &str,
) -> Result {
    let s = transposed_shape(prog, &g, dy, label)?;
    let k = Kernel::ConvTranspose2dWeightGrad;
    weight_grad(prog, k, s, (x, dy, dw), flags, label)
}

//! Builders for the conv2d and conv_transpose2d kernels: each checks the geometry and every
//! tensor length against it, then records one kernel call of one invocation per output element.
//! Weight and bias grads take `flags`; only `cpu::conv2d::ACCUMULATE` is read.

use super::{check, Result, ShapeError};
use crate::cpu::conv2d::{Conv2dGeometry, ConvParams, ACCUMULATE, HAS_BIAS};
use crate::cpu::conv_transpose2d::ConvTranspose2dGeometry;
use crate::cpu::words;
use crate::kernels::Kernel;
use crate::program::{grid_1d, Access::Read as R, Access::Write as W, Program, View};

/// What a builder needs from either geometry, taken once it is known to be valid.
struct Shape {
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

fn conv2d_shape(prog: &Program, g: &Conv2dGeometry, y: View, label: &str) -> Result<Shape> {
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

fn transposed_shape(
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

/// x (N, C_in, H, W), w, optional bias (C_out) -> y (N, C_out, H_out, W_out).
fn forward(
    prog: &mut Program,
    kernel: Kernel,
    s: Shape,
    (x, w, bias, y): (View, View, Option<View>, View),
    label: &str,
) -> Result {
    check(prog, label, x, s.x_len)?;
    check(prog, label, w, s.w_len)?;
    check(prog, label, y, s.y_len)?;
    let mut p = s.params;
    let bias = match bias {
        Some(v) => {
            check(prog, label, v, s.c_out)?;
            p.flags |= HAS_BIAS;
            v
        }
        None => prog.dummy(),
    };
    let b = vec![(x, R), (w, R), (bias, R), (y, W)];
    prog.push(kernel, &words(&p), b, grid_1d(s.y_len, 64), label);
    Ok(())
}

/// dy (N, C_out, H_out, W_out), w -> dx (N, C_in, H, W).
fn input_grad(
    prog: &mut Program,
    kernel: Kernel,
    s: Shape,
    (dy, w, dx): (View, View, View),
    label: &str,
) -> Result {
    check(prog, label, dy, s.y_len)?;
    check(prog, label, w, s.w_len)?;
    check(prog, label, dx, s.x_len)?;
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
    check(prog, label, x, s.x_len)?;
    check(prog, label, dy, s.y_len)?;
    check(prog, label, dw, s.w_len)?;
    let p = ConvParams {
        flags: flags & ACCUMULATE,
        ..s.params
    };
    let b = vec![(x, R), (dy, R), (dw, W)];
    prog.push(kernel, &words(&p), b, grid_1d(s.w_len, 64), label);
    Ok(())
}

/// dy (N, C_out, H_out, W_out) -> db (C_out) (+)= dy.sum((0, 2, 3)); shared by both convs.
fn bias_grad(prog: &mut Program, s: Shape, dy: View, db: View, flags: u32, label: &str) -> Result {
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

/// y = conv2d(x, w) (+ bias): x (N, C_in, H, W), w (C_out, C_in, KH, KW), bias (C_out),
/// y (N, C_out, H_out, W_out).
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

/// dx (N, C_in, H, W) = the gradient of conv2d wrt x, from dy (N, C_out, H_out, W_out).
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

/// dw (C_out, C_in, KH, KW) (+)= the gradient of conv2d wrt w.
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

/// db (C_out) (+)= the gradient of conv2d wrt its bias.
pub fn conv2d_bias_grad(
    prog: &mut Program,
    g: Conv2dGeometry,
    dy: View,
    db: View,
    flags: u32,
    label: &str,
) -> Result {
    let s = conv2d_shape(prog, &g, dy, label)?;
    bias_grad(prog, s, dy, db, flags, label)
}

/// y = conv_transpose2d(x, w) (+ bias): x (N, C_in, H, W), w (C_in, C_out, KH, KW),
/// bias (C_out), y (N, C_out, H_out, W_out).
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
    forward(
        prog,
        Kernel::ConvTranspose2dForward,
        s,
        (x, w, bias, y),
        label,
    )
}

/// dx (N, C_in, H, W) = the gradient of conv_transpose2d wrt x.
pub fn conv_transpose2d_input_grad(
    prog: &mut Program,
    g: ConvTranspose2dGeometry,
    dy: View,
    w: View,
    dx: View,
    label: &str,
) -> Result {
    let s = transposed_shape(prog, &g, dy, label)?;
    input_grad(
        prog,
        Kernel::ConvTranspose2dInputGrad,
        s,
        (dy, w, dx),
        label,
    )
}

/// dw (C_in, C_out, KH, KW) (+)= the gradient of conv_transpose2d wrt w.
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

/// db (C_out) (+)= the gradient of conv_transpose2d wrt its bias: records conv2d_bias_grad.
pub fn conv_transpose2d_bias_grad(
    prog: &mut Program,
    g: ConvTranspose2dGeometry,
    dy: View,
    db: View,
    flags: u32,
    label: &str,
) -> Result {
    let s = transposed_shape(prog, &g, dy, label)?;
    bias_grad(prog, s, dy, db, flags, label)
}

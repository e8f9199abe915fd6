//! Builders for conv2d and conv_transpose2d. Each checks the geometry and every tensor length
//! against it, then records the op lowered to the engine's matmul (`lowered`: a reshape, one
//! matmul, a reshape back; the fast path on both executors), or the direct kernel (`direct`)
//! where the lowering would not fit its scratch or grid limits. `direct` can also be called on
//! its own: it is the reference the lowering is tested against.
//! Weight and bias grads take `flags`; only `cpu::conv2d::ACCUMULATE` is read.

pub mod direct;
mod lowered;

use super::Result;
use crate::cpu::conv2d::Conv2dGeometry;
use crate::cpu::conv_transpose2d::ConvTranspose2dGeometry;
use crate::program::{Program, View};
use direct::{check_forward, check_input_grad, check_weight_grad, conv2d_shape, transposed_shape};
use lowered::Lowering;
pub use lowered::{cnhw_to_nchw, col2im, im2col, nchw_to_cnhw};
pub(crate) use lowered::{drop_if_redundant, scratch, CHANNEL_MAJOR, COLS, MAX_SCRATCH};

/// Whether the builders lower this conv2d to matmuls, whole or in batch chunks (else they
/// record the direct kernel).
pub fn conv2d_is_lowered(g: Conv2dGeometry) -> bool {
    Lowering::chunks(g).is_some()
}

/// Whether the builders lower this conv_transpose2d to matmuls.
pub fn conv_transpose2d_is_lowered(g: ConvTranspose2dGeometry) -> bool {
    Lowering::transposed_chunks(g).is_some()
}

/// A weight gradient's flags for its batch chunk `i`: the first as asked, the rest accumulate.
fn chunk_flags(flags: u32, i: usize) -> u32 {
    if i == 0 {
        flags
    } else {
        flags | crate::cpu::conv2d::ACCUMULATE
    }
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
    let Some(chunks) = Lowering::chunks(g) else {
        return direct::conv2d_forward(prog, g, x, w, bias, y, label);
    };
    let s = conv2d_shape(prog, &g, y, label)?;
    check_forward(prog, &s, (x, w, bias, y), label)?;
    for (l, n0) in chunks {
        l.forward(prog, (l.x_part(x, n0), w, bias, l.y_part(y, n0)), label)?;
    }
    Ok(())
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
    let Some(chunks) = Lowering::chunks(g) else {
        return direct::conv2d_input_grad(prog, g, dy, w, dx, label);
    };
    let s = conv2d_shape(prog, &g, dy, label)?;
    check_input_grad(prog, &s, (dy, w, dx), label)?;
    for (l, n0) in chunks {
        l.input_grad(prog, (l.y_part(dy, n0), w, None, l.x_part(dx, n0)), label)?;
    }
    Ok(())
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
    let Some(chunks) = Lowering::chunks(g) else {
        return direct::conv2d_weight_grad(prog, g, x, dy, dw, flags, label);
    };
    let s = conv2d_shape(prog, &g, dy, label)?;
    check_weight_grad(prog, &s, (x, dy, dw), label)?;
    for (i, (l, n0)) in chunks.into_iter().enumerate() {
        let (x, dy) = (l.x_part(x, n0), l.y_part(dy, n0));
        l.weight_grad(prog, (x, dy, dw), chunk_flags(flags, i), label)?;
    }
    Ok(())
}

/// db (C_out) (+)= the gradient of conv2d wrt its bias (always the conv2d_bias_grad kernel).
pub fn conv2d_bias_grad(
    prog: &mut Program,
    g: Conv2dGeometry,
    dy: View,
    db: View,
    flags: u32,
    label: &str,
) -> Result {
    let s = conv2d_shape(prog, &g, dy, label)?;
    direct::bias_grad(prog, s, dy, db, flags, label)
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
    let Some(chunks) = Lowering::transposed_chunks(g) else {
        return direct::conv_transpose2d_forward(prog, g, x, w, bias, y, label);
    };
    let s = transposed_shape(prog, &g, y, label)?;
    check_forward(prog, &s, (x, w, bias, y), label)?;
    // The adjoint conv2d's y is shaped like this x, its x like this y.
    for (l, n0) in chunks {
        l.input_grad(prog, (l.y_part(x, n0), w, bias, l.x_part(y, n0)), label)?;
    }
    Ok(())
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
    let Some(chunks) = Lowering::transposed_chunks(g) else {
        return direct::conv_transpose2d_input_grad(prog, g, dy, w, dx, label);
    };
    let s = transposed_shape(prog, &g, dy, label)?;
    check_input_grad(prog, &s, (dy, w, dx), label)?;
    for (l, n0) in chunks {
        l.forward(prog, (l.x_part(dy, n0), w, None, l.y_part(dx, n0)), label)?;
    }
    Ok(())
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
    let Some(chunks) = Lowering::transposed_chunks(g) else {
        return direct::conv_transpose2d_weight_grad(prog, g, x, dy, dw, flags, label);
    };
    let s = transposed_shape(prog, &g, dy, label)?;
    check_weight_grad(prog, &s, (x, dy, dw), label)?;
    for (i, (l, n0)) in chunks.into_iter().enumerate() {
        let (x, dy) = (l.y_part(x, n0), l.x_part(dy, n0));
        l.weight_grad(prog, (dy, x, dw), chunk_flags(flags, i), label)?;
    }
    Ok(())
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
    direct::bias_grad(prog, s, dy, db, flags, label)
}

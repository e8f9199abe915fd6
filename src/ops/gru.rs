//! Recording the elementwise gates of a convolutional GRU (`shaders/gru.wgsl`):
//! h' = u·h + (1 - u)·c with c = tanh(conv_c([x, r·h])). The convolutions, sigmoid, tanh and
//! the channel concatenation are ops of their own.

use super::{check, Result};
use crate::cpu::gru::GruParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

fn push(
    prog: &mut Program,
    kernel: Kernel,
    views: Vec<(View, crate::kernels::Access)>,
    label: &str,
) -> Result {
    let n = views[0].0.len;
    for &(v, _) in &views[1..] {
        check(prog, label, v, n)?;
    }
    let p = GruParams {
        n: n as u32,
        ..Default::default()
    };
    prog.push(kernel, &words(&p), views, grid_1d(n, 64), label);
    Ok(())
}

/// out = r·h (the reset gate applied to the state).
pub fn gru_reset_forward(prog: &mut Program, r: View, h: View, out: View, label: &str) -> Result {
    let b = vec![(r, R), (h, R), (out, W)];
    push(prog, Kernel::GruResetForward, b, label)
}

/// dr = dy·h, dh = dy·r.
pub fn gru_reset_backward(
    prog: &mut Program,
    (r, h, dy): (View, View, View),
    (dr, dh): (View, View),
    label: &str,
) -> Result {
    let b = vec![(r, R), (h, R), (dy, R), (dr, W), (dh, W)];
    push(prog, Kernel::GruResetBackward, b, label)
}

/// out = u·h + (1 - u)·c (the new state).
pub fn gru_update_forward(
    prog: &mut Program,
    (u, h, c): (View, View, View),
    out: View,
    label: &str,
) -> Result {
    let b = vec![(u, R), (h, R), (c, R), (out, W)];
    push(prog, Kernel::GruUpdateForward, b, label)
}

/// du = dy·(h - c), dh = dy·u, dc = dy·(1 - u).
pub fn gru_update_backward(
    prog: &mut Program,
    (u, h, c, dy): (View, View, View, View),
    (du, dh, dc): (View, View, View),
    label: &str,
) -> Result {
    let b = vec![(u, R), (h, R), (c, R), (dy, R), (du, W), (dh, W), (dc, W)];
    push(prog, Kernel::GruUpdateBackward, b, label)
}

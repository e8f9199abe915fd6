//! Recording elementwise arithmetic (shaders/elementwise.wgsl).

use super::{check, Result};
use crate::cpu::elementwise::ElementwiseParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// out = a·x + b·y, elementwise over tensors of one length: a residual add (a = b = 1) or
/// the sum of two gradients of one tensor. `out` must not be `x` or `y`.
pub fn axpby(
    prog: &mut Program,
    (a, x): (f32, View),
    (b, y): (f32, View),
    out: View,
    label: &str,
) -> Result {
    check(prog, label, y, x.len)?;
    check(prog, label, out, x.len)?;
    let p = ElementwiseParams {
        n: x.len as u32,
        a,
        b,
        pad: 0,
    };
    let bindings = vec![(x, R), (y, R), (out, W)];
    prog.push(
        Kernel::Axpby,
        &words(&p),
        bindings,
        grid_1d(x.len, 64),
        label,
    );
    Ok(())
}

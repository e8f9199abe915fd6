//! Recording axis swaps (`shaders/permute.wgsl`).

use super::{check, Result};
use crate::cpu::permute::PermuteParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// y (outer, b, a, inner) = x (outer, a, b, inner) with its middle axes swapped; the gradient
/// of a swap is the swap of (outer, b, a, inner).
pub fn swap_axes(
    prog: &mut Program,
    (outer, a, b, inner): (usize, usize, usize, usize),
    x: View,
    y: View,
    label: &str,
) -> Result {
    let n = outer * a * b * inner;
    check(prog, label, x, n)?;
    check(prog, label, y, n)?;
    let p = PermuteParams {
        outer: outer as u32,
        a: a as u32,
        b: b as u32,
        inner: inner as u32,
    };
    let bindings = vec![(x, R), (y, W)];
    prog.push(
        Kernel::SwapAxes,
        &words(&p),
        bindings,
        grid_1d(n, 64),
        label,
    );
    Ok(())
}

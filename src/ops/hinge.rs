//! Recording the hinge losses (`shaders/hinge.wgsl`), with metric slots as `ops::loss`.

use super::{check, Result, ShapeError};
use crate::cpu::hinge::GENERATOR;
use crate::cpu::loss::LossParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// Which hinge loss a score batch gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hinge {
    /// D on real samples: mean(relu(1 - s)).
    Real,
    /// D on fakes: mean(relu(1 + s)).
    Fake,
    /// G on fakes: -mean(s).
    Generator,
}

/// grad = d(scale · loss)/d scores for one score per row; (loss, accuracy, count) accumulate in
/// metrics[slot..slot + 3].
pub fn hinge_loss(
    prog: &mut Program,
    kind: Hinge,
    scores: View,
    grad: View,
    (metrics, slot): (View, usize),
    scale: f32,
    label: &str,
) -> Result {
    check(prog, label, grad, scores.len)?;
    if slot + 3 > metrics.len {
        return Err(ShapeError {
            op: label.to_string(),
            tensor: prog.buffer_name(metrics).to_string(),
            got: metrics.len,
            expected: slot + 3,
        });
    }
    let p = LossParams {
        n: scores.len as u32,
        slot: slot as u32,
        flags: if kind == Hinge::Generator {
            GENERATOR
        } else {
            0
        },
        target_value: if kind == Hinge::Fake { 0.0 } else { 1.0 },
        scale,
        classes: 1,
        stride: 1,
        offset: 0,
    };
    let b = vec![(scores, R), (grad, W), (metrics, W)];
    let grid = grid_1d(scores.len, 64);
    prog.push(Kernel::HingeLoss, &words(&p), b, grid, label);
    Ok(())
}

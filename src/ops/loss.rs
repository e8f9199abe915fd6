//! Builders of the loss kernels (`shaders/loss.wgsl`): the GAN losses on D's real/fake
//! output, and the heads beside it in a wider output (ACGAN's classes, InfoGAN's codes),
//! softmax cross-entropy, and WGAN-GP's gradient penalty.

use super::{check, Result, ShapeError};
use crate::cpu::loss::LossParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    BceWithLogits,
    Mse,
    /// WGAN: -mean(critic) for target 1, +mean(critic) for target 0.
    Wasserstein,
}

/// Where a loss finds its columns: rows of `stride` values, the head starting at `offset`.
/// One network output carries several heads (ACGAN's class logits, InfoGAN's codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub stride: usize,
    pub offset: usize,
}

impl Head {
    /// A plain output: one value per row.
    pub const SINGLE: Head = Head {
        stride: 1,
        offset: 0,
    };
}

/// The rows of `v` read as rows of `head.stride` holding a head of `width` columns at
/// `head.offset`; an error when they do not fit.
pub(super) fn check_head(
    prog: &Program,
    label: &str,
    v: View,
    head: Head,
    width: usize,
) -> Result<usize> {
    if head.stride == 0 || head.offset + width > head.stride || !v.len.is_multiple_of(head.stride) {
        return Err(ShapeError {
            op: label.to_string(),
            tensor: format!(
                "{} (head of {width} at column {} in rows of {})",
                prog.buffer_name(v),
                head.offset,
                head.stride
            ),
            got: v.len,
            expected: head.stride * (v.len / head.stride.max(1)).max(1),
        });
    }
    Ok(v.len / head.stride)
}

fn check_slot(prog: &Program, label: &str, metrics: View, slot: usize) -> Result {
    if slot + 3 > metrics.len {
        return Err(ShapeError {
            op: label.to_string(),
            tensor: prog.buffer_name(metrics).to_string(),
            got: metrics.len,
            expected: slot + 3,
        });
    }
    Ok(())
}

/// grad = d(scale · loss(pred, target))/d pred; (loss, accuracy, count) accumulate in
/// metrics[slot..slot + 3].
#[allow(clippy::too_many_arguments)]
pub fn loss(
    prog: &mut Program,
    kind: Loss,
    pred: View,
    grad: View,
    metrics: View,
    slot: usize,
    target_value: f32,
    scale: f32,
    label: &str,
) -> Result {
    let head = Head::SINGLE;
    head_loss(
        prog,
        kind,
        head,
        pred,
        grad,
        (metrics, slot),
        target_value,
        scale,
        label,
    )
}

/// [`loss`] on column `head.offset` of rows of `head.stride` (pred and grad alike); the other
/// columns of grad are left as they are.
#[allow(clippy::too_many_arguments)]
pub fn head_loss(
    prog: &mut Program,
    kind: Loss,
    head: Head,
    pred: View,
    grad: View,
    (metrics, slot): (View, usize),
    target_value: f32,
    scale: f32,
    label: &str,
) -> Result {
    check(prog, label, grad, pred.len)?;
    check_slot(prog, label, metrics, slot)?;
    let n = check_head(prog, label, pred, head, 1)?;
    let kernel = match kind {
        Loss::BceWithLogits => Kernel::BceWithLogits,
        Loss::Mse => Kernel::MseLoss,
        Loss::Wasserstein => Kernel::WassersteinLoss,
    };
    let p = loss_params(n, slot, head, 1, target_value, scale);
    let mut b = vec![(pred, R), (grad, W), (metrics, W)];
    if kind == Loss::Mse {
        // The targets binding, unread without TARGETS.
        b.push((pred, R));
    }
    prog.push(kernel, &words(&p), b, grid_1d(n, 64), label);
    Ok(())
}

fn loss_params(
    n: usize,
    slot: usize,
    head: Head,
    classes: usize,
    t: f32,
    scale: f32,
) -> LossParams {
    LossParams {
        n: n as u32,
        slot: slot as u32,
        flags: 0,
        target_value: t,
        scale,
        classes: classes as u32,
        stride: head.stride as u32,
        offset: head.offset as u32,
    }
}

/// Softmax cross-entropy of `logits` (rows of `classes`) against class indices `labels` (f32);
/// grad = d(scale · loss)/d logits; (loss, accuracy, count) accumulate in metrics[slot..].
#[allow(clippy::too_many_arguments)]
pub fn softmax_cross_entropy(
    prog: &mut Program,
    logits: View,
    labels: View,
    classes: usize,
    grad: View,
    metrics: View,
    slot: usize,
    scale: f32,
    label: &str,
) -> Result {
    let head = Head {
        stride: classes,
        offset: 0,
    };
    class_head_loss(
        prog,
        logits,
        labels,
        classes,
        head,
        grad,
        (metrics, slot),
        scale,
        label,
    )
}

/// [`softmax_cross_entropy`] on the `classes` columns of `head` in each row.
#[allow(clippy::too_many_arguments)]
pub fn class_head_loss(
    prog: &mut Program,
    logits: View,
    labels: View,
    classes: usize,
    head: Head,
    grad: View,
    (metrics, slot): (View, usize),
    scale: f32,
    label: &str,
) -> Result {
    let n = labels.len;
    check(prog, label, grad, logits.len)?;
    check(prog, label, logits, n * head.stride)?;
    check_head(prog, label, logits, head, classes)?;
    check_slot(prog, label, metrics, slot)?;
    let p = loss_params(n, slot, head, classes, 0.0, scale);
    let b = vec![(logits, R), (grad, W), (metrics, W), (labels, R)];
    let g = grid_1d(n, 64);
    prog.push(Kernel::SoftmaxCrossEntropy, &words(&p), b, g, label);
    Ok(())
}

/// Mean absolute error of `pred` against `targets`, both (rows, columns) with `rows` rows:
/// grad = d(scale · loss)/d pred; (loss, share within 0.5, count) accumulate in
/// metrics[slot..]. CycleGAN's cycle and identity terms, SRGAN-style pixel losses.
pub fn l1_loss(
    prog: &mut Program,
    (pred, targets): (View, View),
    rows: usize,
    grad: View,
    (metrics, slot): (View, usize),
    scale: f32,
    label: &str,
) -> Result {
    check(prog, label, targets, pred.len)?;
    check(prog, label, grad, pred.len)?;
    check_slot(prog, label, metrics, slot)?;
    let columns = pred.len / rows.max(1);
    check(prog, label, pred, rows * columns)?;
    let head = Head {
        stride: columns,
        offset: 0,
    };
    let p = loss_params(rows, slot, head, columns, 0.0, scale);
    let b = vec![(pred, R), (grad, W), (metrics, W), (targets, R)];
    prog.push(Kernel::L1Loss, &words(&p), b, grid_1d(rows, 64), label);
    Ok(())
}

/// Mean squared error of the `targets.len / rows` columns of `head` against `targets`
/// (rows, columns): InfoGAN's continuous codes.
#[allow(clippy::too_many_arguments)]
pub fn code_head_loss(
    prog: &mut Program,
    pred: View,
    targets: View,
    head: Head,
    grad: View,
    (metrics, slot): (View, usize),
    scale: f32,
    label: &str,
) -> Result {
    check(prog, label, grad, pred.len)?;
    let n = check_head(prog, label, pred, head, 1)?;
    let columns = targets.len / n.max(1);
    check(prog, label, targets, n * columns)?;
    check_head(prog, label, pred, head, columns)?;
    check_slot(prog, label, metrics, slot)?;
    let mut p = loss_params(n, slot, head, columns, 0.0, scale);
    p.flags = crate::cpu::loss::TARGETS;
    let b = vec![(pred, R), (grad, W), (metrics, W), (targets, R)];
    prog.push(Kernel::MseLoss, &words(&p), b, grid_1d(n, 64), label);
    Ok(())
}

/// WGAN-GP: penalty = lambda · mean_b (|g_b| - 1)² of the critic's input gradients `g`
/// (rows of `features`); `gg` = d penalty / d g. (penalty, share with |g_b| within 0.1 of 1,
/// count) accumulate in metrics[slot..].
#[allow(clippy::too_many_arguments)]
pub fn gradient_penalty(
    prog: &mut Program,
    g: View,
    gg: View,
    features: usize,
    (metrics, slot): (View, usize),
    lambda: f32,
    label: &str,
) -> Result {
    check(prog, label, gg, g.len)?;
    let head = Head {
        stride: features,
        offset: 0,
    };
    let n = check_head(prog, label, g, head, features)?;
    check_slot(prog, label, metrics, slot)?;
    let p = loss_params(n, slot, head, features, lambda, 1.0);
    let b = vec![(g, R), (gg, W), (metrics, W)];
    prog.push(
        Kernel::GradientPenalty,
        &words(&p),
        b,
        grid_1d(n, 64),
        label,
    );
    Ok(())
}

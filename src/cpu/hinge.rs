//! CPU twin of `shaders/hinge.wgsl`: the hinge losses of DVD-GAN's discriminators and generator.

use super::loss::LossParams;
use super::{params, CpuIo};

/// `LossParams::flags`: G's loss, -mean(s), instead of a discriminator side.
pub const GENERATOR: u32 = 2;

/// (loss term, d term / d s) of one score, as the shader's `hinge`.
fn hinge(p: &LossParams, s: f32) -> (f32, f32) {
    if p.flags & GENERATOR != 0 {
        (-s, -1.0)
    } else if p.target_value > 0.5 {
        if 1.0 - s > 0.0 {
            (1.0 - s, -1.0)
        } else {
            (0.0, 0.0)
        }
    } else if 1.0 + s > 0.0 {
        (1.0 + s, 1.0)
    } else {
        (0.0, 0.0)
    }
}

/// D on reals mean(relu(1 - s)) (target 1), on fakes mean(relu(1 + s)) (target 0), or G's
/// -mean(s) (GENERATOR); grad = d(scale · loss)/d s; (loss, accuracy, count) accumulate in
/// metrics[slot..].
pub fn hinge_loss(p: &LossParams, scores: &[f32], grad: &mut [f32], metrics: &mut [f32]) {
    let n = p.n as usize;
    let at = |i: usize| i * p.stride as usize + p.offset as usize;
    let real = p.target_value > 0.5 || p.flags & GENERATOR != 0;
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for i in 0..n {
        let s = scores[at(i)];
        let (term, d) = hinge(p, s);
        grad[at(i)] = d / n as f32 * p.scale;
        loss += term;
        correct += f32::from(u8::from((s > 0.0) == real));
    }
    let (slot, count) = (p.slot as usize, n as f32);
    metrics[slot] += loss / count;
    metrics[slot + 1] += correct / count;
    metrics[slot + 2] += 1.0;
}

pub fn hinge_loss_op(w: &[u32], io: &mut CpuIo) {
    let (grad, metrics) = (io.f32_mut(1), io.f32_mut(2));
    hinge_loss(&params(w), io.f32(0), grad, metrics);
}

//! CPU twin of `shaders/batch_norm_act.wgsl`: `batch_norm_backward`, then the activation
//! derivative applied to its dx exactly as the separate twin does (so the fused op equals the
//! pair bit for bit). Bindings: batch_norm_backward's six, then dx2 (written) and saved2.

use super::activation::{self as act, ActivationParams};
use super::batch_norm::BatchNormParams;
use super::matmul_fused::ActCode;
use super::CpuIo;

/// batch_norm_backward's parameters, then (slope bits, activation code).
pub fn batch_norm_backward_act_op(w: &[u32], io: &mut CpuIo) {
    let p: BatchNormParams = super::params(w);
    let slope = w.get(6).map_or(0.0, |&s| f32::from_bits(s));
    let code = w.get(7).copied().unwrap_or(0);
    let len = (p.n * p.c * p.hw) as usize;
    let (dx, grads) = (io.f32_mut(4), io.f32_mut(5));
    super::batch_norm::batch_norm_backward(
        &p,
        io.f32(0),
        io.f32(1),
        io.f32(2),
        io.f32(3),
        dx,
        grads,
    );
    let ap = ActivationParams {
        n: len as u32,
        slope,
    };
    let (saved, dx2) = (&io.f32(7)[..len], &mut io.f32_mut(6)[..len]);
    let dy = &dx[..len];
    match code {
        c if c == ActCode::LeakyRelu as u32 => act::leaky_relu_backward(&ap, saved, dy, dx2),
        c if c == ActCode::Relu as u32 => act::relu_backward(&ap, saved, dy, dx2),
        c if c == ActCode::Tanh as u32 => act::tanh_backward(&ap, saved, dy, dx2),
        _ => act::sigmoid_backward(&ap, saved, dy, dx2),
    }
}

/// The twin of the serial variant: the same results as `batch_norm_backward_act`.
pub fn batch_norm_backward_act_serial_op(w: &[u32], io: &mut CpuIo) {
    batch_norm_backward_act_op(w, io);
}

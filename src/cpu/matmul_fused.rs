//! CPU twins of `shaders/matmul_tiled.wgsl`, `shaders/matmul_direct.wgsl` and `shaders/matmul_subgroup.wgsl`: the products of `cpu::matmul`, then the fused
//! epilogue as the separate twins compute it (`cpu::activation`, `cpu::matmul::bias_grad`), so a
//! fused product equals the unfused chain bit for bit on the CPU.
//! Bindings: a, b, out, bias, y (the fused output), saved (what an activation derivative reads).

use super::activation::{self as act, ActivationParams};
use super::batch_norm::{batch_norm_forward_train, BatchNormParams};
use super::matmul::{self, MatmulParams, ACCUMULATE, HAS_BIAS};
use super::CpuIo;

/// The fused product writes the bias gradient of a (k,m), Σ over its rows, to y (m).
pub const BIAS_GRAD: u32 = 4096;
/// ... added to y instead of replacing it.
pub const BIAS_GRAD_ACCUMULATE: u32 = 8192;
/// Bit offsets of the activation codes (`ActCode`) applied to out and written to y.
pub const ACT_FORWARD_SHIFT: u32 = 4;
pub const ACT_BACKWARD_SHIFT: u32 = 8;

/// Activation codes of the fused epilogues, as in the shader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActCode {
    LeakyRelu = 1,
    Relu = 2,
    Tanh = 3,
    Sigmoid = 4,
}

impl ActCode {
    fn from_bits(bits: u32) -> Option<Self> {
        match bits & 7 {
            1 => Some(Self::LeakyRelu),
            2 => Some(Self::Relu),
            3 => Some(Self::Tanh),
            4 => Some(Self::Sigmoid),
            _ => None,
        }
    }
}

/// The product's parameters and leaky_relu's slope (a fifth word; 0 when absent).
pub fn fused_params(w: &[u32]) -> (MatmulParams, f32) {
    let p: MatmulParams = super::params(w);
    let slope = w.get(4).map_or(0.0, |&s| f32::from_bits(s));
    (p, slope)
}

type Product = fn(&MatmulParams, &[f32], &[f32], &[f32], &mut [f32]);

/// The product, then the epilogue its flags ask for; returns what a batch norm after it reads:
/// the activation's output, or out.
fn fused<'a>(w: &[u32], io: &mut CpuIo<'a>, product: Product) -> &'a [f32] {
    let (p, slope) = fused_params(w);
    let plain = MatmulParams {
        flags: p.flags & (HAS_BIAS | ACCUMULATE),
        ..p
    };
    let out = io.f32_mut(2);
    product(&plain, io.f32(0), io.f32(1), io.f32(3), out);
    let len = (p.m * p.n) as usize;
    let ap = ActivationParams {
        n: len as u32,
        slope,
    };
    if let Some(code) = ActCode::from_bits(p.flags >> ACT_FORWARD_SHIFT) {
        let y = &mut io.f32_mut(4)[..len];
        let x = &out[..len];
        match code {
            ActCode::LeakyRelu => act::leaky_relu_forward(&ap, x, y),
            ActCode::Relu => act::relu_forward(&ap, x, y),
            ActCode::Tanh => act::tanh_forward(&ap, x, y),
            ActCode::Sigmoid => act::sigmoid_forward(&ap, x, y),
        }
        return y;
    } else if let Some(code) = ActCode::from_bits(p.flags >> ACT_BACKWARD_SHIFT) {
        let saved = &io.f32(5)[..len];
        let dx = &mut io.f32_mut(4)[..len];
        let dy = &out[..len];
        match code {
            ActCode::LeakyRelu => act::leaky_relu_backward(&ap, saved, dy, dx),
            ActCode::Relu => act::relu_backward(&ap, saved, dy, dx),
            ActCode::Tanh => act::tanh_backward(&ap, saved, dy, dx),
            ActCode::Sigmoid => act::sigmoid_backward(&ap, saved, dy, dx),
        }
    } else if p.flags & BIAS_GRAD != 0 {
        let bp = MatmulParams {
            m: p.k,
            n: p.m,
            k: 0,
            flags: if p.flags & BIAS_GRAD_ACCUMULATE != 0 {
                ACCUMULATE
            } else {
                0
            },
        };
        matmul::bias_grad(&bp, io.f32(0), io.f32_mut(4));
    }
    &out[..len]
}

pub fn matmul_tiled_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul);
}

pub fn matmul_at_tiled_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul_at);
}

pub fn matmul_bt_tiled_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul_bt);
}

pub fn matmul_skinny_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul);
}

pub fn matmul_bt_skinny_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul_bt);
}

/// Words of `matmul_bt_skinny_bn`'s parameters after the product's five: the batch norm's
/// flags, eps and momentum.
pub const BN_WORDS: usize = 3;

/// `matmul_bt_skinny_bn`: the product and its activation as `matmul_bt_skinny`, then
/// `batch_norm_forward_train` over the rows of what the activation wrote (of out without one),
/// with gamma | beta at binding 6, and its output, running and saved statistics at 7, 8 and 9.
pub fn matmul_bt_skinny_bn_op(w: &[u32], io: &mut CpuIo) {
    let x = fused(&w[..5], io, matmul::matmul_bt);
    let (p, _) = fused_params(w);
    let bn = BatchNormParams {
        n: p.m,
        c: p.n,
        hw: 1,
        flags: w[5],
        eps: f32::from_bits(w[6]),
        momentum: f32::from_bits(w[7]),
    };
    let (y, running, saved) = (io.f32_mut(6), io.f32_mut(7), io.f32_mut(8));
    batch_norm_forward_train(&bn, x, io.f32(5), y, running, saved);
}

pub fn matmul_at_small_k_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul_at);
}

pub fn matmul_direct_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul);
}

pub fn matmul_at_direct_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul_at);
}

pub fn matmul_bt_direct_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul_bt);
}

pub fn matmul_subgroup_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul);
}

pub fn matmul_at_subgroup_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul_at);
}

pub fn matmul_bt_subgroup_op(w: &[u32], io: &mut CpuIo) {
    fused(w, io, matmul::matmul_bt);
}

//! CPU twins of `shaders/conv_transpose2d.wgsl`. x is (N, C_in, H, W), w (C_in, C_out, KH, KW)
//! (PyTorch's ConvTranspose2d layout), y (N, C_out, H_out, W_out), all NCHW row-major.
//!
//! A transposed convolution is the adjoint of the conv2d that maps y's shape back to x's with the
//! same weight, whose layout (C_out', C_in', KH, KW) = (C_in, C_out, KH, KW) is the same memory.
//! So each twin runs the conv2d loop that forms the same sums in the same order as the shader:
//! forward = conv2d input grad, input grad = conv2d forward, weight grad = conv2d weight grad
//! with x and dy swapped.

use super::conv2d::{self, numel, validate_geometry, ConvParams, HAS_BIAS, MAX_SPATIAL};
use super::{params, CpuIo};

/// Shape of a `torch.nn.ConvTranspose2d(c_in, c_out, (kh, kw), stride, pad, output_padding)`
/// applied to (n, c_in, h, w). `output_padding` (< stride) adds rows and columns at the bottom
/// and right that only the taps reaching past the last input row feed (CycleGAN's k3 s2 p1
/// output_padding 1 doubles the side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2dGeometry {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub output_padding: usize,
}

impl ConvTranspose2dGeometry {
    /// (h - 1) * stride - 2 pad + kh + output_padding, or 0 when that is not positive.
    pub fn out_h(&self) -> usize {
        transposed_out(self.h, self.kh, self.stride, self.pad, self.output_padding)
    }

    pub fn out_w(&self) -> usize {
        transposed_out(self.w, self.kw, self.stride, self.pad, self.output_padding)
    }

    pub fn x_len(&self) -> usize {
        numel(&[self.n, self.c_in, self.h, self.w])
    }

    pub fn w_len(&self) -> usize {
        numel(&[self.c_in, self.c_out, self.kh, self.kw])
    }

    pub fn y_len(&self) -> usize {
        numel(&[self.n, self.c_out, self.out_h(), self.out_w()])
    }

    pub fn params(&self, flags: u32) -> ConvParams {
        ConvParams {
            n: self.n as u32,
            c_in: self.c_in as u32,
            h: self.h as u32,
            w: self.w as u32,
            c_out: self.c_out as u32,
            h_out: self.out_h() as u32,
            w_out: self.out_w() as u32,
            kh: self.kh as u32,
            kw: self.kw as u32,
            stride: self.stride as u32,
            pad: self.pad as u32,
            flags,
        }
    }

    /// Why this geometry cannot run, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        // PyTorch's rule: more would add outputs no tap reaches.
        if self.output_padding > 0 && self.output_padding >= self.stride {
            return Err(format!(
                "output_padding {} must be smaller than the stride {}",
                self.output_padding, self.stride
            ));
        }
        let spatial = [self.h, self.w, self.kh, self.kw, self.stride, self.pad];
        let extent = if spatial.iter().all(|&d| d <= MAX_SPATIAL) {
            self.h.max(self.w) * self.stride + self.kh.max(self.kw) + self.pad + self.output_padding
        } else {
            usize::MAX
        };
        validate_geometry(
            spatial,
            extent,
            (self.out_h(), self.out_w()),
            [self.x_len(), self.w_len(), self.y_len()],
        )
    }
}

fn transposed_out(size: usize, k: usize, stride: usize, pad: usize, extra: usize) -> usize {
    size.checked_sub(1)
        .map(|s| {
            s.saturating_mul(stride)
                .saturating_add(k)
                .saturating_add(extra)
        })
        .and_then(|full| full.checked_sub(pad.saturating_mul(2)))
        .unwrap_or(0)
}

/// The conv2d whose input gradient this transposed conv is: the two sides swapped.
fn as_conv2d(p: &ConvParams) -> ConvParams {
    ConvParams {
        c_in: p.c_out,
        h: p.h_out,
        w: p.w_out,
        c_out: p.c_in,
        h_out: p.h,
        w_out: p.w,
        ..*p
    }
}

/// y = conv_transpose2d(x, w) (+ bias).
pub fn conv_transpose2d_forward(p: &ConvParams, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    conv2d::conv2d_input_grad(&as_conv2d(p), x, w, y);
    if p.flags & HAS_BIAS != 0 {
        let plane = (p.h_out * p.w_out) as usize;
        let planes = y.chunks_exact_mut(plane).take((p.n * p.c_out) as usize);
        for (i, y_p) in planes.enumerate() {
            let bv = bias[i % p.c_out as usize];
            y_p.iter_mut().for_each(|v| *v += bv);
        }
    }
}

/// dx = the gradient of conv_transpose2d wrt x: a conv2d of dy with w.
pub fn conv_transpose2d_input_grad(p: &ConvParams, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let q = ConvParams {
        flags: 0,
        ..as_conv2d(p)
    };
    conv2d::conv2d_forward(&q, dy, w, &[], dx);
}

/// dw (+)= the gradient of conv_transpose2d wrt w.
pub fn conv_transpose2d_weight_grad(p: &ConvParams, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    conv2d::conv2d_weight_grad(&as_conv2d(p), dy, x, dw);
}

pub fn conv_transpose2d_forward_op(words: &[u32], io: &mut CpuIo) {
    let y = io.f32_mut(3);
    conv_transpose2d_forward(&params(words), io.f32(0), io.f32(1), io.f32(2), y);
}

pub fn conv_transpose2d_input_grad_op(words: &[u32], io: &mut CpuIo) {
    let dx = io.f32_mut(2);
    conv_transpose2d_input_grad(&params(words), io.f32(0), io.f32(1), dx);
}

pub fn conv_transpose2d_weight_grad_op(words: &[u32], io: &mut CpuIo) {
    let dw = io.f32_mut(2);
    conv_transpose2d_weight_grad(&params(words), io.f32(0), io.f32(1), dw);
}

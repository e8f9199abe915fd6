//! CPU twins of `shaders/pixel_shuffle.wgsl`: x (N, C·r², H, W) <-> y (N, C, r·H, r·W), NCHW.

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in pixel_shuffle.wgsl: c is y's channels, h and w are x's side.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct PixelShuffleParams {
    pub n: u32,
    pub c: u32,
    pub h: u32,
    pub w: u32,
    pub r: u32,
    pub pad: [u32; 3],
}

impl PixelShuffleParams {
    pub fn new(n: usize, c: usize, (h, w): (usize, usize), r: usize) -> Self {
        Self {
            n: n as u32,
            c: c as u32,
            h: h as u32,
            w: w as u32,
            r: r as u32,
            pad: [0; 3],
        }
    }

    /// Elements of x and of y (the same count).
    pub fn len(&self) -> usize {
        (self.n * self.c * self.r * self.r * self.h * self.w) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// x's index of y's element (b, c, oy, ox).
    fn x_index(&self, b: usize, c: usize, oy: usize, ox: usize) -> usize {
        let (r, h, w) = (self.r as usize, self.h as usize, self.w as usize);
        let ch = (c * r + oy % r) * r + ox % r;
        ((b * self.c as usize * r * r + ch) * h + oy / r) * w + ox / r
    }
}

/// y[n, c, r·h + i, r·w + j] = x[n, c·r² + r·i + j, h, w].
pub fn pixel_shuffle_forward(p: &PixelShuffleParams, x: &[f32], y: &mut [f32]) {
    let (r, c) = (p.r as usize, p.c as usize);
    let (oh, ow) = (p.h as usize * r, p.w as usize * r);
    for (i, y) in y[..p.len()].iter_mut().enumerate() {
        let (ox, oy) = (i % ow, (i / ow) % oh);
        let (ch, b) = ((i / (ow * oh)) % c, i / (ow * oh * c));
        *y = x[p.x_index(b, ch, oy, ox)];
    }
}

/// dx = the inverse permutation of dy.
pub fn pixel_shuffle_backward(p: &PixelShuffleParams, dy: &[f32], dx: &mut [f32]) {
    let (r, c) = (p.r as usize, p.c as usize);
    let (oh, ow) = (p.h as usize * r, p.w as usize * r);
    for (i, &d) in dy[..p.len()].iter().enumerate() {
        let (ox, oy) = (i % ow, (i / ow) % oh);
        let (ch, b) = ((i / (ow * oh)) % c, i / (ow * oh * c));
        dx[p.x_index(b, ch, oy, ox)] = d;
    }
}

pub fn pixel_shuffle_forward_op(w: &[u32], io: &mut CpuIo) {
    pixel_shuffle_forward(&params(w), io.f32(0), io.f32_mut(1));
}

pub fn pixel_shuffle_backward_op(w: &[u32], io: &mut CpuIo) {
    pixel_shuffle_backward(&params(w), io.f32(0), io.f32_mut(1));
}

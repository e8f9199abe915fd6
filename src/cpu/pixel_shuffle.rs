//! CPU twins of `shaders/pixel_shuffle.wgsl`: x (N, C·r², H, W) <-> y (N, C, r·H, r·W), NCHW.

use super::{par, params, CpuIo};
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

    /// x's index of y's element (b, c, oy, ox): the definition the tests hold the twins to.
    #[cfg(test)]
    fn x_index(&self, b: usize, c: usize, oy: usize, ox: usize) -> usize {
        let (r, h, w) = (self.r as usize, self.h as usize, self.w as usize);
        let ch = (c * r + oy % r) * r + ox % r;
        ((b * self.c as usize * r * r + ch) * h + oy / r) * w + ox / r
    }
}

/// y[n, c, r·h + i, r·w + j] = x[n, c·r² + r·i + j, h, w]: a y row at a time, on every core.
pub fn pixel_shuffle_forward(p: &PixelShuffleParams, x: &[f32], y: &mut [f32]) {
    let (r, h, w) = (p.r as usize, p.h as usize, p.w as usize);
    let oh = h * r;
    par::rows(&mut y[..p.len()], w * r, |row, y_row| {
        // row = (b·c + ch)·oh + oy, and x's channel block of (b, ch) starts at (b·c + ch)·r².
        let (plane, oy) = (row / oh, row % oh);
        for j in 0..r {
            let ch = plane * r * r + (oy % r) * r + j;
            let x_row = &x[(ch * h + oy / r) * w..][..w];
            for (o, &v) in y_row[j..].iter_mut().step_by(r).zip(x_row) {
                *o = v;
            }
        }
    });
}

/// dx = the inverse permutation of dy: a dx row at a time, on every core.
pub fn pixel_shuffle_backward(p: &PixelShuffleParams, dy: &[f32], dx: &mut [f32]) {
    let (r, h, w) = (p.r as usize, p.h as usize, p.w as usize);
    let (oh, ow) = (h * r, w * r);
    par::rows(&mut dx[..p.len()], w, |row, dx_row| {
        // row = ((b·c + ch)·r² + r·i + j)·h + iy
        let (ch, iy) = (row / h, row % h);
        let (plane, i, j) = (ch / (r * r), (ch / r) % r, ch % r);
        let dy_row = &dy[(plane * oh + iy * r + i) * ow..][..ow];
        for (o, &v) in dx_row.iter_mut().zip(dy_row[j..].iter().step_by(r)) {
            *o = v;
        }
    });
}

pub fn pixel_shuffle_forward_op(w: &[u32], io: &mut CpuIo) {
    pixel_shuffle_forward(&params(w), io.f32(0), io.f32_mut(1));
}

pub fn pixel_shuffle_backward_op(w: &[u32], io: &mut CpuIo) {
    pixel_shuffle_backward(&params(w), io.f32(0), io.f32_mut(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both twins are the definition's permutation, element by element, for r = 2 and 3 and
    /// non-square sides.
    #[test]
    fn pixel_shuffle_twins_follow_the_definition() {
        for (n, c, h, w, r) in [(2, 3, 4, 5, 2), (1, 2, 3, 2, 3), (3, 1, 1, 1, 2)] {
            let p = PixelShuffleParams::new(n, c, (h, w), r);
            let x: Vec<f32> = (0..p.len()).map(|i| i as f32).collect();
            let mut y = vec![-1.0; p.len()];
            pixel_shuffle_forward(&p, &x, &mut y);
            let mut back = vec![-1.0; p.len()];
            pixel_shuffle_backward(&p, &y, &mut back);
            assert_eq!(back, x, "backward inverts forward, {n}x{c}x{h}x{w} r{r}");
            let (oh, ow) = (h * r, w * r);
            for (i, &v) in y.iter().enumerate() {
                let (ox, oy, ch, b) = (
                    i % ow,
                    (i / ow) % oh,
                    (i / (ow * oh)) % c,
                    i / (ow * oh * c),
                );
                assert_eq!(v, x[p.x_index(b, ch, oy, ox)], "y[{i}]");
            }
        }
    }
}

//! CPU twins of `shaders/reflect_pad.wgsl`: x (planes, H, W) <-> y (planes, H + 2p, W + 2p), a
//! row at a time on every core (`par::rows`).

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in reflect_pad.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ReflectPadParams {
    pub planes: u32,
    pub h: u32,
    pub w: u32,
    pub pad: u32,
}

impl ReflectPadParams {
    pub fn new(n: usize, c: usize, (h, w): (usize, usize), pad: usize) -> Self {
        Self {
            planes: (n * c) as u32,
            h: h as u32,
            w: w as u32,
            pad: pad as u32,
        }
    }

    /// y's side.
    pub fn out(&self) -> (usize, usize) {
        let pad = 2 * self.pad as usize;
        (self.h as usize + pad, self.w as usize + pad)
    }

    pub fn x_len(&self) -> usize {
        (self.planes * self.h * self.w) as usize
    }

    pub fn y_len(&self) -> usize {
        let (oh, ow) = self.out();
        self.planes as usize * oh * ow
    }
}

fn mirror(i: isize, n: isize) -> usize {
    if i < 0 {
        (-i) as usize
    } else if i >= n {
        (2 * (n - 1) - i) as usize
    } else {
        i as usize
    }
}

/// The rows (or columns) of y that row v of a side of n is read at, in increasing order.
fn sources(v: usize, n: usize, pad: usize) -> [Option<usize>; 3] {
    let above = (1..=pad).contains(&v).then(|| pad - v);
    let below = (v + 2 <= n && v + 1 + pad >= n).then(|| pad + 2 * (n - 1) - v);
    [above, Some(v + pad), below]
}

pub fn reflect_pad_forward(p: &ReflectPadParams, x: &[f32], y: &mut [f32]) {
    let (h, w, pad) = (p.h as usize, p.w as usize, p.pad as isize);
    let (oh, ow) = p.out();
    par::rows(&mut y[..p.y_len()], ow, |r, y| {
        let (oy, plane) = (r % oh, r / oh);
        let sy = mirror(oy as isize - pad, h as isize);
        let src = &x[(plane * h + sy) * w..][..w];
        for (ox, y) in y.iter_mut().enumerate() {
            *y = src[mirror(ox as isize - pad, w as isize)];
        }
    });
}

pub fn reflect_pad_backward(p: &ReflectPadParams, dy: &[f32], dx: &mut [f32]) {
    let (h, w, pad) = (p.h as usize, p.w as usize, p.pad as usize);
    let (oh, ow) = p.out();
    par::rows(&mut dx[..p.x_len()], w, |r, dx| {
        let (y, plane) = (r % h, r / h);
        let rows = sources(y, h, pad);
        for (x, dx) in dx.iter_mut().enumerate() {
            let cols = sources(x, w, pad);
            let mut acc = 0.0f32;
            for row in rows.into_iter().flatten() {
                let row = (plane * oh + row) * ow;
                for col in cols.into_iter().flatten() {
                    acc += dy[row + col];
                }
            }
            *dx = acc;
        }
    });
}

pub fn reflect_pad_forward_op(w: &[u32], io: &mut CpuIo) {
    reflect_pad_forward(&params(w), io.f32(0), io.f32_mut(1));
}

pub fn reflect_pad_backward_op(w: &[u32], io: &mut CpuIo) {
    reflect_pad_backward(&params(w), io.f32(0), io.f32_mut(1));
}

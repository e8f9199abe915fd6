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
        let (inner, edges) = (pad as usize..pad as usize + w, pad as usize + w);
        y[inner].copy_from_slice(src);
        for ox in (0..pad as usize).chain(edges..y.len()) {
            y[ox] = src[mirror(ox as isize - pad, w as isize)];
        }
    });
}

pub fn reflect_pad_backward(p: &ReflectPadParams, dy: &[f32], dx: &mut [f32]) {
    let (h, w, pad) = (p.h as usize, p.w as usize, p.pad as usize);
    let (oh, ow) = p.out();
    // Column x takes, from each of its source rows in order, the row's columns pad - x (for
    // 1 <= x <= pad), x + pad, then pad + 2 (w - 1) - x (near the right edge): `sources`'
    // order. Three passes over the columns per source row add them in that order.
    let left = 1..(pad + 1).min(w);
    let right = (w - 1).saturating_sub(pad)..w.saturating_sub(1);
    par::rows(&mut dx[..p.x_len()], w, |r, dx| {
        let (y, plane) = (r % h, r / h);
        dx.fill(0.0);
        for row in sources(y, h, pad).into_iter().flatten() {
            let src = &dy[(plane * oh + row) * ow..][..ow];
            for x in left.clone() {
                dx[x] += src[pad - x];
            }
            for (acc, &v) in dx.iter_mut().zip(&src[pad..]) {
                *acc += v;
            }
            for x in right.clone() {
                dx[x] += src[pad + 2 * (w - 1) - x];
            }
        }
    });
}

pub fn reflect_pad_forward_op(w: &[u32], io: &mut CpuIo) {
    reflect_pad_forward(&params(w), io.f32(0), io.f32_mut(1));
}

pub fn reflect_pad_backward_op(w: &[u32], io: &mut CpuIo) {
    reflect_pad_backward(&params(w), io.f32(0), io.f32_mut(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every dx value sums its sources element by element, as the shader does.
    fn backward_by_element(p: &ReflectPadParams, dy: &[f32]) -> Vec<f32> {
        let (h, w, pad) = (p.h as usize, p.w as usize, p.pad as usize);
        let (oh, ow) = p.out();
        (0..p.x_len())
            .map(|i| {
                let (x, y, plane) = (i % w, (i / w) % h, i / (w * h));
                let mut acc = 0.0f32;
                for row in sources(y, h, pad).into_iter().flatten() {
                    for col in sources(x, w, pad).into_iter().flatten() {
                        acc += dy[(plane * oh + row) * ow + col];
                    }
                }
                acc
            })
            .collect()
    }

    /// The row-at-a-time inner columns change no bit (a -0.0 in dy becomes +0.0, as in the
    /// shader), for sides narrower and wider than the pads.
    #[test]
    fn reflect_pad_backward_rows_are_the_elementwise_sums_bit_for_bit() {
        for (planes, h, w, pad) in [(2, 5, 9, 1), (1, 4, 4, 3), (3, 7, 3, 2), (1, 6, 40, 3)] {
            let p = ReflectPadParams::new(planes, 1, (h, w), pad);
            let dy: Vec<f32> = (0..p.y_len())
                .map(|i| {
                    if i % 5 == 0 {
                        -0.0
                    } else {
                        (i as f32 * 0.37).sin()
                    }
                })
                .collect();
            let mut dx = vec![9.0; p.x_len()];
            reflect_pad_backward(&p, &dy, &mut dx);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let want = backward_by_element(&p, &dy);
            assert_eq!(bits(&dx), bits(&want), "{planes}x{h}x{w} pad {pad}");
        }
    }
}

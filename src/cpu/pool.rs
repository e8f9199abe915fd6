//! CPU twins of `shaders/pool.wgsl`: average pooling with kernel = stride over
//! (planes, T, H, W) (planes = N·C; T = 1 for images).

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in pool.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct PoolParams {
    pub planes: u32,
    pub t: u32,
    pub h: u32,
    pub w: u32,
    pub kt: u32,
    pub kh: u32,
    pub kw: u32,
    pub pad: u32,
}

/// `avg_pool2d(x, (kh, kw))` on (N, C, H, W) (t = kt = 1) or `avg_pool3d(x, (kt, kh, kw))` on
/// (N, C, T, H, W), kernel = stride, no padding, floor mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// N·C.
    pub planes: usize,
    pub t: usize,
    pub h: usize,
    pub w: usize,
    pub kt: usize,
    pub kh: usize,
    pub kw: usize,
}

impl PoolGeometry {
    /// avg_pool2d(x, k) on (n, c, h, w).
    pub fn pool2d(n: usize, c: usize, (h, w): (usize, usize), k: usize) -> Self {
        Self {
            planes: n * c,
            t: 1,
            h,
            w,
            kt: 1,
            kh: k,
            kw: k,
        }
    }

    /// avg_pool3d(x, k) on (n, c, t, h, w).
    pub fn pool3d(n: usize, c: usize, (t, h, w): (usize, usize, usize), k: usize) -> Self {
        Self {
            planes: n * c,
            t,
            h,
            w,
            kt: k,
            kh: k,
            kw: k,
        }
    }

    /// Output (T, H, W).
    pub fn out(&self) -> (usize, usize, usize) {
        let div = |a: usize, k: usize| a.checked_div(k).unwrap_or(0);
        (
            div(self.t, self.kt),
            div(self.h, self.kh),
            div(self.w, self.kw),
        )
    }

    pub fn x_len(&self) -> usize {
        self.planes * self.t * self.h * self.w
    }

    pub fn y_len(&self) -> usize {
        let (t, h, w) = self.out();
        self.planes * t * h * w
    }

    /// Why this geometry cannot run, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        let (t, h, w) = self.out();
        if t == 0 || h == 0 || w == 0 {
            return Err(format!(
                "pool kernel {}x{}x{} leaves no output for a {}x{}x{} input",
                self.kt, self.kh, self.kw, self.t, self.h, self.w
            ));
        }
        if self.x_len() > u32::MAX as usize {
            return Err(format!(
                "{} elements is too many for one pool",
                self.x_len()
            ));
        }
        Ok(())
    }

    pub fn params(&self) -> PoolParams {
        PoolParams {
            planes: self.planes as u32,
            t: self.t as u32,
            h: self.h as u32,
            w: self.w as u32,
            kt: self.kt as u32,
            kh: self.kh as u32,
            kw: self.kw as u32,
            pad: 0,
        }
    }
}

fn dims(p: &PoolParams) -> [usize; 7] {
    [p.planes, p.t, p.h, p.w, p.kt, p.kh, p.kw].map(|v| v as usize)
}

/// y = the mean of each (kt, kh, kw) window, summed in (t, h, w) order.
pub fn avg_pool_forward(p: &PoolParams, x: &[f32], y: &mut [f32]) {
    let [planes, t, h, w, kt, kh, kw] = dims(p);
    let (ot, oh, ow) = (t / kt, h / kh, w / kw);
    let count = (kt * kh * kw) as f32;
    // Row by row of y on every core; each window summed in the serial order.
    // The row of y is the windows' accumulator: each x row of the window adds its kw values
    // to every output in turn (the same order per window as summing it whole).
    par::rows(&mut y[..planes * ot * oh * ow], ow, |r, y_row| {
        let (oy, oz, plane) = (r % oh, (r / oh) % ot, r / (oh * ot));
        y_row.fill(0.0);
        for dt in 0..kt {
            for dh in 0..kh {
                let row = ((plane * t + oz * kt + dt) * h + oy * kh + dh) * w;
                let x_row = &x[row..row + ow * kw];
                for (acc, win) in y_row.iter_mut().zip(x_row.chunks_exact(kw)) {
                    *acc = win.iter().fold(*acc, |a, &v| a + v);
                }
            }
        }
        y_row.iter_mut().for_each(|v| *v /= count);
    });
}

/// dx = dy of the window each pixel fell in / (kt·kh·kw); 0 for dropped pixels.
pub fn avg_pool_backward(p: &PoolParams, dy: &[f32], dx: &mut [f32]) {
    let [planes, t, h, w, kt, kh, kw] = dims(p);
    let (ot, oh, ow) = (t / kt, h / kh, w / kw);
    let count = (kt * kh * kw) as f32;
    par::rows(&mut dx[..planes * t * h * w], w, |r, dx_row| {
        let (y, z, plane) = (r % h, (r / h) % t, r / (h * t));
        let (oz, oy) = (z / kt, y / kh);
        if oz >= ot || oy >= oh {
            dx_row.fill(0.0);
            return;
        }
        let dy_row = &dy[((plane * ot + oz) * oh + oy) * ow..][..ow];
        for (win, &d) in dx_row.chunks_exact_mut(kw).zip(dy_row) {
            win.fill(d / count);
        }
        dx_row[ow * kw..].fill(0.0);
    });
}

pub fn avg_pool_forward_op(w: &[u32], io: &mut CpuIo) {
    avg_pool_forward(&params(w), io.f32(0), io.f32_mut(1));
}

pub fn avg_pool_backward_op(w: &[u32], io: &mut CpuIo) {
    avg_pool_backward(&params(w), io.f32(0), io.f32_mut(1));
}

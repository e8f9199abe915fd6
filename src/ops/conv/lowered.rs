//! conv2d and conv_transpose2d lowered to the engine's matmul (issue 4): a reshape
//! (`shaders/im2col.wgsl`), one matmul, a reshape back. Every op is written in terms of a conv2d
//! geometry g, with K = g.c_in·KH·KW, P = g.out_h()·g.out_w() and W seen as (g.c_out, K):
//!   forward      y = cnhw_to_nchw(W · im2col(x)) (+ bias)
//!   input grad   dx = col2im(Wᵀ · nchw_to_cnhw(dy)) (+ bias)
//!   weight grad  dW (+)= nchw_to_cnhw(dy) · im2col(x)ᵀ
//! A conv_transpose2d is the adjoint of the conv2d that maps its y's shape back to its x's with
//! the same weight memory (as in cpu::conv_transpose2d): its forward is that conv2d's input grad
//! (with bias), its input grad that conv2d's forward, its weight grad that conv2d's weight grad
//! with x and dy swapped.
//!
//! The scratch tensors (cols and a channel-major copy) live in two buffers shared by every conv
//! of a program and sized for the largest: ops run one after another and none keeps scratch past
//! its own call. Where the scratch would pass WebGPU's default 128 MiB binding or a grid its
//! 65,535 workgroups, `Lowering::new` declines; the builders then lower equal batch chunks
//! (`Lowering::chunks`), and record the direct kernel only where not one sample fits.

use crate::cpu::conv2d::{Conv2dGeometry, ConvParams, ACCUMULATE, HAS_BIAS};
use crate::cpu::conv_transpose2d::ConvTranspose2dGeometry;
use crate::cpu::matmul::ACCUMULATE as MATMUL_ACCUMULATE;
use crate::cpu::words;
use crate::kernels::Access::{self, Read as R, Write as W};
use crate::kernels::Kernel;
use crate::ops::{check, matmul, tiling, Result, ShapeError, Transpose};
use crate::program::{BufId, OpCall, Program, View};

/// Scratch words per buffer: WebGPU's default `max_storage_buffer_binding_size` (128 MiB).
pub(crate) const MAX_SCRATCH: usize = 1 << 25;
/// Fewest output channels for which a conv too big to lower whole is lowered in batch chunks:
/// each cols word then feeds c_out multiply-adds, and with fewer the reshapes cost more than
/// the direct kernel (SRGAN's conv_out, 64 -> 1 channel with a 9x9 kernel: 2.35 it/s direct,
/// 1.79 chunked).
const MIN_CHUNKED_C_OUT: usize = 8;
/// Cols words from which a conv of fewer than MIN_CHUNKED_C_OUT output channels is recorded as
/// the direct kernel even where its lowering fits whole: CycleGAN's c_out (32 -> 1 channel, 7x7,
/// 19.7M words at batch 16) took its iteration from 1,167 to 969 ms on the CPU path and from
/// 10.2 to 8.7 s on lavapipe direct. DCGAN-64's last conv (512 -> 1, 0.5M words) stays lowered:
/// the direct kernel would run its 64 outputs on 64 invocations.
const THIN_DIRECT_COLS: usize = 1 << 22;
/// Workgroups per grid dimension.
const MAX_GROUPS: usize = 65_535;
/// Invocations per workgroup along x in `shaders/im2col.wgsl`.
const GROUP: usize = 64;

/// How many earlier ops `drop_if_redundant` looks at.
const REUSE_LOOKBACK: usize = 4;

pub(crate) const COLS: &str = "conv scratch: cols (K, N·P)";
pub(crate) const CHANNEL_MAJOR: &str = "conv scratch: channel-major (C, N·P)";

/// A valid conv2d geometry whose lowering fits the scratch and grid limits.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lowering {
    g: Conv2dGeometry,
    /// K = c_in·kh·kw and N·P.
    k: usize,
    np: usize,
}

impl Lowering {
    pub fn new(g: Conv2dGeometry) -> Option<Self> {
        g.validate().ok()?;
        let k = g.c_in * g.kh * g.kw;
        let np = g.n * g.out_h() * g.out_w();
        let products = [
            (Transpose::None, (g.c_out, np, k)),
            (Transpose::A, (k, np, g.c_out)),
            (Transpose::B, (g.c_out, k, np)),
        ];
        let grids_fit = products.iter().all(|&(t, (m, n, kk))| {
            let grid = tiling::matmul_grid(tiling::matmul_kernel(t, (m, n, kk)), m, n);
            grid.iter().all(|&d| d as usize <= MAX_GROUPS)
        });
        let reshapes = [
            Kernel::Im2col,
            Kernel::Col2im,
            Kernel::NchwToCnhw,
            Kernel::CnhwToNchw,
        ];
        let fits = grids_fit
            && reshapes.iter().all(|&r| reshape_grid(r, &g).is_some())
            && k.max(g.c_out).saturating_mul(np) <= MAX_SCRATCH;
        fits.then_some(Self { g, k, np })
    }

    /// `g` on the fewest equal batch chunks whose lowering fits the scratch and grid limits,
    /// each with its first sample: one chunk when the whole batch fits, none when one sample
    /// does not, or when g has fewer than MIN_CHUNKED_C_OUT output channels and either needs
    /// chunks or THIN_DIRECT_COLS words of cols. Chunked, a conv
    /// stays a GEMM (the direct kernel ran DVD-GAN's up-block convs at 2.5 GFLOP/s on the CPU
    /// path); a weight gradient then sums its chunks in order.
    pub fn chunks(g: Conv2dGeometry) -> Option<Vec<(Self, usize)>> {
        g.validate().ok()?;
        let lower = |n| Self::new(Conv2dGeometry { n, ..g });
        let thin = g.c_out < MIN_CHUNKED_C_OUT;
        let cols = (g.c_in * g.kh * g.kw).saturating_mul(g.n * g.out_h() * g.out_w());
        if thin && cols >= THIN_DIRECT_COLS {
            return None;
        }
        if let Some(whole) = lower(g.n) {
            return Some(vec![(whole, 0)]);
        }
        if thin {
            return None;
        }
        let size = (1..=g.n.max(1))
            .map(|parts| g.n.div_ceil(parts))
            .find(|&c| lower(c).is_some())?;
        (0..g.n)
            .step_by(size)
            .map(|n0| Some((lower(size.min(g.n - n0))?, n0)))
            .collect()
    }

    /// [`Lowering::chunks`] of the conv2d that `t` is the adjoint of.
    pub fn transposed_chunks(t: ConvTranspose2dGeometry) -> Option<Vec<(Self, usize)>> {
        Self::chunks(adjoint(t))
    }

    /// Samples n0.. of this chunk in a tensor shaped like the conv2d's x (C_in, H, W per sample).
    pub fn x_part(&self, v: View, n0: usize) -> View {
        let per = self.g.c_in * self.g.h * self.g.w;
        View {
            offset: v.offset + n0 * per,
            len: self.g.n * per,
            ..v
        }
    }

    /// ... and in one shaped like its y (C_out, H_out, W_out per sample).
    pub fn y_part(&self, v: View, n0: usize) -> View {
        let per = self.g.c_out * self.g.out_h() * self.g.out_w();
        View {
            offset: v.offset + n0 * per,
            len: self.g.n * per,
            ..v
        }
    }

    fn scratch(&self, prog: &mut Program) -> (View, View) {
        let cols = scratch(prog, COLS, self.k * self.np);
        (cols, scratch(prog, CHANNEL_MAJOR, self.g.c_out * self.np))
    }

    /// y = conv2d(x, w) (+ bias); lengths already checked.
    pub fn forward(
        &self,
        prog: &mut Program,
        (x, w, bias, y): (View, View, Option<View>, View),
        label: &str,
    ) -> Result {
        let (g, (cols, y_t)) = (self.g, self.scratch(prog));
        im2col(prog, g, x, cols, &format!("{label} / im2col"))?;
        drop_if_redundant(prog);
        let shape = (g.c_out, self.np, self.k);
        let l = format!("{label} / matmul");
        matmul(prog, Transpose::None, w, cols, None, y_t, shape, 0, &l)?;
        cnhw_to_nchw(prog, g, y_t, bias, y, &format!("{label} / cnhw_to_nchw"))
    }

    /// dx = the gradient of conv2d wrt x (+ bias, for conv_transpose2d's forward).
    pub fn input_grad(
        &self,
        prog: &mut Program,
        (dy, w, bias, dx): (View, View, Option<View>, View),
        label: &str,
    ) -> Result {
        let (g, (cols, y_t)) = (self.g, self.scratch(prog));
        nchw_to_cnhw(prog, g, dy, y_t, &format!("{label} / nchw_to_cnhw"))?;
        drop_if_redundant(prog);
        let shape = (self.k, self.np, g.c_out);
        let l = format!("{label} / matmul");
        matmul(prog, Transpose::A, w, y_t, None, cols, shape, 0, &l)?;
        col2im(prog, g, cols, bias, dx, &format!("{label} / col2im"))
    }

    /// dw (+)= the gradient of conv2d wrt w (ACCUMULATE in `flags`).
    pub fn weight_grad(
        &self,
        prog: &mut Program,
        (x, dy, dw): (View, View, View),
        flags: u32,
        label: &str,
    ) -> Result {
        let (g, (cols, y_t)) = (self.g, self.scratch(prog));
        im2col(prog, g, x, cols, &format!("{label} / im2col"))?;
        drop_if_redundant(prog);
        nchw_to_cnhw(prog, g, dy, y_t, &format!("{label} / nchw_to_cnhw"))?;
        drop_if_redundant(prog);
        let flags = if flags & ACCUMULATE != 0 {
            MATMUL_ACCUMULATE
        } else {
            0
        };
        let shape = (g.c_out, self.k, self.np);
        let l = format!("{label} / matmul");
        matmul(prog, Transpose::B, y_t, cols, None, dw, shape, flags, &l)
    }
}

/// The conv2d that `t` is the adjoint of: input t's y, output t's x.
fn adjoint(t: ConvTranspose2dGeometry) -> Conv2dGeometry {
    Conv2dGeometry {
        n: t.n,
        c_in: t.c_out,
        h: t.out_h(),
        w: t.out_w(),
        c_out: t.c_in,
        kh: t.kh,
        kw: t.kw,
        stride: t.stride,
        pad: t.pad,
    }
}

/// Drops the reshape just recorded when scratch already holds its result: one of the last few
/// ops, in the same phase, wrote there last with the same call (kernel, params, views), and
/// nothing has written its source since. A layer's weight grad and input grad both start from
/// the same reshape of dy (conv2d: transposed; conv_transpose2d: im2col), two or three ops apart
/// (the bias grad may sit between). Looking no further keeps the reuse inside one layer's
/// backward, which no executed op range splits.
pub(crate) fn drop_if_redundant(prog: &mut Program) {
    let Some((new, earlier)) = prog.ops.split_last() else {
        return;
    };
    let (src, dst) = (new.bindings[0].0, new.bindings[new.bindings.len() - 1].0);
    let writes = |op: &OpCall, v: View| {
        op.bindings.iter().any(|&(b, a)| {
            a == Access::Write
                && b.buf == v.buf
                && b.offset < v.offset + v.len
                && v.offset < b.offset + b.len
        })
    };
    let recent = earlier.iter().rev().take(REUSE_LOOKBACK);
    for op in recent.take_while(|op| op.phase == new.phase) {
        if writes(op, dst) {
            let same =
                op.kernel == new.kernel && op.params == new.params && op.bindings == new.bindings;
            if same {
                prog.ops.pop();
            }
            return;
        }
        if writes(op, src) {
            return;
        }
    }
}

/// The shared scratch buffer `name`, grown to hold `len` words; the view starts at 0.
pub(crate) fn scratch(prog: &mut Program, name: &str, len: usize) -> View {
    let buf = match prog.buffers.iter().position(|b| b.name == name) {
        Some(i) => BufId(i),
        None => prog.tensor(name, len).buf,
    };
    let words = &mut prog.buffers[buf.0].words;
    *words = (*words).max(len.max(1));
    View {
        buf,
        offset: 0,
        len,
    }
}

/// Workgroups of a reshape kernel (`shaders/im2col.wgsl`), if they fit the grid: each
/// invocation writes one row, (b, oy) of one k for im2col, (b, iy) of one ci for col2im, (b, oy)
/// of one channel for the transposes.
fn reshape_grid(kernel: Kernel, g: &Conv2dGeometry) -> Option<[u32; 3]> {
    let [x, y, z] = match kernel {
        Kernel::Im2col => [g.n * g.out_h(), g.c_in * g.kh * g.kw, 1],
        Kernel::Col2im => [g.n * g.h, g.c_in, 1],
        _ => [g.n * g.out_h(), g.c_out, 1],
    };
    let groups = [x.div_ceil(GROUP), y, z];
    groups
        .iter()
        .all(|&d| (1..=MAX_GROUPS).contains(&d))
        .then(|| groups.map(|d| d as u32))
}

/// Records one reshape of `shaders/im2col.wgsl` after checking every tensor and the grid.
#[allow(clippy::too_many_arguments)]
fn reshape(
    prog: &mut Program,
    kernel: Kernel,
    g: Conv2dGeometry,
    (src, src_len): (View, usize),
    bias: Option<View>,
    (dst, dst_len): (View, usize),
    label: &str,
) -> Result {
    let invalid = |prog: &Program, why: String| ShapeError {
        op: format!("{label} ({why})"),
        tensor: prog.buffer_name(dst).to_string(),
        got: dst.len,
        expected: dst_len,
    };
    g.validate().map_err(|why| invalid(prog, why))?;
    let grid = reshape_grid(kernel, &g).ok_or_else(|| {
        invalid(
            prog,
            "more than 65,535 workgroups along one grid dimension".into(),
        )
    })?;
    check(prog, label, src, src_len)?;
    check(prog, label, dst, dst_len)?;
    let mut p: ConvParams = g.params(0);
    let mut bindings = vec![(src, R)];
    if kernel == Kernel::Col2im || kernel == Kernel::CnhwToNchw {
        let b = match bias {
            Some(v) => {
                let channels = if kernel == Kernel::Col2im {
                    g.c_in
                } else {
                    g.c_out
                };
                check(prog, label, v, channels)?;
                p.flags |= HAS_BIAS;
                v
            }
            None => prog.dummy(),
        };
        bindings.push((b, R));
    }
    bindings.push((dst, W));
    prog.push(kernel, &words(&p), bindings, grid, label);
    Ok(())
}

fn cols_shape(g: &Conv2dGeometry) -> (usize, usize) {
    (g.c_in * g.kh * g.kw, g.n * g.out_h() * g.out_w())
}

/// cols (K, N·P) = the patches of x (N, C_in, H, W) under conv2d geometry `g`.
pub fn im2col(prog: &mut Program, g: Conv2dGeometry, x: View, cols: View, label: &str) -> Result {
    let (k, np) = cols_shape(&g);
    let (src, dst) = ((x, g.x_len()), (cols, k * np));
    reshape(prog, Kernel::Im2col, g, src, None, dst, label)
}

/// x (N, C_in, H, W) = col2im(cols (K, N·P)) (+ bias (C_in)): the adjoint of `im2col`.
pub fn col2im(
    prog: &mut Program,
    g: Conv2dGeometry,
    cols: View,
    bias: Option<View>,
    x: View,
    label: &str,
) -> Result {
    let (k, np) = cols_shape(&g);
    let (src, dst) = ((cols, k * np), (x, g.x_len()));
    reshape(prog, Kernel::Col2im, g, src, bias, dst, label)
}

/// y_t (C_out, N·P) = y (N, C_out, H_out, W_out) with its first two axes swapped.
pub fn nchw_to_cnhw(
    prog: &mut Program,
    g: Conv2dGeometry,
    y: View,
    y_t: View,
    label: &str,
) -> Result {
    let (src, dst) = ((y, g.y_len()), (y_t, g.y_len()));
    reshape(prog, Kernel::NchwToCnhw, g, src, None, dst, label)
}

/// y (N, C_out, H_out, W_out) = y_t (C_out, N·P) with its first two axes swapped (+ bias).
pub fn cnhw_to_nchw(
    prog: &mut Program,
    g: Conv2dGeometry,
    y_t: View,
    bias: Option<View>,
    y: View,
    label: &str,
) -> Result {
    let (src, dst) = ((y_t, g.y_len()), (y, g.y_len()));
    reshape(prog, Kernel::CnhwToNchw, g, src, bias, dst, label)
}

//! Conv lowerings the CPU executor runs a block of samples at a time (issue 19). `ops::conv`
//! records a conv as reshape, matmul, reshape around two scratch buffers sized for the whole
//! batch (cols is K x N·P); on the CPU path those reshapes and their trips through memory were a
//! quarter to a third of a conv recipe's iteration. When a program is loaded, this module finds
//!   forward     im2col(x -> cols), matmul(w, cols -> y_t), cnhw_to_nchw(y_t, bias -> y)
//!   input grad  matmul_at(w, y_t -> cols), col2im(cols, bias -> dx)
//! (the second is also conv_transpose2d's forward; conv3d's im2col3d and col2im3d likewise) and
//! runs each as one step: per block of samples, on every core, the block's cols (in cache for
//! small maps) and its product, written straight into the block's rows of y or dx; with AVX-512
//! the forward and (from 2,048 columns) the weight gradient do without cols (`cpu::conv_direct`),
//! and a conv2d input gradient makes its cols a few channels at a time. The twins
//! are the recorded ops' own, called on the block, and a product's value at each element
//! depends only on its K terms, so the results are bit for bit those of the recorded ops
//! (tests/cpu_conv.rs). A step is formed only where the scratch it no longer writes is not read
//! before being written again.

use crate::cpu::conv2d::{ConvParams, HAS_BIAS};
use crate::cpu::conv3d::{self, Conv3dParams};
use crate::cpu::conv_direct::{self, Taps};
use crate::cpu::im2col::{col2im, im2col};
use crate::cpu::matmul::{self, MatmulParams};
use crate::cpu::{params, CpuIo};
use crate::kernels::{Access, Kernel};
use crate::program::{OpCall, Program, View};
use rayon::prelude::*;
use std::cell::RefCell;

/// `WGPU_GAN_CPU_CONV=0` runs every op as recorded (for comparisons).
pub const SWITCH: &str = "WGPU_GAN_CPU_CONV";

/// A fused conv step over ops `first..first + len`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvStep {
    pub first: usize,
    pub len: usize,
    pub kind: StepKind,
    pub conv: Geometry,
    /// Whether the forward adds the bias (cnhw_to_nchw's flag; col2im's is in `conv`).
    pub bias_added: bool,
    /// The views the step reads and writes, bound like an op's; x is y_t, (C_out, N·P)
    /// channel-major, for an input gradient.
    pub x: View,
    pub w: View,
    pub bias: View,
    pub out: View,
    /// A weight gradient's nchw_to_cnhw of dy (its params, dy, y_t), run first, when the step
    /// takes it in.
    pub transpose: Option<(ConvParams, View, View)>,
    /// Whether a weight gradient adds to dw (the recorded product's flag).
    pub accumulate: bool,
    /// The end of the ops that must run as steps together with this one: its own end, or, for a
    /// step on an im2col that later steps read too (`shared`), the last one's; where a range
    /// cuts them, they run as recorded (the later ones may need the cols this one skips).
    pub group_end: usize,
}

/// The lowered conv's geometry, as its reshapes take it (the col2im's, with its flags, for an
/// input gradient).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Geometry {
    Conv2d(ConvParams),
    Conv3d(Conv3dParams),
}

impl Geometry {
    fn n(&self) -> usize {
        match self {
            Self::Conv2d(g) => g.n as usize,
            Self::Conv3d(g) => g.n as usize,
        }
    }

    fn c_out(&self) -> usize {
        match self {
            Self::Conv2d(g) => g.c_out as usize,
            Self::Conv3d(g) => g.c_out as usize,
        }
    }

    /// K: the products' inner size, c_in times the taps.
    fn k(&self) -> usize {
        match self {
            Self::Conv2d(g) => (g.c_in * g.kh * g.kw) as usize,
            Self::Conv3d(g) => (g.c_in * g.k * g.k * g.k) as usize,
        }
    }

    /// P: output pixels per sample.
    fn p(&self) -> usize {
        match self {
            Self::Conv2d(g) => (g.h_out * g.w_out) as usize,
            Self::Conv3d(g) => (g.t_out * g.h_out * g.w_out) as usize,
        }
    }

    /// Words of x per sample.
    fn x_len(&self) -> usize {
        match self {
            Self::Conv2d(g) => (g.c_in * g.h * g.w) as usize,
            Self::Conv3d(g) => (g.c_in * g.t * g.h * g.w) as usize,
        }
    }

    fn with_n(&self, n: usize) -> Self {
        let n = n as u32;
        match *self {
            Self::Conv2d(g) => Self::Conv2d(ConvParams { n, ..g }),
            Self::Conv3d(g) => Self::Conv3d(Conv3dParams { n, ..g }),
        }
    }

    /// The shape `cpu::conv_direct`'s products take.
    fn taps(&self) -> Taps {
        let u = |v: u32| v as usize;
        match *self {
            Self::Conv2d(g) => Taps {
                n: u(g.n),
                c_in: u(g.c_in),
                c_out: u(g.c_out),
                thw: [1, u(g.h), u(g.w)],
                out: [1, u(g.h_out), u(g.w_out)],
                k: [1, u(g.kh), u(g.kw)],
                stride: u(g.stride),
                pad: [0, u(g.pad), u(g.pad)],
            },
            Self::Conv3d(g) => Taps {
                n: u(g.n),
                c_in: u(g.c_in),
                c_out: u(g.c_out),
                thw: [u(g.t), u(g.h), u(g.w)],
                out: [u(g.t_out), u(g.h_out), u(g.w_out)],
                k: [u(g.k); 3],
                stride: u(g.stride),
                pad: [u(g.pad); 3],
            },
        }
    }

    fn im2col(&self, x: &[f32], cols: &mut [f32]) {
        match self {
            Self::Conv2d(g) => im2col(g, x, cols),
            Self::Conv3d(g) => conv3d::im2col3d(g, x, cols),
        }
    }

    fn col2im(&self, cols: &[f32], bias: &[f32], x: &mut [f32]) {
        match self {
            Self::Conv2d(g) => col2im(g, cols, bias, x),
            Self::Conv3d(g) => conv3d::col2im3d(g, cols, bias, x),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Forward,
    InputGrad,
    /// im2col, (nchw_to_cnhw,) matmul_bt: the weight gradient, straight from x where
    /// `cpu::conv_direct` runs it, else a block of samples at a time (`x` is the conv's x, `w`
    /// y_t, `out` dw).
    WeightGrad,
}

/// Every conv step of `program`, in op order, none overlapping (empty when SWITCH is 0).
pub fn plan(program: &Program) -> Vec<ConvStep> {
    if std::env::var(SWITCH).is_ok_and(|v| v == "0") {
        return Vec::new();
    }
    let ops = &program.ops;
    let mut steps = Vec::new();
    let mut i = 0;
    while i < ops.len() {
        let found = forward(ops, i)
            .or_else(|| input_grad(ops, i))
            .or_else(|| weight_grad(ops, i));
        match found {
            Some((step, scratch)) if scratch.iter().all(|&v| dead_after(ops, &step, v)) => {
                i += step.len;
                steps.push(step);
            }
            Some((step, scratch)) if step.kind != StepKind::InputGrad => {
                // Its own scratch but cols (a forward's y_t) must be dead all the same.
                let own = scratch[1..].iter().all(|&v| dead_after(ops, &step, v));
                let followers = if own { shared(ops, &step) } else { Vec::new() };
                match followers.last() {
                    Some(last) => {
                        i = last.first + last.len;
                        steps.push(ConvStep {
                            group_end: i,
                            ..step
                        });
                        steps.extend(followers);
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    steps
}

/// One im2col read by more than one product: a conv_transpose2d's backward (its weight gradient,
/// then its input gradient, a conv forward of dy) and the ConvGRU's r and u gates (two forwards
/// of [x, h]) record a single im2col, the later builders dropping their own. `first` is the step
/// on the im2col; the forward steps that follow it on the same cols, where after the last
/// nothing reads cols (nor a product's y_t after its own step) and no op among them writes the
/// im2col's x, so that each step can make its own cols (or need none); else none.
fn shared(ops: &[OpCall], first: &ConvStep) -> Vec<ConvStep> {
    let (x, cols) = (first.x, view(&ops[first.first], 1));
    // Whether `op` binds a view overlapping `u` with `access`.
    let binds = |op: &OpCall, u: View, access: Access| {
        op.bindings.iter().any(|&(v, a)| {
            a == access && v.buf == u.buf && overlaps(&[(v.offset, v.offset + v.len)], &u)
        })
    };
    let mut followers = Vec::new();
    let mut j = first.first + first.len;
    loop {
        // A bias gradient between the products (a conv_transpose2d with bias: it reads dy, not
        // cols) runs as its own op.
        while ops
            .get(j)
            .is_some_and(|op| op.kernel == Kernel::Conv2dBiasGrad && !binds(op, cols, Access::Read))
        {
            j += 1;
        }
        let Some((forward, scratch)) = forward_after(ops, &ops[first.first], j, j) else {
            break;
        };
        // Its cols are the im2col's (`forward_after` checked); its y_t its own scratch.
        let y_t = scratch[1];
        let clean = ops[first.first + 1..j + 2]
            .iter()
            .all(|op| !binds(op, x, Access::Write));
        if forward.x != x || !clean || !dead_after(ops, &forward, y_t) {
            break;
        }
        j = forward.group_end;
        followers.push(forward);
        if dead_after(ops, &forward, cols) {
            return followers;
        }
    }
    Vec::new()
}

fn view(op: &OpCall, i: usize) -> View {
    op.bindings[i].0
}

fn conv_params(op: &OpCall) -> ConvParams {
    params(&op.params)
}

fn matmul_params(op: &OpCall) -> MatmulParams {
    params(&op.params)
}

/// The geometry an im2col or col2im op works on.
fn reshape_geometry(op: &OpCall) -> Option<Geometry> {
    match op.kernel {
        Kernel::Im2col | Kernel::Col2im => Some(Geometry::Conv2d(params(&op.params))),
        Kernel::Im2col3d | Kernel::Col2im3d => Some(Geometry::Conv3d(params(&op.params))),
        _ => None,
    }
}

/// im2col (or im2col3d), matmul, cnhw_to_nchw on one geometry: the step and the scratch it
/// skips.
fn forward(ops: &[OpCall], i: usize) -> Option<(ConvStep, Vec<View>)> {
    forward_after(ops, ops.get(i)?, i, i + 1)
}

/// matmul, cnhw_to_nchw at `j` on the cols the im2col `a` writes: the forward step over ops
/// `first..j + 2` (`a` itself at `first`, or, where a weight-gradient step already stands on
/// the same cols, from `j`) and the scratch it skips.
fn forward_after(
    ops: &[OpCall],
    a: &OpCall,
    first: usize,
    j: usize,
) -> Option<(ConvStep, Vec<View>)> {
    let [b, c] = ops.get(j..j + 2)? else {
        return None;
    };
    let plain = matches!(b.kernel, Kernel::Matmul | Kernel::MatmulVec4);
    let im2col = matches!(a.kernel, Kernel::Im2col | Kernel::Im2col3d);
    if !im2col || !plain || c.kernel != Kernel::CnhwToNchw {
        return None;
    }
    let (g, mp, out) = (reshape_geometry(a)?, matmul_params(b), conv_params(c));
    let (cols, y_t) = (view(a, 1), view(b, 2));
    let (k, np) = (g.k(), g.n() * g.p());
    // cnhw_to_nchw runs on y's layout: the same batch, channels and pixels.
    let fits = (out.n as usize, out.c_out as usize) == (g.n(), g.c_out())
        && (out.h_out * out.w_out) as usize == g.p()
        && (mp.m as usize, mp.n as usize, mp.k as usize, mp.flags) == (g.c_out(), np, k, 0)
        && view(b, 1) == cols
        && view(c, 0) == y_t;
    let step = ConvStep {
        first,
        len: j + 2 - first,
        kind: StepKind::Forward,
        conv: g,
        bias_added: out.flags & HAS_BIAS != 0,
        x: view(a, 0),
        w: view(b, 0),
        bias: view(c, 1),
        out: view(c, 2),
        transpose: None,
        accumulate: false,
        group_end: j + 2,
    };
    fits.then(|| (step, vec![cols, y_t]))
}

/// matmul_at, col2im (or col2im3d) on one geometry: the step and the scratch it skips.
fn input_grad(ops: &[OpCall], i: usize) -> Option<(ConvStep, Vec<View>)> {
    let [b, c] = ops.get(i..i + 2)? else {
        return None;
    };
    let plain = matches!(b.kernel, Kernel::MatmulAt | Kernel::MatmulAtVec4);
    let col2im = matches!(c.kernel, Kernel::Col2im | Kernel::Col2im3d);
    if !plain || !col2im {
        return None;
    }
    let (g, mp) = (reshape_geometry(c)?, matmul_params(b));
    let cols = view(b, 2);
    let (k, np) = (g.k(), g.n() * g.p());
    let fits = (mp.m as usize, mp.n as usize, mp.k as usize, mp.flags) == (k, np, g.c_out(), 0)
        && view(c, 0) == cols;
    let step = ConvStep {
        first: i,
        len: 2,
        kind: StepKind::InputGrad,
        conv: g,
        bias_added: false,
        x: view(b, 1),
        w: view(b, 0),
        bias: view(c, 1),
        out: view(c, 2),
        transpose: None,
        accumulate: false,
        group_end: i + 2,
    };
    fits.then(|| (step, vec![cols]))
}

/// im2col (or im2col3d), then nchw_to_cnhw of dy if the lowering recorded one, then
/// matmul_bt(y_t, cols -> dw): the step and the scratch it skips (cols). Where
/// `cpu::conv_direct` runs it from x (AVX-512, enough columns), or where the blocks are fewer
/// than the batch (`WeightBlocks`).
fn weight_grad(ops: &[OpCall], i: usize) -> Option<(ConvStep, Vec<View>)> {
    let a = ops.get(i)?;
    if !matches!(a.kernel, Kernel::Im2col | Kernel::Im2col3d) {
        return None;
    }
    let g = reshape_geometry(a)?;
    let with_t = ops.get(i + 1)?.kernel == Kernel::NchwToCnhw;
    let (t, b) = if with_t {
        (Some(&ops[i + 1]), ops.get(i + 2)?)
    } else {
        (None, ops.get(i + 1)?)
    };
    if !matches!(b.kernel, Kernel::MatmulBt | Kernel::MatmulBtVec4) {
        return None;
    }
    let mp = matmul_params(b);
    let cols = view(a, 1);
    let (k, np) = (g.k(), g.n() * g.p());
    let y_t = view(b, 0);
    let accumulate = mp.flags & crate::cpu::matmul::ACCUMULATE != 0;
    let shape = (mp.m as usize, mp.n as usize, mp.k as usize);
    let mut fits = shape == (g.c_out(), k, np)
        && mp.flags & !crate::cpu::matmul::ACCUMULATE == 0
        && view(b, 1) == cols
        && (WeightBlocks::of(&g).is_some() || conv_direct::weight_grad_direct(&g.taps()));
    let transpose = match t {
        Some(t) => {
            let tp = conv_params(t);
            // It writes y_t for this conv's (n, c_out, pixels), and not cols or x.
            fits &= view(t, 1) == y_t
                && (tp.n as usize, tp.c_out as usize) == (g.n(), g.c_out())
                && (tp.h_out * tp.w_out) as usize == g.p()
                && view(t, 0).buf != cols.buf;
            Some((tp, view(t, 0), y_t))
        }
        None => None,
    };
    let step = ConvStep {
        first: i,
        len: if with_t { 3 } else { 2 },
        kind: StepKind::WeightGrad,
        conv: g,
        bias_added: false,
        x: view(a, 0),
        w: y_t,
        bias: y_t,
        out: view(b, 2),
        transpose,
        accumulate,
        group_end: i + if with_t { 3 } else { 2 },
    };
    fits.then(|| (step, vec![cols]))
}

/// How a weight gradient's samples are cut into blocks: each block's columns a multiple of the
/// GEMM's k block (`matmul_bt_strided`), about `WEIGHT_BLOCK_WORDS` of cols, fewer samples
/// than the batch (else the step would be the recorded ops).
#[derive(Clone, Copy, Debug)]
struct WeightBlocks {
    per: usize,
}

/// The GEMM's k block (matrixmultiply's sgemm KC): blocks of the reduction cut at its
/// multiples sum bit for bit as the whole.
const GEMM_KC: usize = 256;

/// Words of cols a weight-gradient block aims at (2 MiB, a core's L2: 1 MiB and 4 MiB were no
/// faster on DVD-GAN).
const WEIGHT_BLOCK_WORDS: usize = 1 << 19;

impl WeightBlocks {
    fn of(g: &Geometry) -> Option<Self> {
        let (n, p, k) = (g.n(), g.p().max(1), g.k().max(1));
        let step = GEMM_KC / gcd(p, GEMM_KC);
        let want = (WEIGHT_BLOCK_WORDS / k).div_ceil(p).max(1);
        let per = want.div_ceil(step) * step;
        (per < n).then_some(Self { per })
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Whether no op reads `v`'s words, as `step` leaves them, before they are all written again:
/// the ops after the step, then (the program runs in a loop) those from the start.
fn dead_after(ops: &[OpCall], step: &ConvStep, v: View) -> bool {
    let end = step.first + step.len;
    let mut live = vec![(v.offset, v.offset + v.len)];
    for op in ops[end..].iter().chain(&ops[..step.first]) {
        let on = |(u, _): &&(View, Access)| u.buf == v.buf;
        let reads = op
            .bindings
            .iter()
            .filter(on)
            .filter(|b| b.1 == Access::Read);
        if reads.into_iter().any(|(u, _)| overlaps(&live, u)) {
            return false;
        }
        for (u, _) in op
            .bindings
            .iter()
            .filter(on)
            .filter(|b| b.1 == Access::Write)
        {
            live = subtract(&live, (u.offset, u.offset + u.len));
        }
        if live.is_empty() {
            return true;
        }
    }
    true
}

fn overlaps(live: &[(usize, usize)], u: &View) -> bool {
    live.iter()
        .any(|&(a, b)| u.offset < b && a < u.offset + u.len)
}

fn subtract(live: &[(usize, usize)], (c, d): (usize, usize)) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for &(a, b) in live {
        if a < c.min(b) {
            out.push((a, c.min(b)));
        }
        if d.max(a) < b {
            out.push((d.max(a), b));
        }
    }
    out
}

impl ConvStep {
    /// The index of the step's matmul op.
    pub fn product(&self) -> usize {
        match self.kind {
            StepKind::Forward => self.first + self.len - 2,
            StepKind::InputGrad => self.first,
            StepKind::WeightGrad => self.first + self.len - 1,
        }
    }

    /// The step's views as an op's bindings: x (or y_t), w, bias read, out written.
    pub fn bindings(&self) -> Vec<(View, Access)> {
        if self.kind == StepKind::WeightGrad {
            // With the transpose in, y_t is written (then read from the written slice).
            let y_t = match self.transpose {
                Some((_, dy, y_t)) => vec![(dy, Access::Read), (y_t, Access::Write)],
                None => vec![(self.w, Access::Read)],
            };
            let mut b = vec![(self.x, Access::Read)];
            b.extend(y_t);
            b.push((self.out, Access::Write));
            return b;
        }
        vec![
            (self.x, Access::Read),
            (self.w, Access::Read),
            (self.bias, Access::Read),
            (self.out, Access::Write),
        ]
    }

    /// Runs the step on its bindings (in `bindings()`'s order).
    pub fn run(&self, io: &mut CpuIo) {
        if self.kind == StepKind::WeightGrad {
            let x = io.f32(0);
            let (y_t, dw): (&[f32], _) = match self.transpose {
                Some((tp, ..)) => {
                    let (dy, y_t) = (io.f32(1), io.f32_mut(2));
                    crate::cpu::im2col::nchw_to_cnhw(&tp, dy, y_t);
                    (y_t, io.f32_mut(3))
                }
                None => (io.f32(1), io.f32_mut(2)),
            };
            return self.weight_grad(x, y_t, dw);
        }
        let (x, w, bias) = (io.f32(0), io.f32(1), io.f32(2));
        let out = io.f32_mut(3);
        match self.kind {
            StepKind::Forward => self.forward(x, w, bias, out),
            StepKind::InputGrad => self.input_grad(x, w, bias, out),
            StepKind::WeightGrad => unreachable!("run above"),
        }
    }

    /// Samples per block: about MIN_BLOCK_COLUMNS columns of product, in a number of blocks
    /// that the threads share evenly where the batch allows (blocks of 11 samples cut a batch
    /// of 64 as 11 x 5 + 9, two threads getting 33 and 31 samples, and a batch of 32 as 11,
    /// 11, 10: 22 and 10).
    fn per_block(&self) -> usize {
        let (n, p) = (self.conv.n(), self.conv.p());
        let threads = crate::cpu::par::threads();
        let rounds = (n * p).div_ceil(threads * MIN_BLOCK_COLUMNS).max(1);
        n.div_ceil(threads * rounds).max(1)
    }

    fn forward(&self, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
        let g = self.conv;
        let (per, k, p, c_out) = (self.per_block(), g.k(), g.p(), g.c_out());
        let (x_len, y_len) = (g.x_len(), c_out * p);
        let y = &mut y[..g.n() * y_len];
        y.par_chunks_mut((per * y_len).max(1))
            .enumerate()
            .for_each(|(i, y_blk)| {
                let count = y_blk.len() / y_len.max(1);
                let cols_len = count * p;
                let mp = MatmulParams {
                    m: c_out as u32,
                    n: cols_len as u32,
                    k: k as u32,
                    flags: 0,
                };
                // With AVX-512 straight from x (`cpu::conv_direct::forward`): no cols.
                let g = g.with_n(count);
                let direct = conv_direct::forward_direct(&g.taps());
                let cols_words = if direct { 0 } else { k * cols_len };
                with_scratch(cols_words + c_out * cols_len, |scratch| {
                    let (cols, y_t) = scratch.split_at_mut(cols_words);
                    let x_blk = &x[i * per * x_len..][..count * x_len];
                    if !direct || !conv_direct::forward(&g.taps(), x_blk, w, y_t) {
                        g.im2col(x_blk, cols);
                        matmul::matmul(&mp, w, cols, &[], y_t);
                    }
                    // cnhw_to_nchw on the block, adding the bias as its twin does.
                    for (b, y_b) in y_blk.chunks_exact_mut(y_len.max(1)).enumerate() {
                        for (c, row) in y_b.chunks_exact_mut(p.max(1)).enumerate() {
                            let src = &y_t[c * cols_len + b * p..][..p];
                            if self.bias_added {
                                let bv = bias[c];
                                row.iter_mut().zip(src).for_each(|(o, v)| *o = v + bv);
                            } else {
                                row.copy_from_slice(src);
                            }
                        }
                    }
                });
            });
    }

    fn input_grad(&self, y_t: &[f32], w: &[f32], bias: &[f32], dx: &mut [f32]) {
        let g = self.conv;
        let (per, k, p, x_len) = (self.per_block(), g.k(), g.p(), g.x_len());
        let np = g.n() * p;
        let dx = &mut dx[..g.n() * x_len];
        // A block per thread at least: each runs its products on its own thread.
        let chunked = g.n().div_ceil(per) >= crate::cpu::par::threads();
        dx.par_chunks_mut((per * x_len).max(1))
            .enumerate()
            .for_each(|(i, dx_blk)| {
                let count = dx_blk.len() / x_len.max(1);
                let mp = MatmulParams {
                    m: k as u32,
                    n: (count * p) as u32,
                    k: g.c_out() as u32,
                    flags: 0,
                };
                let y_blk = &y_t[i * per * p..];
                if let (Geometry::Conv2d(gp), true) = (g.with_n(count), chunked) {
                    return channel_chunks(&gp, w, y_blk, np, bias, dx_blk);
                }
                with_scratch(k * count * p, |cols| {
                    matmul::matmul_at_strided(&mp, w, y_blk, np, cols);
                    g.with_n(count).col2im(cols, bias, dx_blk);
                });
            });
    }
}

/// Words of cols an input-gradient block computes at a time (a core's L2 holds them with the
/// block's y_t).
const CHUNK_WORDS: usize = 1 << 16;

/// A conv2d input gradient's block, a few channels at a time: their rows of cols (wᵀ's rows
/// times the block's y_t, `y_t` at the block's first column, `np` words a row), then their
/// planes of dx from them, while those rows are in cache. Each cols element is the GEMM's
/// chain over c_out and each plane col2im's, so dx is the whole block's bit for bit.
fn channel_chunks(g: &ConvParams, w: &[f32], y_t: &[f32], np: usize, bias: &[f32], dx: &mut [f32]) {
    let (c_in, c_out) = (g.c_in as usize, g.c_out as usize);
    let (taps, cols) = ((g.kh * g.kw) as usize, (g.n * g.h_out * g.w_out) as usize);
    let k = c_in * taps;
    let per = (CHUNK_WORDS / (taps * cols).max(1)).clamp(1, c_in.max(1));
    assert!(w.len() >= c_out * k && (c_out == 0 || y_t.len() >= (c_out - 1) * np + cols));
    with_scratch(per * taps * cols, |buf| {
        for c0 in (0..c_in).step_by(per) {
            let c1 = (c0 + per).min(c_in);
            let rows = (c1 - c0) * taps;
            // SAFETY: wᵀ's rows c0·taps.. (w is (c_out, k)), y_t's c_out rows of `cols` words
            // and buf's rows x cols lie inside their slices (asserted above).
            unsafe {
                crate::cpu::gemm::sgemm(
                    (rows, c_out, cols),
                    w.as_ptr().add(c0 * taps),
                    (1, k as isize),
                    y_t.as_ptr(),
                    (np as isize, 1),
                    false,
                    buf.as_mut_ptr(),
                    (cols as isize, 1),
                );
            }
            crate::cpu::im2col::col2im_channels(g, &buf[..rows * cols], (c0, c1), bias, dx);
        }
    });
}

impl ConvStep {
    /// dw (+)= y_t · colsᵀ: with AVX-512 straight from x (`cpu::conv_direct`, which
    /// keeps the same chains); else the samples a block at a time in order: each block's cols (in
    /// cache) from its im2col, then its product added to dw (the first block accumulates only
    /// if the recorded product did). The blocks cut the reduction at multiples of the GEMM's k
    /// block, so dw is the whole product's bit for bit.
    fn weight_grad(&self, x: &[f32], y_t: &[f32], dw: &mut [f32]) {
        let g = self.conv;
        if conv_direct::weight_grad(&g.taps(), x, y_t, self.accumulate, dw) {
            return;
        }
        let Some(WeightBlocks { per }) = WeightBlocks::of(&g) else {
            unreachable!("a weight-gradient step not run directly has blocks");
        };
        let (n, k, p, x_len) = (g.n(), g.k(), g.p(), g.x_len());
        let np = n * p;
        let accumulate = self.accumulate;
        with_scratch(k * per * p, |scratch| {
            for (i, n0) in (0..n).step_by(per).enumerate() {
                let count = per.min(n - n0);
                let cols_len = count * p;
                let cols = &mut scratch[..k * cols_len];
                g.with_n(count)
                    .im2col(&x[n0 * x_len..][..count * x_len], cols);
                let mp = MatmulParams {
                    m: g.c_out() as u32,
                    n: k as u32,
                    k: cols_len as u32,
                    flags: 0,
                };
                let first = i == 0 && !accumulate;
                matmul::matmul_bt_strided(&mp, &y_t[n0 * p..], np, cols, !first, dw);
            }
        });
    }
}

/// Columns of product (samples x output pixels) a block of a fused step aims at: one sample of
/// a 7x7 map (49 columns) keeps the product's kernel mostly on its edges. With the blocks shared
/// evenly, 1024 (DCGAN b64: 4 blocks of 16 samples) beat 512 (8 of 8): five alternated rounds as
/// trained 53.8/55.4/56.9/53.6/54.2 -> 52.0/54.5/54.8/52.2/52.8 ms; at b32 (2 of 16 against 4
/// of 8) no difference; 2048 no better.
const MIN_BLOCK_COLUMNS: usize = 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `f` on `len` words of this thread's scratch (`par::scratch`).
fn with_scratch(len: usize, f: impl FnOnce(&mut [f32])) {
    crate::cpu::par::scratch(&SCRATCH, len, f)
}

//! Typed builders that record one kernel call each. Shapes are checked here, once, at the host
//! boundary (house rule 5); the shaders assume them valid.

use crate::cpu::activation::ActivationParams;
use crate::cpu::batch_norm::BatchNormParams;
use crate::cpu::matmul::MatmulParams;
use crate::cpu::random::RandomParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

mod adam;
pub mod augment;
pub mod columns;
pub mod condition;
pub mod conv;
pub mod conv3d;
mod elementwise;
pub mod frames;
pub mod gru;
pub mod hinge;
mod image_pool;
mod instance_norm;
mod loss;
pub mod moving_mnist;
pub mod permute;
mod pixel_shuffle;
mod pool;
mod prelu;
mod reflect_pad;
pub mod spectral_norm;
pub mod stream;
pub mod tiling;
pub mod upsample;

pub use adam::*;
pub use elementwise::*;
pub use image_pool::*;
pub use instance_norm::*;
pub use loss::*;
pub use pixel_shuffle::*;
pub use pool::*;
pub use prelu::*;
pub use reflect_pad::*;

/// A shape mismatch found while building a program: names the tensor and both sizes; or, made
/// by `ShapeError::net`, a net whose layers do not fit together, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ShapeError {
    pub op: String,
    pub tensor: String,
    pub got: usize,
    pub expected: usize,
}

impl ShapeError {
    /// Net `name`'s layers do not wire (`nn::graph::wire` says why).
    pub fn net(name: &str, why: String) -> Self {
        Self {
            op: format!("net {name}"),
            tensor: why,
            got: usize::MAX,
            expected: usize::MAX,
        }
    }

    fn describe(&self) -> String {
        if self.got == usize::MAX {
            return format!("{}: {}", self.op, self.tensor);
        }
        let (op, t, got, want) = (&self.op, &self.tensor, self.got, self.expected);
        format!("{op}: tensor '{t}' has {got} elements, expected {want}")
    }
}

pub type Result<T = ()> = std::result::Result<T, ShapeError>;

pub fn check(prog: &Program, op: &str, v: View, expected: usize) -> Result {
    if v.len == expected {
        Ok(())
    } else {
        Err(ShapeError {
            op: op.to_string(),
            tensor: prog.buffer_name(v).to_string(),
            got: v.len,
            expected,
        })
    }
}

/// Which operand of a product is transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    /// a (m,k) · b (k,n)
    None,
    /// aᵀ · b with a (k,m)
    A,
    /// a · bᵀ with b (n,k)
    B,
}

/// out (m,n) = op(a) · op(b) (+ bias) (+ out when `flags` has ACCUMULATE).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    prog: &mut Program,
    t: Transpose,
    a: View,
    b: View,
    bias: Option<View>,
    out: View,
    (m, n, k): (usize, usize, usize),
    flags: u32,
    label: &str,
) -> Result {
    let kernel = tiling::matmul_kernel(t, (m, n, k));
    check(prog, label, a, m * k)?;
    check(prog, label, b, k * n)?;
    check(prog, label, out, m * n)?;
    let mut flags = flags;
    let bias = match bias {
        Some(v) => {
            check(prog, label, v, n)?;
            flags |= crate::cpu::matmul::HAS_BIAS;
            v
        }
        None => prog.dummy(),
    };
    let p = MatmulParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        flags,
    };
    let groups = tiling::matmul_grid(kernel, m, n);
    prog.push(
        kernel,
        &words(&p),
        vec![(a, R), (b, R), (out, W), (bias, R)],
        groups,
        label,
    );
    Ok(())
}

/// db (n) = Σ_rows dy (m, n).
pub fn bias_grad(
    prog: &mut Program,
    dy: View,
    db: View,
    m: usize,
    flags: u32,
    label: &str,
) -> Result {
    check(prog, label, dy, m * db.len)?;
    let p = MatmulParams {
        m: m as u32,
        n: db.len as u32,
        k: 0,
        flags,
    };
    prog.push(
        Kernel::BiasGrad,
        &words(&p),
        vec![(dy, R), (db, W)],
        grid_1d(db.len, 64),
        label,
    );
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    LeakyRelu(f32),
    Relu,
    Tanh,
    Sigmoid,
}

impl Activation {
    fn kernels(self) -> (Kernel, Kernel, f32) {
        match self {
            Self::LeakyRelu(s) => (Kernel::LeakyReluForward, Kernel::LeakyReluBackward, s),
            Self::Relu => (Kernel::ReluForward, Kernel::ReluBackward, 0.0),
            Self::Tanh => (Kernel::TanhForward, Kernel::TanhBackward, 0.0),
            Self::Sigmoid => (Kernel::SigmoidForward, Kernel::SigmoidBackward, 0.0),
        }
    }

    /// Whether the backward pass reads the forward output (else the input).
    pub fn backward_uses_output(self) -> bool {
        matches!(self, Self::Tanh | Self::Sigmoid)
    }
}

pub fn activation_forward(
    prog: &mut Program,
    act: Activation,
    x: View,
    y: View,
    label: &str,
) -> Result {
    check(prog, label, y, x.len)?;
    let (kernel, _, slope) = act.kernels();
    let p = ActivationParams {
        n: x.len as u32,
        slope,
    };
    prog.push(
        kernel,
        &words(&p),
        vec![(x, R), (y, W)],
        grid_1d(x.len, 64),
        label,
    );
    Ok(())
}

/// `saved` is the forward input for leaky_relu/relu and the forward output for tanh/sigmoid.
pub fn activation_backward(
    prog: &mut Program,
    act: Activation,
    saved: View,
    dy: View,
    dx: View,
    label: &str,
) -> Result {
    check(prog, label, dy, saved.len)?;
    check(prog, label, dx, saved.len)?;
    let (_, kernel, slope) = act.kernels();
    let p = ActivationParams {
        n: saved.len as u32,
        slope,
    };
    let b = vec![(saved, R), (dy, R), (dx, W)];
    prog.push(kernel, &words(&p), b, grid_1d(saved.len, 64), label);
    Ok(())
}

/// The tensors of one batch-norm layer; gamma_beta, running and saved are (2C).
#[derive(Clone, Copy, Debug)]
pub struct BatchNormViews {
    pub gamma_beta: View,
    pub running: View,
    pub saved: View,
}

/// The grid of the reducing batch-norm kernels (training forward, backward, and the fused
/// backward that inherits the backward's grid): one workgroup of 256 per channel.
pub fn batch_norm_grid(channels: usize) -> [u32; 3] {
    grid_1d(channels * 256, 256)
}

pub fn batch_norm_forward(
    prog: &mut Program,
    p: BatchNormParams,
    bn: BatchNormViews,
    x: View,
    y: View,
    training: bool,
    label: &str,
) -> Result {
    let n = (p.n * p.c * p.hw) as usize;
    let c2 = 2 * p.c as usize;
    check(prog, label, x, n)?;
    check(prog, label, y, n)?;
    check(prog, label, bn.gamma_beta, c2)?;
    check(prog, label, bn.running, c2)?;
    check(prog, label, bn.saved, c2)?;
    if training {
        let b = vec![
            (x, R),
            (bn.gamma_beta, R),
            (y, W),
            (bn.running, W),
            (bn.saved, W),
        ];
        let g = batch_norm_grid(p.c as usize);
        prog.push(Kernel::BatchNormForwardTrain, &words(&p), b, g, label);
    } else {
        let b = vec![(x, R), (bn.gamma_beta, R), (bn.running, R), (y, W)];
        prog.push(
            Kernel::BatchNormForwardEval,
            &words(&p),
            b,
            grid_1d(n, 64),
            label,
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    prog: &mut Program,
    p: BatchNormParams,
    bn: BatchNormViews,
    x: View,
    dy: View,
    dx: View,
    grad_gamma_beta: View,
    label: &str,
) -> Result {
    let n = (p.n * p.c * p.hw) as usize;
    check(prog, label, x, n)?;
    check(prog, label, dy, n)?;
    check(prog, label, dx, n)?;
    check(prog, label, grad_gamma_beta, 2 * p.c as usize)?;
    let b = vec![
        (x, R),
        (dy, R),
        (bn.gamma_beta, R),
        (bn.saved, R),
        (dx, W),
        (grad_gamma_beta, W),
    ];
    let g = batch_norm_grid(p.c as usize);
    prog.push(Kernel::BatchNormBackward, &words(&p), b, g, label);
    Ok(())
}

/// Seed and stream of a counter-based random op; `slot` names the counter that advances the
/// stream (the iteration counter).
#[derive(Clone, Copy, Debug)]
pub struct RandomStream {
    pub seed: u64,
    pub stream: u32,
    pub slot: usize,
}

impl RandomStream {
    fn params(&self, n: usize, a: f32, b: f32, count: u32) -> RandomParams {
        RandomParams {
            n: n as u32,
            seed_lo: self.seed as u32,
            seed_hi: (self.seed >> 32) as u32,
            stream: self.stream,
            slot: self.slot as u32,
            a,
            b,
            count,
        }
    }
}

pub fn normal_fill(
    prog: &mut Program,
    rs: RandomStream,
    counters: View,
    out: View,
    mean: f32,
    std: f32,
    label: &str,
) {
    let p = rs.params(out.len, mean, std, 0);
    let b = vec![(counters, R), (out, W)];
    prog.push(
        Kernel::NormalFill,
        &words(&p),
        b,
        grid_1d(out.len, 64),
        label,
    );
}

pub fn uniform_fill(
    prog: &mut Program,
    rs: RandomStream,
    counters: View,
    out: View,
    lo: f32,
    hi: f32,
    label: &str,
) {
    let p = rs.params(out.len, lo, hi, 0);
    let b = vec![(counters, R), (out, W)];
    prog.push(
        Kernel::UniformFill,
        &words(&p),
        b,
        grid_1d(out.len, 64),
        label,
    );
}

/// Gathers `labels_out.len` random samples of `image_len` bytes from the packed dataset.
#[allow(clippy::too_many_arguments)]
pub fn gather_batch(
    prog: &mut Program,
    rs: RandomStream,
    counters: View,
    dataset: View,
    labels: View,
    (count, image_len): (usize, usize),
    x: View,
    labels_out: View,
    label: &str,
) -> Result {
    check(prog, label, dataset, (count * image_len).div_ceil(4))?;
    check(prog, label, labels, count.div_ceil(4))?;
    check(prog, label, x, labels_out.len * image_len)?;
    let p = rs.params(x.len, f32::from_bits(image_len as u32), 0.0, count as u32);
    let b = vec![
        (counters, R),
        (dataset, R),
        (labels, R),
        (x, W),
        (labels_out, W),
    ];
    prog.push(
        Kernel::GatherBatch,
        &words(&p),
        b,
        grid_1d(x.len, 64),
        label,
    );
    Ok(())
}

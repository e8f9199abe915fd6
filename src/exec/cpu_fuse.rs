//! Products the CPU executor runs with the activation op after them (issue 19): a dense
//! layer's forward (matmul + bias, then LeakyReLU, ReLU, tanh or sigmoid) and the backward of
//! the layer below (the input gradient's matmul, then the activation's derivative). Run as
//! recorded, the activation reads the whole product back after the GEMM's threads wrote it, the
//! half that the other core computed from that core's cache; fused, each thread applies the bias
//! and the activation to the block of out it has just computed (`cpu::matmul::Epilogue`). The
//! loops are the separate twins' own, so the results are bit for bit those of the recorded ops
//! (tests/cpu_fuse.rs). `WGPU_GAN_CPU_FUSE=0` turns it off.

use crate::cpu::activation::{ActCode, ActivationParams};
use crate::cpu::matmul::{self, Epilogue, Form, MatmulParams};
use crate::cpu::{params, CpuIo};
use crate::gpu::plan::intersects as overlap;
use crate::kernels::{Access, Kernel};
use crate::program::{OpCall, View};

/// `WGPU_GAN_CPU_FUSE=0` runs every product and activation as recorded (for comparisons).
pub const SWITCH: &str = "WGPU_GAN_CPU_FUSE";

/// A product (op `first`) and the activation after it (op `first + 1`), run as one.
#[derive(Clone, Copy, Debug)]
pub struct ProductStep {
    pub first: usize,
    pub form: Form,
    pub params: MatmulParams,
    pub act: ActCode,
    /// The activation's backward (dx = f'(saved)·out) rather than its forward (y = f(out)).
    pub backward: bool,
    pub slope: f32,
    /// The product's a, b, out, bias; the activation's saved operand (backward) and its output.
    pub a: View,
    pub b: View,
    pub out: View,
    pub bias: View,
    pub saved: Option<View>,
    pub dest: View,
}

impl ProductStep {
    /// Ops the step stands for.
    pub const LEN: usize = 2;

    /// The step's views as an op's bindings: a, b read, out written, bias read, then the
    /// backward's saved operand read and the activation's output written.
    pub fn bindings(&self) -> Vec<(View, Access)> {
        let mut b = vec![
            (self.a, Access::Read),
            (self.b, Access::Read),
            (self.out, Access::Write),
            (self.bias, Access::Read),
        ];
        b.extend(self.saved.map(|v| (v, Access::Read)));
        b.push((self.dest, Access::Write));
        b
    }

    /// Runs the step on its bindings (in `bindings()`'s order).
    pub fn run(&self, io: &mut CpuIo) {
        let (a, b, bias) = (io.f32(0), io.f32(1), io.f32(3));
        let out = io.f32_mut(2);
        let epi = if self.backward {
            Epilogue::Backward {
                act: self.act,
                slope: self.slope,
                saved: io.f32(4),
                dx: io.f32_mut(5),
            }
        } else {
            Epilogue::Forward {
                act: self.act,
                slope: self.slope,
                y: io.f32_mut(4),
            }
        };
        matmul::product(self.form, &self.params, a, b, bias, out, epi);
    }
}

/// The product steps of `ops`, in op order, leaving out the ops in `taken` (ranges of ops
/// already run as other steps).
pub fn plan(ops: &[OpCall], taken: &[std::ops::Range<usize>]) -> Vec<ProductStep> {
    if std::env::var(SWITCH).is_ok_and(|v| v == "0") {
        return Vec::new();
    }
    let free = |i: usize| !taken.iter().any(|r| r.contains(&i));
    let mut steps = Vec::new();
    let mut i = 0;
    while i + 1 < ops.len() {
        match step(ops, i).filter(|_| free(i) && free(i + 1)) {
            Some(s) => {
                steps.push(s);
                i += ProductStep::LEN;
            }
            None => i += 1,
        }
    }
    steps
}

fn form(k: Kernel) -> Option<Form> {
    match k {
        Kernel::Matmul | Kernel::MatmulVec4 => Some(Form::Plain),
        Kernel::MatmulAt | Kernel::MatmulAtVec4 => Some(Form::At),
        Kernel::MatmulBt | Kernel::MatmulBtVec4 => Some(Form::Bt),
        _ => None,
    }
}

/// Ops i (a product) and i + 1 (an activation reading exactly the product's out) as a step,
/// when running the activation on each block right after it is computed cannot change what
/// any op reads: its output and its other operand touch none of the product's views.
fn step(ops: &[OpCall], i: usize) -> Option<ProductStep> {
    let (prod, next) = (&ops[i], &ops[i + 1]);
    let form = form(prod.kernel)?;
    // The GPU planner's table: (activation, whether it is the forward).
    let (act, forward) = crate::gpu::plan::act_code(next.kernel)?;
    let backward = !forward;
    let view = |op: &OpCall, j: usize| op.bindings[j].0;
    let (a, b, out, bias) = (view(prod, 0), view(prod, 1), view(prod, 2), view(prod, 3));
    let p: MatmulParams = params(&prod.params);
    let ap: ActivationParams = params(&next.params);
    let len = (p.m * p.n) as usize;
    // The activation's operand that is the product's out, the other one it reads, its output.
    let (input, saved, dest) = if backward {
        (view(next, 1), Some(view(next, 0)), view(next, 2))
    } else {
        (view(next, 0), None, view(next, 1))
    };
    let exact = input.buf == out.buf && input.offset == out.offset;
    if !exact || ap.n as usize != len || out.len < len || dest.len < len {
        return None;
    }
    if saved.is_some_and(|s| s.len < len || overlap(s, out) || overlap(s, dest)) {
        return None;
    }
    if [a, b, out, bias].into_iter().any(|v| overlap(v, dest)) {
        return None;
    }
    Some(ProductStep {
        first: i,
        form,
        params: p,
        act,
        backward,
        slope: ap.slope,
        a,
        b,
        out,
        bias,
        saved,
        dest,
    })
}

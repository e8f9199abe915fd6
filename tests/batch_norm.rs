//! Batch normalisation on the GPU against its CPU twin (the backward also accumulating), and the
//! CPU twin's backward against finite differences.

mod common;

use common::*;
use wgpu_gan::cpu::batch_norm::{BatchNormParams, ACCUMULATE, UPDATE_RUNNING};
use wgpu_gan::gpu::variants::SERIAL_BATCH_NORM_MAX;
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops::{self, BatchNormViews};
use wgpu_gan::program::{grid_1d, Program, View};

struct BnCase {
    prog: Program,
    p: BatchNormParams,
    bn: BatchNormViews,
    x: View,
    y: View,
}

fn bn_case(n: usize, c: usize, hw: usize, training: bool) -> BnCase {
    let mut prog = Program::new();
    let len = n * c * hw;
    let x = prog.tensor("x", len);
    let y = prog.tensor("y", len);
    let bn = BatchNormViews {
        gamma_beta: prog.tensor("gamma_beta", 2 * c),
        running: prog.tensor("running", 2 * c),
        saved: prog.tensor("saved", 2 * c),
    };
    let p = BatchNormParams {
        n: n as u32,
        c: c as u32,
        hw: hw as u32,
        flags: UPDATE_RUNNING,
        eps: 1e-3,
        momentum: 0.3,
    };
    ops::batch_norm_forward(&mut prog, p, bn, x, y, training, "bn").unwrap();
    BnCase { prog, p, bn, x, y }
}

fn bn_inputs(c: &BnCase) -> Vec<(View, Vec<u32>)> {
    let ch = c.p.c as usize;
    let mut running = rand_vec(ch, 15, -0.5, 0.5);
    running.extend(rand_vec(ch, 16, 0.5, 2.0));
    vec![
        (c.x, bits(&rand_vec(c.x.len, 17, -2.0, 3.0))),
        (c.bn.gamma_beta, bits(&rand_vec(2 * ch, 18, 0.5, 1.5))),
        (c.bn.running, bits(&running)),
    ]
}

const BN_SHAPES: &[(usize, usize, usize)] =
    &[(1, 3, 1), (4, 16, 1), (32, 1024, 1), (4, 5, 9), (8, 64, 49)];

/// 71,680 values per channel: past the 65,535 loop iterations after which lavapipe silently
/// ends one invocation's loops, so a channel summed by a single invocation comes out wrong.
const BN_LONG: (usize, usize, usize) = (70, 2, 1024);

#[test]
fn batch_norm_forward_train_gpu_matches_cpu() {
    for &(n, c, hw) in BN_SHAPES {
        let case = bn_case(n, c, hw, true);
        let outs = [
            ("y", case.y),
            ("running", case.bn.running),
            ("saved", case.bn.saved),
        ];
        gpu_matches_cpu(&case.prog, &bn_inputs(&case), &outs, 1e-5, 1e-4);
    }
}

#[test]
fn batch_norm_forward_train_long_channel_gpu_matches_cpu() {
    let (n, c, hw) = BN_LONG;
    let case = bn_case(n, c, hw, true);
    let outs = [
        ("y", case.y),
        ("running", case.bn.running),
        ("saved", case.bn.saved),
    ];
    gpu_matches_cpu(&case.prog, &bn_inputs(&case), &outs, 1e-5, 1e-4);
}

#[test]
fn batch_norm_forward_eval_gpu_matches_cpu() {
    for &(n, c, hw) in BN_SHAPES {
        let case = bn_case(n, c, hw, false);
        gpu_matches_cpu(&case.prog, &bn_inputs(&case), &[("y", case.y)], 1e-5, 1e-4);
    }
}

/// The forward in training mode, then the backward with `flags` (ACCUMULATE or 0).
fn bn_backward_case(n: usize, c: usize, hw: usize, flags: u32) -> (BnCase, View, View, View) {
    let mut case = bn_case(n, c, hw, true);
    let len = n * c * hw;
    let dy = case.prog.tensor("dy", len);
    let dx = case.prog.tensor("dx", len);
    let grads = case.prog.tensor("grad_gamma_beta", 2 * c);
    let (p, bn, x) = (BatchNormParams { flags, ..case.p }, case.bn, case.x);
    ops::batch_norm_backward(&mut case.prog, p, bn, x, dy, dx, grads, "bn backward").unwrap();
    (case, dy, dx, grads)
}

/// The backward of shape (n, c, hw) with `flags` on the GPU against the CPU twin.
fn backward_gpu_matches_cpu(n: usize, c: usize, hw: usize, flags: u32) {
    let (case, dy, dx, grads) = bn_backward_case(n, c, hw, flags);
    let mut inputs = bn_inputs(&case);
    inputs.push((dy, bits(&rand_vec(dy.len, 19, -1.0, 1.0))));
    inputs.push((grads, bits(&rand_vec(grads.len, 23, -1.0, 1.0))));
    gpu_matches_cpu(
        &case.prog,
        &inputs,
        &[("dx", dx), ("grad_gamma_beta", grads)],
        1e-5,
        1e-3,
    );
}

/// Each shape plain and accumulating into grad_gamma_beta.
#[test]
fn batch_norm_backward_gpu_matches_cpu() {
    let shapes = BN_SHAPES.iter().filter(|s| s.0 * s.2 > 1);
    for (&(n, c, hw), flags) in shapes.flat_map(|s| [(s, 0), (s, ACCUMULATE)]) {
        backward_gpu_matches_cpu(n, c, hw, flags);
    }
}

#[test]
fn batch_norm_backward_long_channel_gpu_matches_cpu() {
    let (n, c, hw) = BN_LONG;
    backward_gpu_matches_cpu(n, c, hw, ACCUMULATE);
}

/// Runs every op `from` as `to` (the serial variants, whatever the adapter), one invocation
/// per channel.
fn force(prog: &mut Program, from: Kernel, to: Kernel) {
    for op in prog.ops.iter_mut().filter(|op| op.kernel == from) {
        let c = op.params[1] as usize;
        (op.kernel, op.workgroups) = (to, grid_1d(c, 64));
    }
}

/// Shapes up to the longest channel the serial kernels are given.
const SERIAL_SHAPES: &[(usize, usize, usize)] = &[
    (1, 3, 1),
    (4, 16, 1),
    (32, 1024, 1),
    (4, 5, 9),
    (64, 3, 256),
];

#[test]
fn batch_norm_forward_train_serial_gpu_matches_cpu() {
    assert_eq!(64 * 256, SERIAL_BATCH_NORM_MAX as usize);
    for &(n, c, hw) in SERIAL_SHAPES {
        let mut case = bn_case(n, c, hw, true);
        let (from, to) = (
            Kernel::BatchNormForwardTrain,
            Kernel::BatchNormForwardTrainSerial,
        );
        force(&mut case.prog, from, to);
        let outs = [
            ("y", case.y),
            ("running", case.bn.running),
            ("saved", case.bn.saved),
        ];
        gpu_matches_cpu(&case.prog, &bn_inputs(&case), &outs, 1e-5, 1e-4);
    }
}

#[test]
fn batch_norm_backward_serial_gpu_matches_cpu() {
    let shapes = SERIAL_SHAPES.iter().filter(|s| s.0 * s.2 > 1);
    for (&(n, c, hw), flags) in shapes.flat_map(|s| [(s, 0), (s, ACCUMULATE)]) {
        let (mut case, dy, dx, grads) = bn_backward_case(n, c, hw, flags);
        force(
            &mut case.prog,
            Kernel::BatchNormBackward,
            Kernel::BatchNormBackwardSerial,
        );
        let mut inputs = bn_inputs(&case);
        inputs.push((dy, bits(&rand_vec(dy.len, 19, -1.0, 1.0))));
        inputs.push((grads, bits(&rand_vec(grads.len, 23, -1.0, 1.0))));
        let outs = [("dx", dx), ("grad_gamma_beta", grads)];
        gpu_matches_cpu(&case.prog, &inputs, &outs, 1e-5, 1e-3);
    }
}

#[test]
fn batch_norm_backward_matches_finite_differences() {
    let (n, c, hw) = (4, 3, 2);
    let (case, dy, dx, grads) = bn_backward_case(n, c, hw, 0);
    let base = bn_inputs(&case);
    let r = rand_vec(n * c * hw, 20, -1.0, 1.0);
    let mut inputs = base.clone();
    inputs.push((dy, bits(&r)));
    let out = run_cpu(&case.prog, &inputs, &[dx, grads]);
    let with = |view: View, data: &[f32]| {
        let mut i = base.clone();
        i.retain(|(v, _)| *v != view);
        i.push((view, bits(data)));
        floats(&run_cpu(&case.prog, &i, &[case.y])[0])
    };
    let x0 = floats(&base[0].1);
    let gb0 = floats(&base[1].1);
    gradcheck("bn dx", |x| with(case.x, x), &x0, &r, &floats(&out[0]));
    gradcheck(
        "bn dgamma dbeta",
        |gb| with(case.bn.gamma_beta, gb),
        &gb0,
        &r,
        &floats(&out[1]),
    );
}

//! Instance normalisation on the GPU against its CPU twins, against an f64 reference, and its
//! backward against finite differences.

mod common;

use common::*;
use wgpu_gan::cpu::instance_norm::InstanceNormParams;
use wgpu_gan::gpu::variants::{self, SERIAL_INSTANCE_NORM_MAX};
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops;
use wgpu_gan::program::{grid_1d, Program, View};

/// (N, C, HW): CycleGAN's golden 3x3 and 4x4 maps, a 28x28 map, many small planes, and planes
/// of more than 65,535 values (where lavapipe ends a plain loop).
const SHAPES: &[(usize, usize, usize)] = &[
    (2, 4, 9),
    (2, 2, 16),
    (4, 32, 784),
    (1, 3000, 4),
    (1, 2, 200_000),
];

fn case((n, c, hw): (usize, usize, usize)) -> (Program, View, View, View, View) {
    let p = InstanceNormParams::new(n, c, hw, 1e-5);
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", p.len()), prog.tensor("y", p.len()));
    let (dy, dx) = (prog.tensor("dy", p.len()), prog.tensor("dx", p.len()));
    ops::instance_norm_forward(&mut prog, p, x, y, "in").unwrap();
    ops::instance_norm_backward(&mut prog, p, x, dy, dx, "in backward").unwrap();
    (prog, x, y, dy, dx)
}

#[test]
fn instance_norm_forward_gpu_matches_cpu() {
    for &s in SHAPES {
        let (prog, x, y, _, _) = case(s);
        let ins = [(x, bits(&rand_vec(x.len, 13, -2.0, 3.0)))];
        gpu_matches_cpu(&prog, &ins, &[("y", y)], 1e-5, 1e-4);
    }
}

#[test]
fn instance_norm_backward_gpu_matches_cpu() {
    for &s in SHAPES {
        let (prog, x, _, dy, dx) = case(s);
        let ins = [
            (x, bits(&rand_vec(x.len, 14, -2.0, 3.0))),
            (dy, bits(&rand_vec(dy.len, 15, -1.0, 1.0))),
        ];
        gpu_matches_cpu(&prog, &ins, &[("dx", dx)], 1e-5, 1e-3);
    }
}

/// Shapes up to the longest plane the serial kernels are given.
const SERIAL_SHAPES: &[(usize, usize, usize)] =
    &[(2, 4, 9), (16, 64, 49), (1, 3000, 4), (1, 2, 16_383)];

/// Runs every instance-norm op as its serial variant, whatever the adapter: one invocation per
/// plane.
fn force_serial(prog: &mut Program) {
    for op in prog.ops.iter_mut() {
        op.kernel = match op.kernel {
            Kernel::InstanceNormForward => Kernel::InstanceNormForwardSerial,
            Kernel::InstanceNormBackward => Kernel::InstanceNormBackwardSerial,
            k => k,
        };
        op.workgroups = grid_1d(op.params[0] as usize, 64);
    }
}

#[test]
fn instance_norm_forward_serial_gpu_matches_cpu() {
    assert_eq!(
        SERIAL_SHAPES.last().unwrap().2,
        SERIAL_INSTANCE_NORM_MAX as usize
    );
    for &s in SERIAL_SHAPES {
        let (mut prog, x, y, _, _) = case(s);
        force_serial(&mut prog);
        let ins = [(x, bits(&rand_vec(x.len, 13, -2.0, 3.0)))];
        gpu_matches_cpu(&prog, &ins, &[("y", y)], 1e-5, 1e-4);
    }
}

#[test]
fn instance_norm_backward_serial_gpu_matches_cpu() {
    for &s in SERIAL_SHAPES {
        let (mut prog, x, _, dy, dx) = case(s);
        force_serial(&mut prog);
        let ins = [
            (x, bits(&rand_vec(x.len, 14, -2.0, 3.0))),
            (dy, bits(&rand_vec(dy.len, 15, -1.0, 1.0))),
        ];
        gpu_matches_cpu(&prog, &ins, &[("dx", dx)], 1e-5, 1e-3);
    }
}

/// On a CPU adapter, planes up to SERIAL_INSTANCE_NORM_MAX values take the serial kernels,
/// longer ones the reducing ones; other adapters keep the reducing ones.
#[test]
fn instance_norm_takes_the_serial_kernels_on_cpu_adapters_for_short_planes() {
    let Some(ctx) = gpu() else { return };
    let max = SERIAL_INSTANCE_NORM_MAX as usize;
    for (hw, short) in [(784, true), (max, true), (max + 1, false)] {
        let (prog, ..) = case((1, 3, hw));
        for op in &prog.ops {
            let (kernel, grid) =
                variants::adapter_kernel(&ctx, op.kernel, &op.params, op.workgroups);
            if ctx.lavapipe_tuned() && short {
                assert!(kernel.entry().ends_with("_serial"), "{kernel:?} at {hw}");
                assert_eq!(grid, grid_1d(3, 64));
            } else {
                assert_eq!((kernel, grid), (op.kernel, op.workgroups), "{hw}");
            }
        }
    }
}

/// Each plane against (x - mean) / sqrt(biased var + 1e-5) in f64.
#[test]
fn instance_norm_matches_an_f64_reference() {
    let (prog, x, y, _, _) = case((2, 3, 5));
    let xs = rand_vec(x.len, 16, -2.0, 3.0);
    let got = floats(&run_cpu(&prog, &[(x, bits(&xs))], &[y])[0]);
    let mut want = Vec::new();
    for plane in xs.chunks(5) {
        let m = plane.iter().map(|&v| v as f64).sum::<f64>() / 5.0;
        let var = plane.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / 5.0;
        want.extend(
            plane
                .iter()
                .map(|&v| ((v as f64 - m) / (var + 1e-5).sqrt()) as f32),
        );
    }
    assert_close("instance norm", &got, &want, 1e-6, 1e-5);
}

#[test]
fn instance_norm_backward_matches_finite_differences() {
    let (prog, x, y, dy, dx) = case((2, 3, 6));
    let x0 = rand_vec(x.len, 17, -2.0, 2.0);
    let r = rand_vec(dy.len, 18, -1.0, 1.0);
    let ins = [(x, bits(&x0)), (dy, bits(&r))];
    let analytic = floats(&run_cpu(&prog, &ins, &[dx])[0]);
    let f = |xs: &[f32]| floats(&run_cpu(&prog, &[(x, bits(xs))], &[y])[0]);
    gradcheck("instance norm dx", f, &x0, &r, &analytic);
}

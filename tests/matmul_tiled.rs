//! The GPU-shaped products of shaders/matmul_tiled.wgsl against their CPU twins, on shapes that
//! leave partial tiles, plain and with each fused epilogue; and a whole training iteration with
//! them forced (`GpuOptions::kernels`, as `WGPU_GAN_KERNELS` does) against the CPU path.

mod common;

use common::{gpu_matches_cpu, matmul_epilogue_case, matmul_epilogues, rand_vec};
use std::sync::Arc;
use wgpu_gan::cpu::batch_norm::UPDATE_RUNNING;
use wgpu_gan::cpu::matmul::{MatmulParams, HAS_BIAS};
use wgpu_gan::cpu::matmul_fused::{ActCode, ACT_FORWARD_SHIFT};
use wgpu_gan::cpu::words;
use wgpu_gan::gpu::{Context, GpuOptions, GpuProgram};
use wgpu_gan::kernels::Access::{Read as R, Write as W};
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops;
use wgpu_gan::program::Program;

fn cases(kernel: Kernel, shapes: &[(usize, usize, usize)]) {
    for &s in shapes {
        for (what, flags) in matmul_epilogues(kernel) {
            matmul_epilogue_case(kernel, s, flags, what);
        }
    }
}

#[test]
fn matmul_tiled_gpu_matches_cpu() {
    cases(
        Kernel::MatmulTiled,
        &[(1, 1, 1), (65, 70, 17), (32, 784, 33)],
    );
}

#[test]
fn matmul_at_tiled_gpu_matches_cpu() {
    cases(
        Kernel::MatmulAtTiled,
        &[(3, 5, 2), (100, 66, 33), (70, 130, 17)],
    );
}

#[test]
fn matmul_bt_tiled_gpu_matches_cpu() {
    cases(
        Kernel::MatmulBtTiled,
        &[(2, 3, 5), (65, 70, 19), (32, 129, 100)],
    );
}

#[test]
fn matmul_skinny_gpu_matches_cpu() {
    cases(
        Kernel::MatmulSkinny,
        &[(1, 1, 1), (32, 17, 13), (64, 70, 35), (7, 33, 256)],
    );
}

#[test]
fn matmul_bt_skinny_gpu_matches_cpu() {
    cases(
        Kernel::MatmulBtSkinny,
        &[(1, 2, 3), (32, 17, 13), (64, 70, 35), (5, 9, 101)],
    );
}

/// matmul_bt_skinny_bn on (m, n, k) with product epilogue `flags` and batch-norm flags `bn`
/// against its twin: out, the activation's output, the normalised output and both statistics.
fn skinny_bn_case((m, n, k): (usize, usize, usize), flags: u32, bn: u32, what: &str) {
    let kernel = Kernel::MatmulBtSkinnyBn;
    let mut prog = Program::new();
    let a = prog.tensor("a", m * k);
    let b = prog.tensor("b", k * n);
    let out = prog.tensor("out", m * n);
    let bias = prog.tensor("bias", n);
    let y = prog.tensor("y", m * n);
    let gamma_beta = prog.tensor("gamma_beta", 2 * n);
    let bn_y = prog.tensor("bn_y", m * n);
    let running = prog.tensor("running", 2 * n);
    let saved = prog.tensor("saved", 2 * n);
    let p = MatmulParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        flags,
    };
    let mut w = words(&p);
    w.extend([0.2f32.to_bits(), bn, 1e-3f32.to_bits(), 0.2f32.to_bits()]);
    let binds = vec![
        (a, R),
        (b, R),
        (out, W),
        (bias, R),
        (y, W),
        (gamma_beta, R),
        (bn_y, W),
        (running, W),
        (saved, W),
    ];
    prog.push(
        kernel,
        &w,
        binds,
        ops::tiling::matmul_grid(kernel, m, n),
        what,
    );
    let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    let inputs = vec![
        (a, bits(rand_vec(m * k, 1, -1.0, 1.0))),
        (b, bits(rand_vec(k * n, 2, -1.0, 1.0))),
        (bias, bits(rand_vec(n, 3, -1.0, 1.0))),
        (gamma_beta, bits(rand_vec(2 * n, 4, 0.5, 1.5))),
        (running, bits(rand_vec(2 * n, 5, 0.0, 1.0))),
        (saved, bits(rand_vec(2 * n, 6, -1.0, 1.0))),
        (bn_y, bits(rand_vec(m * n, 7, -1.0, 1.0))),
    ];
    let label = format!("{} {m}x{n}x{k} {what}", kernel.entry());
    let outputs = [
        (label.as_str(), out),
        ("y", y),
        ("bn_y", bn_y),
        ("running", running),
        ("saved", saved),
    ];
    gpu_matches_cpu(&prog, &inputs, &outputs, 1e-5, 1e-4);
}

#[test]
fn matmul_bt_skinny_bn_gpu_matches_cpu() {
    let leaky = (ActCode::LeakyRelu as u32) << ACT_FORWARD_SHIFT | HAS_BIAS;
    let relu = (ActCode::Relu as u32) << ACT_FORWARD_SHIFT;
    for s in [(1, 3, 5), (32, 17, 13), (64, 70, 35), (7, 33, 100)] {
        skinny_bn_case(s, 0, 0, "plain, batch norm");
        skinny_bn_case(
            s,
            HAS_BIAS,
            UPDATE_RUNNING,
            "bias, batch norm updating running",
        );
        skinny_bn_case(
            s,
            leaky,
            UPDATE_RUNNING,
            "leaky_relu, batch norm updating running",
        );
        skinny_bn_case(s, relu, 0, "relu, batch norm");
    }
}

#[test]
fn matmul_at_small_k_gpu_matches_cpu() {
    cases(
        Kernel::MatmulAtSmallK,
        &[(1, 1, 1), (65, 70, 32), (100, 129, 7), (3, 2, 31)],
    );
}

#[test]
fn matmul_direct_gpu_matches_cpu() {
    cases(
        Kernel::MatmulDirect,
        &[(1, 1, 1), (32, 256, 1), (33, 70, 17), (5, 9, 101)],
    );
}

#[test]
fn matmul_at_direct_gpu_matches_cpu() {
    cases(
        Kernel::MatmulAtDirect,
        &[(1, 1, 1), (1, 256, 32), (66, 35, 33), (256, 100, 32)],
    );
}

#[test]
fn matmul_bt_direct_gpu_matches_cpu() {
    cases(
        Kernel::MatmulBtDirect,
        &[(1, 2, 3), (32, 1, 256), (65, 70, 19), (7, 33, 100)],
    );
}

/// The seed MLP with the GPU-shaped kernels forced: fusion cuts its dispatches per iteration by
/// a third or more (tests/golden.rs runs the golden iterations with them).
#[test]
fn forced_tiled_kernels_cut_the_seed_dispatches_by_a_third() {
    forced_kernels_cut_the_seed_dispatches_by_a_third(&[
        Kernel::MatmulBtSkinnyBn,
        Kernel::MatmulSkinny,
        Kernel::MatmulBtSkinny,
        Kernel::MatmulAtSmallK,
        Kernel::MatmulTiled,
        Kernel::MatmulAtTiled,
        Kernel::MatmulBtTiled,
    ]);
}

/// The same with the subgroup kernels' epilogues, where the device has them (lavapipe: the
/// kernels autotuning picks there).
#[test]
fn forced_subgroup_kernels_cut_the_seed_dispatches_by_a_third() {
    let Some(ctx) = common::gpu() else { return };
    if !ctx.subgroup_kernels() {
        eprintln!(
            "\n*** SKIPPING: {} runs no subgroup kernels ***\n",
            ctx.describe()
        );
        return;
    }
    // Products the subgroup kernels cannot take (k or m not a multiple of 4, n of 8: D's
    // one-wide logit layer) run the tiled ones.
    forced_kernels_cut_the_seed_dispatches_by_a_third(&[
        Kernel::MatmulSubgroup,
        Kernel::MatmulAtSubgroup,
        Kernel::MatmulBtSubgroup,
        Kernel::MatmulAtSmallK,
        Kernel::MatmulSkinny,
        Kernel::MatmulBtSkinny,
    ]);
}

fn forced_kernels_cut_the_seed_dispatches_by_a_third(kernels: &[Kernel]) {
    let Some(shared) = common::gpu() else { return };
    let opts = GpuOptions {
        kernels: Some(kernels.to_vec()),
        ..Default::default()
    };
    let ctx = Arc::new(Context::new(&opts).expect("a second context"));
    drop(shared);
    let cfg = wgpu_gan::train::TrainConfig::default();
    let ds = cfg.data.load().expect("embedded data");
    let gan = cfg.program(ds.count, ds.image_len()).expect("program");
    let gpu = GpuProgram::new(&ctx, &gan.prog).expect("plan");
    let it = gan.iteration.clone();
    let before = it.len();
    let after = gpu.dispatches(it);
    eprintln!("seed MLP dispatches per iteration with {kernels:?}: {before} -> {after}");
    assert!(
        3 * after <= 2 * before,
        "fusion should cut a third of {before} dispatches, left {after}"
    );
}

#[test]
fn batch_norm_backward_act_gpu_matches_cpu() {
    bn_act_cases(Kernel::BatchNormBackwardAct);
}

/// The serial variant (CPU adapters, channels of at most 16,384 values), one invocation per
/// channel.
#[test]
fn batch_norm_backward_act_serial_gpu_matches_cpu() {
    bn_act_cases(Kernel::BatchNormBackwardActSerial);
}

fn bn_act_cases(k: Kernel) {
    use wgpu_gan::cpu::batch_norm::{BatchNormParams, ACCUMULATE as BN_ACCUMULATE};
    let serial = k == Kernel::BatchNormBackwardActSerial;
    for (n, c, hw, flags, code) in [
        (32, 70, 1, 0, ActCode::LeakyRelu),
        (5, 3, 9, BN_ACCUMULATE, ActCode::Tanh),
        (4, 8, 4, 0, ActCode::Relu),
        (7, 2, 1, 0, ActCode::Sigmoid),
        // 71,680 values per channel: past lavapipe's 65,535 loop iterations per invocation.
        (70, 2, 1024, BN_ACCUMULATE, ActCode::LeakyRelu),
    ] {
        if serial && n * hw > wgpu_gan::gpu::variants::SERIAL_BATCH_NORM_MAX as usize {
            continue;
        }
        let len = n * c * hw;
        let mut prog = Program::new();
        let t = |prog: &mut Program, name: &str, len: usize| prog.tensor(name, len);
        let [x, dy, gb, saved, dx, grads, dx2, saved2] = [
            ("x", len),
            ("dy", len),
            ("gamma_beta", 2 * c),
            ("saved", 2 * c),
            ("dx", len),
            ("grads", 2 * c),
            ("dx2", len),
            ("saved2", len),
        ]
        .map(|(name, l)| t(&mut prog, name, l));
        let p = BatchNormParams {
            n: n as u32,
            c: c as u32,
            hw: hw as u32,
            flags,
            eps: 1e-5,
            momentum: 0.1,
        };
        let mut w = words(&p);
        w.extend([0.2f32.to_bits(), code as u32]);
        let binds = vec![
            (x, R),
            (dy, R),
            (gb, R),
            (saved, R),
            (dx, W),
            (grads, W),
            (dx2, W),
            (saved2, R),
        ];
        let grid = if serial {
            wgpu_gan::program::grid_1d(c, 64)
        } else {
            ops::batch_norm_grid(c)
        };
        prog.push(k, &w, binds, grid, "bn act");
        let mut stats = rand_vec(c, 7, -0.5, 0.5);
        stats.extend(rand_vec(c, 8, 0.5, 2.0));
        let inputs = vec![
            (x, common::bits(&rand_vec(len, 1, -1.0, 1.0))),
            (dy, common::bits(&rand_vec(len, 2, -1.0, 1.0))),
            (gb, common::bits(&rand_vec(2 * c, 3, -1.0, 1.0))),
            (saved, common::bits(&stats)),
            (grads, common::bits(&rand_vec(2 * c, 4, -1.0, 1.0))),
            (saved2, common::bits(&rand_vec(len, 5, -1.0, 1.0))),
        ];
        let outputs = [("dx", dx), ("grads", grads), ("dx2", dx2)];
        gpu_matches_cpu(&prog, &inputs, &outputs, 1e-5, 1e-4);
    }
}

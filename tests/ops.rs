//! Every op of the engine on the GPU against its CPU twin (`<entry>_gpu_matches_cpu`), plus
//! finite-difference checks of the CPU twins' backward passes.

mod common;

use common::*;
use wgpu_gan::cpu;
use wgpu_gan::cpu::matmul::{MatmulParams, ACCUMULATE};
use wgpu_gan::cpu::matmul_fused::BIAS_GRAD;
use wgpu_gan::gpu::{adapters, variants, GpuOptions, PORTABLE_KERNELS_ENV};
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops::{self, Activation, Loss, Transpose};
use wgpu_gan::program::{Program, View};

/// Shapes: degenerate, not multiples of any tile, and the seed MLP GAN's own products. Odd
/// lengths run the general kernels, multiples of 4 the vec4 ones (`ops::tiling`).
const MATMUL_SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 7, 3),
    (5, 7, 3),
    (33, 65, 17),
    (37, 101, 203),
    (36, 100, 20),
    (32, 256, 100),
    (32, 784, 1024),
    (512, 784, 32),
];

fn matmul_case(t: Transpose, (m, n, k): (usize, usize, usize), bias: bool, flags: u32) {
    let mut prog = Program::new();
    let a = prog.tensor("a", m * k);
    let b = prog.tensor("b", k * n);
    let out = prog.tensor("out", m * n);
    let bias_v = bias.then(|| prog.tensor("bias", n));
    ops::matmul(&mut prog, t, a, b, bias_v, out, (m, n, k), flags, "matmul").unwrap();
    let mut inputs = vec![
        (a, bits(&rand_vec(m * k, 1, -1.0, 1.0))),
        (b, bits(&rand_vec(k * n, 2, -1.0, 1.0))),
        (out, bits(&rand_vec(m * n, 3, -1.0, 1.0))),
    ];
    if let Some(v) = bias_v {
        inputs.push((v, bits(&rand_vec(n, 4, -1.0, 1.0))));
    }
    let what = format!("{t:?} {m}x{n}x{k}");
    gpu_matches_cpu(
        &prog,
        &inputs,
        &[(&what, out)],
        1e-5,
        1e-4 * (k as f32).sqrt(),
    );
}

#[test]
fn matmul_gpu_matches_cpu() {
    for &s in MATMUL_SHAPES {
        matmul_case(Transpose::None, s, false, 0);
    }
    matmul_case(Transpose::None, (9, 10, 11), true, ACCUMULATE);
}

#[test]
fn matmul_at_gpu_matches_cpu() {
    for &s in MATMUL_SHAPES {
        matmul_case(Transpose::A, s, false, 0);
    }
    matmul_case(Transpose::A, (512, 784, 32), false, ACCUMULATE);
}

#[test]
fn matmul_bt_gpu_matches_cpu() {
    for &s in MATMUL_SHAPES {
        matmul_case(Transpose::B, s, true, 0);
    }
    matmul_case(Transpose::B, (3, 5, 2), false, 0);
}

/// The kernel `ops::matmul` records for a product of this shape.
fn chosen_kernel(t: Transpose, (m, n, k): (usize, usize, usize)) -> Kernel {
    let mut prog = Program::new();
    let a = prog.tensor("a", m * k);
    let b = prog.tensor("b", k * n);
    let out = prog.tensor("out", m * n);
    ops::matmul(&mut prog, t, a, b, None, out, (m, n, k), 0, "matmul").unwrap();
    prog.ops[0].kernel
}

/// Shapes for the vec4 kernels: one vec4, rows not a multiple of 4 where allowed, partial
/// workgroup tiles both ways, and seed GAN products; each plain and with bias and accumulation.
fn matmul_vec4_cases(t: Transpose, want: Kernel, shapes: &[(usize, usize, usize)]) {
    for &s in shapes {
        assert_eq!(chosen_kernel(t, s), want, "{t:?} {s:?}");
        matmul_case(t, s, false, 0);
        matmul_case(t, s, true, ACCUMULATE);
    }
}

#[test]
fn matmul_vec4_gpu_matches_cpu() {
    let shapes = [
        (4, 4, 4),
        (3, 8, 4),
        (70, 132, 36),
        (32, 100, 256),
        (32, 1024, 784),
    ];
    matmul_vec4_cases(Transpose::None, Kernel::MatmulVec4, &shapes);
}

#[test]
fn matmul_at_vec4_gpu_matches_cpu() {
    let shapes = [
        (4, 4, 1),
        (4, 8, 3),
        (68, 132, 33),
        (256, 100, 32),
        (784, 1024, 32),
    ];
    matmul_vec4_cases(Transpose::A, Kernel::MatmulAtVec4, &shapes);
}

#[test]
fn matmul_bt_vec4_gpu_matches_cpu() {
    let shapes = [
        (4, 4, 4),
        (3, 8, 4),
        (70, 132, 36),
        (32, 256, 100),
        (32, 784, 1024),
    ];
    matmul_vec4_cases(Transpose::B, Kernel::MatmulBtVec4, &shapes);
}

/// The subgroup kernels (`gpu::variants`) run where the vec4 ones were recorded and out's rows
/// are a multiple of 8 long, on CPU adapters with subgroups of 8 or more and 64-bit integers
/// (lavapipe on AVX machines: CI). `matmul_case` also runs the portable kernels on a second
/// context and compares both with the CPU twin.
fn matmul_subgroup_cases(t: Transpose, want: Kernel, shapes: &[(usize, usize, usize)]) {
    let Some(ctx) = gpu() else { return };
    if !ctx.subgroup_kernels() {
        // A wiring regression must not pass as a skip: the adapter itself says whether it can.
        let turned_off = GpuOptions::default().wants_portable_kernels();
        let adapter = adapters(&GpuOptions::default()).into_iter().next();
        let capable = adapter.is_some_and(|a| {
            a.features()
                .contains(wgpu::Features::SUBGROUP | wgpu::Features::SHADER_INT64)
                && a.get_info().subgroup_min_size >= variants::MIN_SUBGROUP_SIZE
                && a.get_info().device_type == wgpu::DeviceType::Cpu
        });
        assert!(
            !capable || turned_off,
            "{} has subgroups of {}+ but programs do not use the subgroup kernels",
            ctx.describe(),
            variants::MIN_SUBGROUP_SIZE
        );
        let why = if turned_off {
            format!("{PORTABLE_KERNELS_ENV} is set")
        } else {
            format!(
                "{} is not a CPU adapter with subgroups of {}+ and 64-bit integers",
                ctx.describe(),
                variants::MIN_SUBGROUP_SIZE
            )
        };
        eprintln!("\n*** SKIPPING {want:?}: {why} ***\n");
        return;
    }
    for &s in shapes {
        let mut prog = Program::new();
        let (m, n, k) = s;
        let a = prog.tensor("a", m * k);
        let b = prog.tensor("b", k * n);
        let out = prog.tensor("out", m * n);
        ops::matmul(&mut prog, t, a, b, None, out, s, 0, "matmul").unwrap();
        let op = &prog.ops[0];
        let (kernel, grid) = variants::adapter_kernel(&ctx, op.kernel, &op.params, op.workgroups);
        if n % variants::OUT_FLOATS_PER_STORE as usize != 0 {
            // Their stores are eight floats wide: the vec4 kernel keeps such products.
            assert_eq!((kernel, grid), (op.kernel, op.workgroups), "{t:?} {s:?}");
            assert!(!uses_variants(&ctx, &prog));
            continue;
        }
        assert_eq!(kernel, want, "{t:?} {s:?}");
        // 32x64 tiles; 64x64 for the weight gradients' kernel.
        let rows = if t == Transpose::A { 64 } else { 32 };
        let tile = [n.div_ceil(64) as u32, m.div_ceil(rows) as u32, 1];
        assert_eq!(grid, tile, "{t:?} {s:?}");
        assert!(uses_variants(&ctx, &prog));
        // Each combination of flags is its own pipeline (`variants::pipeline_flags`).
        matmul_case(t, s, false, 0);
        matmul_case(t, s, true, 0);
        matmul_case(t, s, false, ACCUMULATE);
        matmul_case(t, s, true, ACCUMULATE);
        // The fused epilogues (`gpu::plan`), on the kernel itself; the bias gradient's stores
        // are eight floats wide too. The largest shapes are covered plain above.
        if m * n * k > 1 << 20 {
            continue;
        }
        for (what, flags) in matmul_epilogues(want) {
            if flags & BIAS_GRAD == 0 || m % 8 == 0 {
                matmul_epilogue_case(want, s, flags, what);
            }
        }
    }
}

#[test]
fn matmul_subgroup_gpu_matches_cpu() {
    let shapes = [
        (4, 8, 4),
        (1, 8, 8),
        (3, 8, 4),
        (41, 72, 12),
        (70, 136, 36),
        (41, 68, 12),
        (32, 512, 1024),
    ];
    matmul_subgroup_cases(Transpose::None, Kernel::MatmulSubgroup, &shapes);
}

#[test]
fn matmul_at_subgroup_gpu_matches_cpu() {
    let shapes = [
        (4, 8, 1),
        (4, 8, 3),
        (8, 8, 2),
        (36, 72, 5),
        (136, 80, 33),
        (132, 200, 33),
        (68, 132, 33),
        (1024, 512, 32),
    ];
    matmul_subgroup_cases(Transpose::A, Kernel::MatmulAtSubgroup, &shapes);
}

#[test]
fn matmul_bt_subgroup_gpu_matches_cpu() {
    let shapes = [
        (4, 8, 4),
        (1, 8, 8),
        (3, 8, 4),
        (41, 72, 12),
        (70, 136, 36),
        (70, 132, 36),
        (32, 1024, 512),
    ];
    matmul_subgroup_cases(Transpose::B, Kernel::MatmulBtSubgroup, &shapes);
}

/// Without subgroups, or with `GpuOptions::portable_kernels`, every op runs as recorded.
#[test]
fn portable_kernels_run_as_recorded() {
    let Some(ctx) = gpu_portable().or_else(gpu) else {
        return;
    };
    assert!(!ctx.subgroup_kernels(), "{}", ctx.kernel_set());
    for kernel in [
        Kernel::MatmulVec4,
        Kernel::MatmulAtVec4,
        Kernel::MatmulBtVec4,
    ] {
        let params = [64u32, 64, 64, 0];
        let grid = [1, 2, 1];
        assert_eq!(
            variants::adapter_kernel(&ctx, kernel, &params, grid),
            (kernel, grid)
        );
    }
}

#[test]
fn matmul_takes_the_general_kernel_when_rows_do_not_split_into_vec4s() {
    // The seed discriminator's last layer: forward, input gradient, weight gradient.
    assert_eq!(chosen_kernel(Transpose::B, (32, 1, 256)), Kernel::MatmulBt);
    assert_eq!(chosen_kernel(Transpose::None, (32, 256, 1)), Kernel::Matmul);
    assert_eq!(chosen_kernel(Transpose::A, (1, 256, 32)), Kernel::MatmulAt);
    for t in [Transpose::None, Transpose::A, Transpose::B] {
        assert!(!chosen_kernel(t, (37, 101, 203)).entry().ends_with("_vec4"));
    }
    assert_eq!(chosen_kernel(Transpose::None, (3, 8, 6)), Kernel::Matmul);
    assert_eq!(chosen_kernel(Transpose::A, (6, 8, 4)), Kernel::MatmulAt);
    assert_eq!(chosen_kernel(Transpose::B, (4, 6, 4)), Kernel::MatmulBt);
    assert_eq!(chosen_kernel(Transpose::B, (4, 4, 0)), Kernel::MatmulBt);
}

#[test]
fn bias_grad_gpu_matches_cpu() {
    for (m, n, flags) in [(1, 1, 0), (32, 256, 0), (7, 100, ACCUMULATE)] {
        let mut prog = Program::new();
        let dy = prog.tensor("dy", m * n);
        let db = prog.tensor("db", n);
        ops::bias_grad(&mut prog, dy, db, m, flags, "bias_grad").unwrap();
        let inputs = [
            (dy, bits(&rand_vec(m * n, 5, -1.0, 1.0))),
            (db, bits(&rand_vec(n, 6, -1.0, 1.0))),
        ];
        gpu_matches_cpu(&prog, &inputs, &[("db", db)], 1e-5, 1e-5);
    }
}

#[test]
fn matmul_backward_matches_finite_differences() {
    let (m, n, k) = (3, 4, 5);
    let a = rand_vec(m * k, 7, -1.0, 1.0);
    let w = rand_vec(n * k, 8, -1.0, 1.0);
    let r = rand_vec(m * n, 9, -1.0, 1.0);
    let none = [0.0f32; 1];
    let fwd = |a: &[f32], w: &[f32]| {
        let mut y = vec![0.0; m * n];
        let p = MatmulParams {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            flags: 0,
        };
        cpu::matmul::matmul_bt(&p, a, w, &none, &mut y);
        y
    };
    // dA = dY · W, dW = dYᵀ · A
    let mut da = vec![0.0; m * k];
    let p = MatmulParams {
        m: m as u32,
        n: k as u32,
        k: n as u32,
        flags: 0,
    };
    cpu::matmul::matmul(&p, &r, &w, &none, &mut da);
    let mut dw = vec![0.0; n * k];
    let p = MatmulParams {
        m: n as u32,
        n: k as u32,
        k: m as u32,
        flags: 0,
    };
    cpu::matmul::matmul_at(&p, &r, &a, &none, &mut dw);
    gradcheck("matmul dA", |a| fwd(a, &w), &a, &r, &da);
    gradcheck("matmul dW", |w| fwd(&a, w), &w, &r, &dw);
    let mut db = vec![0.0; n];
    let p = MatmulParams {
        m: m as u32,
        n: n as u32,
        k: 0,
        flags: 0,
    };
    cpu::matmul::bias_grad(&p, &r, &mut db);
    let bias0 = vec![0.0f32; n];
    let with_bias = |b: &[f32]| {
        let mut y = vec![0.0; m * n];
        let p = MatmulParams {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            flags: 1,
        };
        cpu::matmul::matmul_bt(&p, &a, &w, b, &mut y);
        y
    };
    gradcheck("bias_grad", with_bias, &bias0, &r, &db);
}

const ACTIVATIONS: &[Activation] = &[
    Activation::LeakyRelu(0.2),
    Activation::Relu,
    Activation::Tanh,
    Activation::Sigmoid,
];

fn activation_forward_case(act: Activation) {
    for n in [1, 63, 65, 32 * 784] {
        let mut prog = Program::new();
        let x = prog.tensor("x", n);
        let y = prog.tensor("y", n);
        ops::activation_forward(&mut prog, act, x, y, "fwd").unwrap();
        let inputs = [(x, bits(&rand_vec(n, 10, -3.0, 3.0)))];
        gpu_matches_cpu(
            &prog,
            &inputs,
            &[(&format!("{act:?} forward"), y)],
            1e-6,
            1e-5,
        );
    }
}

fn activation_backward_case(act: Activation) {
    for n in [1, 63, 65, 32 * 784] {
        let mut prog = Program::new();
        let s = prog.tensor("saved", n);
        let dy = prog.tensor("dy", n);
        let dx = prog.tensor("dx", n);
        ops::activation_backward(&mut prog, act, s, dy, dx, "bwd").unwrap();
        let inputs = [
            (s, bits(&rand_vec(n, 11, -1.0, 1.0))),
            (dy, bits(&rand_vec(n, 12, -1.0, 1.0))),
        ];
        gpu_matches_cpu(
            &prog,
            &inputs,
            &[(&format!("{act:?} backward"), dx)],
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn leaky_relu_forward_gpu_matches_cpu() {
    activation_forward_case(ACTIVATIONS[0]);
}
#[test]
fn leaky_relu_backward_gpu_matches_cpu() {
    activation_backward_case(ACTIVATIONS[0]);
}
#[test]
fn relu_forward_gpu_matches_cpu() {
    activation_forward_case(ACTIVATIONS[1]);
}
#[test]
fn relu_backward_gpu_matches_cpu() {
    activation_backward_case(ACTIVATIONS[1]);
}
#[test]
fn tanh_forward_gpu_matches_cpu() {
    activation_forward_case(ACTIVATIONS[2]);
}
#[test]
fn tanh_backward_gpu_matches_cpu() {
    activation_backward_case(ACTIVATIONS[2]);
}
#[test]
fn sigmoid_forward_gpu_matches_cpu() {
    activation_forward_case(ACTIVATIONS[3]);
}
#[test]
fn sigmoid_backward_gpu_matches_cpu() {
    activation_backward_case(ACTIVATIONS[3]);
}

/// Runs one activation forward on the CPU through a one-op program.
fn act_cpu(act: Activation, x: &[f32]) -> Vec<f32> {
    let mut prog = Program::new();
    let xv = prog.tensor("x", x.len());
    let yv = prog.tensor("y", x.len());
    ops::activation_forward(&mut prog, act, xv, yv, "fwd").unwrap();
    floats(&run_cpu(&prog, &[(xv, bits(x))], &[yv])[0])
}

#[test]
fn activation_backward_matches_finite_differences() {
    // Keep x away from the kinks at 0, where finite differences straddle two slopes.
    let x: Vec<f32> = rand_vec(20, 13, 0.1, 2.0)
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { *v } else { -*v })
        .collect();
    let r = rand_vec(20, 14, -1.0, 1.0);
    for &act in ACTIVATIONS {
        let saved = if act.backward_uses_output() {
            act_cpu(act, &x)
        } else {
            x.clone()
        };
        let mut prog = Program::new();
        let (s, dy, dx) = (
            prog.tensor("s", 20),
            prog.tensor("dy", 20),
            prog.tensor("dx", 20),
        );
        ops::activation_backward(&mut prog, act, s, dy, dx, "bwd").unwrap();
        let got = floats(&run_cpu(&prog, &[(s, bits(&saved)), (dy, bits(&r))], &[dx])[0]);
        gradcheck(&format!("{act:?}"), |x| act_cpu(act, x), &x, &r, &got);
    }
}

fn loss_case(kind: Loss, n: usize, target: f32) -> (Program, View, View, View) {
    let mut prog = Program::new();
    let pred = prog.tensor("pred", n);
    let grad = prog.tensor("grad", n);
    let metrics = prog.tensor("metrics", 3);
    ops::loss(&mut prog, kind, pred, grad, metrics, 0, target, 1.0, "loss").unwrap();
    (prog, pred, grad, metrics)
}

fn loss_gpu_case(kind: Loss) {
    for (n, t) in [(1, 1.0), (32, 0.0), (100, 1.0), (256, 0.9)] {
        let (prog, pred, grad, metrics) = loss_case(kind, n, t);
        let inputs = [(pred, bits(&rand_vec(n, 21, -4.0, 4.0)))];
        loss_gpu_matches_cpu(&prog, &inputs, grad, metrics);
    }
}

#[test]
fn bce_with_logits_gpu_matches_cpu() {
    loss_gpu_case(Loss::BceWithLogits);
}

#[test]
fn mse_loss_gpu_matches_cpu() {
    loss_gpu_case(Loss::Mse);
}

#[test]
fn losses_match_finite_differences_and_known_values() {
    for kind in [Loss::BceWithLogits, Loss::Mse] {
        let (prog, pred, grad, metrics) = loss_case(kind, 6, 1.0);
        let x = rand_vec(6, 22, -2.0, 2.0);
        let out = run_cpu(&prog, &[(pred, bits(&x))], &[grad]);
        let loss_of =
            |x: &[f32]| floats(&run_cpu(&prog, &[(pred, bits(x))], &[metrics])[0])[..1].to_vec();
        gradcheck(&format!("{kind:?}"), loss_of, &x, &[1.0], &floats(&out[0]));
    }
    // BCE of logit 0 against any target is ln 2; accuracy counts logit > 0 as "real".
    let (prog, pred, _, metrics) = loss_case(Loss::BceWithLogits, 2, 1.0);
    let m = floats(&run_cpu(&prog, &[(pred, bits(&[0.0, 5.0]))], &[metrics])[0]);
    let want = (std::f32::consts::LN_2 + (1.0 + (-5.0f32).exp()).ln()) / 2.0;
    assert_close("bce value", &m, &[want, 0.5, 1.0], 1e-6, 1e-6);
}

//! The shared test harness: one GPU context, one comparison, one gradient check, one way to run
//! a program on both executors.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use wgpu_gan::cpu::matmul::{MatmulParams, ACCUMULATE, HAS_BIAS};
use wgpu_gan::cpu::matmul_fused::{
    ActCode, ACT_BACKWARD_SHIFT, ACT_FORWARD_SHIFT, BIAS_GRAD, BIAS_GRAD_ACCUMULATE,
};
use wgpu_gan::cpu::words;
use wgpu_gan::exec::CpuProgram;
use wgpu_gan::gpu::variants::adapter_kernel;
use wgpu_gan::gpu::{Context, GpuOptions, GpuProgram};
use wgpu_gan::kernels::Access::{Read as R, Write as W};
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops::tiling::matmul_grid;
use wgpu_gan::program::{Program, View};

/// The shared GPU context, or None (with a loud message) when the machine has no adapter.
/// Set WGPU_GAN_REQUIRE_GPU=1 (CI does) to turn a missing adapter into a failure.
pub fn gpu() -> Option<Arc<Context>> {
    static CTX: OnceLock<Option<Arc<Context>>> = OnceLock::new();
    CTX.get_or_init(|| match Context::new(&GpuOptions::default()) {
        Ok(ctx) => {
            eprintln!("GPU tests run on {}", ctx.describe());
            Some(Arc::new(ctx))
        }
        Err(e) => {
            if std::env::var_os("WGPU_GAN_REQUIRE_GPU").is_some() {
                panic!("WGPU_GAN_REQUIRE_GPU is set but no adapter exists: {e}");
            }
            eprintln!("\n*** SKIPPING GPU TESTS: {e} ***\n");
            None
        }
    })
    .clone()
}

/// A second context on the same adapter that runs the portable kernels only
/// (`GpuOptions::portable_kernels`), or None when the shared one already does (no subgroups).
pub fn gpu_portable() -> Option<Arc<Context>> {
    static CTX: OnceLock<Option<Arc<Context>>> = OnceLock::new();
    CTX.get_or_init(|| {
        if !gpu()?.subgroup_kernels() {
            return None;
        }
        let opts = GpuOptions {
            portable_kernels: true,
            ..Default::default()
        };
        let ctx = Context::new(&opts).expect("a second context on the same adapter");
        assert!(!ctx.subgroup_kernels());
        Some(Arc::new(ctx))
    })
    .clone()
}

/// Whether `ctx` runs some op of `prog` as its own variant of the kernel (`gpu::variants`).
pub fn uses_variants(ctx: &Context, prog: &Program) -> bool {
    prog.ops
        .iter()
        .any(|op| adapter_kernel(ctx, op.kernel, &op.params, op.workgroups).0 != op.kernel)
}

/// Deterministic values in [lo, hi) from a small LCG (tests need no rand crate).
pub fn rand_vec(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

pub fn bits(v: &[f32]) -> Vec<u32> {
    bytemuck::cast_slice(v).to_vec()
}

pub fn floats(v: &[u32]) -> Vec<f32> {
    bytemuck::cast_slice(v).to_vec()
}

/// |got - want| <= abs + rel * |want| everywhere; on failure prints the first mismatches and
/// the worst one with its index.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], abs: f32, rel: f32) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs {}",
        got.len(),
        want.len()
    );
    let mut bad = Vec::new();
    let mut count = 0usize;
    let mut worst = (0usize, 0.0f32);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        let ok = err <= abs + rel * w.abs() || (g.is_nan() && w.is_nan());
        if !ok {
            count += 1;
            if bad.len() < 5 {
                bad.push(format!("[{i}] got {g} want {w}"));
            }
            let excess = if err.is_nan() {
                f32::INFINITY
            } else {
                err / (abs + rel * w.abs())
            };
            if excess > worst.1 {
                worst = (i, excess);
            }
        }
    }
    if !bad.is_empty() {
        let (i, x) = worst;
        panic!(
            "{what}: {} of {} values differ (abs {abs}, rel {rel}); first: {}; worst [{i}] got {} \
             want {} ({x:.1}x the tolerance)",
            count,
            got.len(),
            bad.join(", "),
            got[i],
            want[i]
        );
    }
}

/// Runs `prog` on the CPU twins after writing `inputs`, and returns `outputs`.
pub fn run_cpu(prog: &Program, inputs: &[(View, Vec<u32>)], outputs: &[View]) -> Vec<Vec<u32>> {
    let mut cpu = CpuProgram::new(prog);
    for (v, data) in inputs {
        cpu.write(*v, data);
    }
    cpu.run(prog);
    outputs.iter().map(|v| cpu.read(*v)).collect()
}

pub fn run_gpu(
    ctx: &Context,
    prog: &Program,
    inputs: &[(View, Vec<u32>)],
    outputs: &[View],
) -> Vec<Vec<u32>> {
    let gpu = GpuProgram::new(ctx, prog).expect("plan program");
    for (v, data) in inputs {
        gpu.write(ctx, *v, data);
    }
    gpu.run(ctx, 0..gpu.len(), 1);
    outputs
        .iter()
        .map(|v| gpu.read(ctx, *v).expect("read back"))
        .collect()
}

/// Runs on both executors and compares every output as f32. Where the device swaps in its own
/// kernels for some ops (subgroups), the portable kernels run and are compared as well.
#[track_caller]
pub fn gpu_matches_cpu(
    prog: &Program,
    inputs: &[(View, Vec<u32>)],
    outputs: &[(&str, View)],
    abs: f32,
    rel: f32,
) {
    let Some(ctx) = gpu() else { return };
    let views: Vec<View> = outputs.iter().map(|(_, v)| *v).collect();
    let want = run_cpu(prog, inputs, &views);
    let mut runs = vec![("", ctx.clone())];
    if uses_variants(&ctx, prog) {
        runs.extend(gpu_portable().map(|p| (" (portable kernels)", p)));
    }
    for (set, ctx) in runs {
        let got = run_gpu(&ctx, prog, inputs, &views);
        for (((name, _), g), w) in outputs.iter().zip(&got).zip(&want) {
            assert_close(&format!("{name}{set}"), &floats(g), &floats(w), abs, rel);
        }
    }
}

/// [`gpu_matches_cpu`] for a loss op: its input gradient and metrics, at the loss tests' common
/// tolerance.
#[track_caller]
pub fn loss_gpu_matches_cpu(
    prog: &Program,
    inputs: &[(View, Vec<u32>)],
    grad: View,
    metrics: View,
) {
    let outputs = [("grad", grad), ("metrics", metrics)];
    gpu_matches_cpu(prog, inputs, &outputs, 1e-6, 1e-5);
}

/// Central finite differences of L(x) = Σ f(x)·r against the analytic gradient `dx`
/// (the backward pass applied to r). f runs in f64 internally via the caller's f32 twin, so
/// the step is large and the tolerance loose.
#[track_caller]
pub fn gradcheck(what: &str, f: impl Fn(&[f32]) -> Vec<f32>, x: &[f32], r: &[f32], dx: &[f32]) {
    let h = 1e-2f32;
    let loss = |x: &[f32]| -> f64 { f(x).iter().zip(r).map(|(&y, &r)| y as f64 * r as f64).sum() };
    let numeric: Vec<f32> = (0..x.len())
        .map(|i| {
            let mut xp = x.to_vec();
            let mut xm = x.to_vec();
            xp[i] += h;
            xm[i] -= h;
            ((loss(&xp) - loss(&xm)) / (2.0 * h as f64)) as f32
        })
        .collect();
    assert_close(what, dx, &numeric, 2e-2, 2e-2);
}

/// The fused epilogues of a product kernel to try: (name, flag bits); the bias gradient where
/// `kernel` has it.
pub fn matmul_epilogues(kernel: Kernel) -> Vec<(&'static str, u32)> {
    let mut e = vec![
        ("plain", 0),
        ("bias", HAS_BIAS),
        ("accumulate", ACCUMULATE),
        (
            "leaky_relu",
            (ActCode::LeakyRelu as u32) << ACT_FORWARD_SHIFT | HAS_BIAS,
        ),
        ("tanh", (ActCode::Tanh as u32) << ACT_FORWARD_SHIFT),
        ("sigmoid", (ActCode::Sigmoid as u32) << ACT_FORWARD_SHIFT),
        ("relu", (ActCode::Relu as u32) << ACT_FORWARD_SHIFT),
        (
            "d leaky_relu",
            (ActCode::LeakyRelu as u32) << ACT_BACKWARD_SHIFT,
        ),
        ("d tanh", (ActCode::Tanh as u32) << ACT_BACKWARD_SHIFT),
    ];
    if matches!(
        kernel,
        Kernel::MatmulAtSmallK | Kernel::MatmulAtSubgroup | Kernel::MatmulAtDirect
    ) {
        e.push(("bias grad", BIAS_GRAD));
        e.push(("bias grad accumulate", BIAS_GRAD | BIAS_GRAD_ACCUMULATE));
    }
    e
}

/// `kernel` on (m, n, k) with epilogue `flags` against its CPU twin, out and y; a and b's lengths for out (m,n) with contraction k: all are m*k and k*n whatever the layout.
pub fn matmul_epilogue_case(
    kernel: Kernel,
    (m, n, k): (usize, usize, usize),
    flags: u32,
    what: &str,
) {
    let mut prog = Program::new();
    let a = prog.tensor("a", m * k);
    let b = prog.tensor("b", k * n);
    let out = prog.tensor("out", m * n);
    let bias = prog.tensor("bias", n);
    let y_len = if flags & BIAS_GRAD != 0 { m } else { m * n };
    let y = prog.tensor("y", y_len);
    let saved = prog.tensor("saved", m * n);
    let p = MatmulParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        flags,
    };
    let mut w = words(&p);
    w.push(0.2f32.to_bits());
    let binds = vec![(a, R), (b, R), (out, W), (bias, R), (y, W), (saved, R)];
    prog.push(kernel, &w, binds, matmul_grid(kernel, m, n), what);
    let inputs = vec![
        (a, bits(&rand_vec(m * k, 1, -1.0, 1.0))),
        (b, bits(&rand_vec(k * n, 2, -1.0, 1.0))),
        (bias, bits(&rand_vec(n, 3, -1.0, 1.0))),
        (out, bits(&rand_vec(m * n, 4, -1.0, 1.0))),
        (y, bits(&rand_vec(y_len, 5, -1.0, 1.0))),
        (saved, bits(&rand_vec(m * n, 6, -1.0, 1.0))),
    ];
    let label = format!("{} {m}x{n}x{k} {what}", kernel.entry());
    let outputs = [(label.as_str(), out), ("y", y)];
    gpu_matches_cpu(&prog, &inputs, &outputs, 1e-5, 1e-4);
}

/// The binary with the fixed kernel choice (no timing, no cache: tests/tune.rs covers
/// autotuning) and a runtime dir for Mesa's loader.
pub fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

/// Runs `c`, which must not panic, whatever its exit status.
pub fn run(c: &mut std::process::Command) -> std::process::Output {
    let out = c.output().expect("spawn wgpu-gan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    out
}

/// Runs `c`, which must succeed; returns its standard error (the progress and log lines).
pub fn ok(c: &mut std::process::Command) -> String {
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "wgpu-gan failed: {err}");
    err
}

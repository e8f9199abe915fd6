//! Engine benchmarks: each section times GPU kernels and their CPU twins in one run and prints a
//! table. `cargo bench --bench engine` (about a minute on a 2-core lavapipe machine).
//!
//! Benchmarks measure, tests assert (house rule 10): nothing here checks results; the kernels'
//! correctness lives in tests/ops.rs. To add a section, write `fn <name>_section(bench: &Bench)`
//! and call it from `main`; time things with `seconds_per_rep`.

use std::time::Instant;
use wgpu_gan::cpu::matmul::{MatmulParams, HAS_BIAS};
use wgpu_gan::cpu::{self, words};
use wgpu_gan::gpu::{Context, GpuOptions, GpuProgram};
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops::{tiling, Transpose};
use wgpu_gan::program::{Access, Program};

/// Seconds of timed work per measurement (split into three batches; the best one counts).
const BUDGET_S: f64 = 0.3;

/// What every section shares: the GPU context, when the machine has an adapter.
struct Bench {
    gpu: Option<Context>,
}

fn main() {
    let gpu = match Context::new(&GpuOptions::default()) {
        Ok(ctx) => {
            println!("adapter: {}", ctx.describe());
            Some(ctx)
        }
        Err(e) => {
            println!("no GPU adapter ({e}); timing the CPU twins only");
            None
        }
    };
    // Other processes share the CPU that lavapipe and the twins run on; say how busy it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let one_minute = load.split_whitespace().next().unwrap_or("?");
        println!("load average {one_minute} on {cpus} CPUs");
    }
    let bench = Bench { gpu };
    matmul_section(&bench);
}

/// Seconds per repetition of `run(reps)`: one warm-up call (pipelines, caches, thread pools),
/// one call to size the batches, then the best of three batches of about `BUDGET_S / 3` each.
fn seconds_per_rep(mut run: impl FnMut(usize)) -> f64 {
    run(1);
    let start = Instant::now();
    run(1);
    let once = start.elapsed().as_secs_f64().max(1e-7);
    let reps = ((BUDGET_S / 3.0 / once) as usize).clamp(1, 10_000);
    (0..3)
        .map(|_| {
            let start = Instant::now();
            run(reps);
            start.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Deterministic, non-trivial inputs (the values do not change the timing).
fn filled(len: usize) -> Vec<f32> {
    (0..len).map(|i| (i % 17) as f32 * 0.0625 - 0.5).collect()
}

/// (m, n, k) of one product.
type Shape = (usize, usize, usize);

/// The seed MLP GAN's Linear layers as (in, out): G 100-256-512-1024-784, D 784-512-256-1.
const SEED_LAYERS: [(usize, usize); 7] = [
    (100, 256),
    (256, 512),
    (512, 1024),
    (1024, 784),
    (784, 512),
    (512, 256),
    (256, 1),
];
const BATCH: usize = 32;

/// Every product of one training step with the seed GAN (forward `matmul_bt` x·Wᵀ, input
/// gradient `matmul` dy·W, weight gradient `matmul_at` dyᵀ·x), each followed by 512³.
fn matmul_cases() -> Vec<(Transpose, Shape)> {
    let mut cases = Vec::new();
    for t in [Transpose::B, Transpose::None, Transpose::A] {
        for (input, output) in SEED_LAYERS {
            cases.push((
                t,
                match t {
                    Transpose::B => (BATCH, output, input),
                    Transpose::None => (BATCH, input, output),
                    Transpose::A => (output, input, BATCH),
                },
            ));
        }
        cases.push((t, (512, 512, 512)));
    }
    cases
}

fn general_kernel(t: Transpose) -> Kernel {
    match t {
        Transpose::None => Kernel::Matmul,
        Transpose::A => Kernel::MatmulAt,
        Transpose::B => Kernel::MatmulBt,
    }
}

/// The forward product adds a bias; gradients are plain products.
fn matmul_flags(t: Transpose) -> u32 {
    if t == Transpose::B {
        HAS_BIAS
    } else {
        0
    }
}

/// GFLOP/s of every matmul kernel that can run each shape, on the GPU (many dispatches in one
/// submission) and of the CPU twin; `*` marks the kernel `ops::matmul` picks.
fn matmul_section(bench: &Bench) {
    println!("\nmatmul: GFLOP/s (2mnk flops); GPU us per dispatch, dispatches queued back to back");
    println!(
        "{:<10} {:>5} {:>5} {:>5}  {:<16} {:>9} {:>9} {:>9}",
        "op", "m", "n", "k", "kernel", "GPU", "GPU us", "CPU twin"
    );
    for (t, shape) in matmul_cases() {
        let (m, n, k) = shape;
        let gflop = 2.0 * (m * n * k) as f64 * 1e-9;
        let cpu = gflop / cpu_matmul_seconds(t, shape);
        let chosen = tiling::matmul_kernel(t, shape);
        let mut kernels = vec![general_kernel(t)];
        if chosen != general_kernel(t) {
            kernels.push(chosen);
        }
        for (i, &kernel) in kernels.iter().enumerate() {
            let mark = if kernel == chosen { " *" } else { "" };
            let (gpu, us) = match &bench.gpu {
                Some(ctx) => {
                    let s = gpu_matmul_seconds(ctx, kernel, t, shape);
                    (format!("{:.2}", gflop / s), format!("{:.0}", s * 1e6))
                }
                None => ("-".into(), "-".into()),
            };
            let cpu = if i == 0 {
                format!("{cpu:.2}")
            } else {
                String::new()
            };
            let op = if i == 0 {
                general_kernel(t).entry()
            } else {
                ""
            };
            println!(
                "{op:<10} {m:>5} {n:>5} {k:>5}  {:<16} {gpu:>9} {us:>9} {cpu:>9}",
                format!("{}{mark}", kernel.entry())
            );
        }
    }
}

/// Seconds per dispatch of `kernel` on one product of `shape`.
fn gpu_matmul_seconds(ctx: &Context, kernel: Kernel, t: Transpose, (m, n, k): Shape) -> f64 {
    let mut prog = Program::new();
    let a = prog.tensor("a", m * k);
    let b = prog.tensor("b", k * n);
    let out = prog.tensor("out", m * n);
    let bias = prog.tensor("bias", n);
    let p = MatmulParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        flags: matmul_flags(t),
    };
    let bindings = vec![
        (a, Access::Read),
        (b, Access::Read),
        (out, Access::Write),
        (bias, Access::Read),
    ];
    let groups = tiling::matmul_grid(kernel, m, n);
    prog.push(kernel, &words(&p), bindings, groups, "bench");
    let gpu = GpuProgram::new(ctx, &prog).expect("plan the benchmark program");
    for v in [a, b, bias] {
        gpu.write_f32(ctx, v, &filled(v.len));
    }
    seconds_per_rep(|reps| {
        gpu.run(ctx, 0..1, reps);
        GpuProgram::wait(ctx).expect("GPU work finishes");
    })
}

/// Seconds per call of the CPU twin on one product of `shape`.
fn cpu_matmul_seconds(t: Transpose, (m, n, k): Shape) -> f64 {
    let (a, b, bias) = (filled(m * k), filled(k * n), filled(n));
    let mut out = vec![0.0f32; m * n];
    let p = MatmulParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        flags: matmul_flags(t),
    };
    let twin = match t {
        Transpose::None => cpu::matmul::matmul,
        Transpose::A => cpu::matmul::matmul_at,
        Transpose::B => cpu::matmul::matmul_bt,
    };
    seconds_per_rep(|reps| {
        for _ in 0..reps {
            twin(&p, &a, &b, &bias, &mut out);
        }
    })
}

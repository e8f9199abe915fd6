//! Engine benchmarks: each section times the GPU and the CPU path in one run and prints a table.
//! `cargo bench --bench engine` (one to one and a half minutes on a 2-core lavapipe machine); name
//! sections to run only those: `cargo bench --bench engine -- train`.
//!
//! Benchmarks measure, tests assert (house rule 10): nothing here checks results; the kernels'
//! correctness lives in tests/ops.rs. To add a section, write `fn <name>_section(bench: &Bench)`
//! and add it to `SECTIONS`; time things with `seconds_per_rep`.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;
use wgpu_gan::cpu::matmul::{MatmulParams, HAS_BIAS};
use wgpu_gan::cpu::{self, words};
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::gpu::variants::adapter_kernel;
use wgpu_gan::gpu::{Context, GpuOptions, GpuProgram};
use wgpu_gan::kernels::Access;
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops::{tiling, Transpose};
use wgpu_gan::program::{Program, View};
use wgpu_gan::train::{upload_extra_datasets, upload_initial_state, ModelKind, TrainConfig};

/// Seconds of timed work per measurement (split into three batches; the best one counts).
const BUDGET_S: f64 = 0.3;

/// What every section shares: the GPU context, when the machine has an adapter.
struct Bench {
    /// The adapter as programs use it, with its own kernels where it has them (`gpu::variants`).
    gpu: Option<Arc<Context>>,
    /// The same adapter with the portable kernels only, when that is a different kernel set.
    portable: Option<Arc<Context>>,
    /// The same adapter with autotuning (`--tune cached`: the user's cache, timing what is not
    /// in it within WGPU_GAN_TUNE_BUDGET_MS).
    tuned: Option<Arc<Context>>,
}

impl Bench {
    /// The context that runs portable kernels as recorded.
    fn portable_ctx(&self) -> Option<&Context> {
        self.portable.as_deref().or(self.gpu.as_deref())
    }
}

type Section = (&'static str, fn(&Bench));
const SECTIONS: &[Section] = &[
    ("matmul", matmul_section),
    ("conv", conv_section),
    ("train", train_section),
];

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    // compare.py --cpu-only: the CPU path alone (lavapipe's rows take most of a train round).
    let cpu_only = std::env::var_os("WGPU_GAN_BENCH_CPU_ONLY").is_some();
    let context = if cpu_only {
        Err("WGPU_GAN_BENCH_CPU_ONLY is set".to_string())
    } else {
        Context::new(&GpuOptions::default()).map_err(|e| e.to_string())
    };
    let gpu = match context {
        Ok(ctx) => {
            println!("adapter: {} | {}", ctx.describe(), ctx.kernel_set());
            Some(Arc::new(ctx))
        }
        Err(e) => {
            println!("no GPU adapter ({e}); timing the CPU path only");
            None
        }
    };
    let portable = gpu.as_ref().filter(|ctx| ctx.subgroup_kernels()).map(|_| {
        let opts = GpuOptions {
            portable_kernels: true,
            ..Default::default()
        };
        Arc::new(Context::new(&opts).expect("a second context on the adapter"))
    });
    let tuned = gpu.as_ref().map(|_| {
        let opts = GpuOptions {
            tune: wgpu_gan::gpu::tune::TuneMode::Cached,
            ..Default::default()
        };
        Arc::new(Context::new(&opts).expect("a third context on the adapter"))
    });
    print_load("at start");
    let bench = Bench {
        gpu,
        portable,
        tuned,
    };
    for (name, section) in SECTIONS {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            section(&bench);
        }
    }
    print_load("at end");
}

/// Other processes share the CPU that lavapipe and the CPU path run on; say how busy it was.
fn print_load(when: &str) {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let one_minute = load.split_whitespace().next().unwrap_or("?");
        println!("load average {one_minute} on {cpus} CPUs {when}");
    }
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
fn matmul_cases(real_gpu: bool) -> Vec<(Transpose, Shape)> {
    let mut cases = Vec::new();
    // The issue-17 targets on a real GPU: 1024³ and 4096³ (minutes on lavapipe, so not there).
    if real_gpu {
        for t in [Transpose::None, Transpose::A, Transpose::B] {
            cases.push((t, (1024, 1024, 1024)));
            cases.push((t, (4096, 4096, 4096)));
        }
    }
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
/// submission) and of the CPU twin; `*` marks the kernel a program runs on this adapter: the one
/// `ops::matmul` picks, or the adapter's variant of it.
fn matmul_section(bench: &Bench) {
    println!("\nmatmul: GFLOP/s (2mnk flops); GPU us per dispatch, dispatches queued back to back");
    println!(
        "{:<10} {:>5} {:>5} {:>5}  {:<20} {:>9} {:>9} {:>9}",
        "op", "m", "n", "k", "kernel", "GPU", "GPU us", "CPU twin"
    );
    let real_gpu = bench
        .gpu
        .as_ref()
        .is_some_and(|c| wgpu_gan::exec::is_real_gpu(c.info.device_type));
    for (t, shape) in matmul_cases(real_gpu) {
        let (m, n, k) = shape;
        let gflop = 2.0 * (m * n * k) as f64 * 1e-9;
        let cpu = gflop / cpu_matmul_seconds(t, shape);
        let chosen = tiling::matmul_kernel(t, shape);
        // (kernel, the context that runs it as is)
        let mut kernels = vec![(general_kernel(t), bench.portable_ctx())];
        if chosen != general_kernel(t) {
            kernels.push((chosen, bench.portable_ctx()));
        }
        let params = words(&MatmulParams {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            flags: matmul_flags(t),
        });
        let grid = tiling::matmul_grid(chosen, m, n);
        let runs = match bench.gpu.as_deref() {
            Some(ctx) => adapter_kernel(ctx, chosen, &params, grid).0,
            None => chosen,
        };
        if runs != chosen {
            kernels.push((runs, bench.gpu.as_deref()));
        }
        // Every other candidate autotuning times for this product (`gpu::plan`).
        if let Some(ctx) = bench.gpu.as_deref() {
            let p: MatmulParams = cpu::params(&params);
            for k in wgpu_gan::gpu::plan::candidates(ctx, chosen, &p, &params) {
                if !kernels.iter().any(|(have, _)| *have == k) {
                    kernels.push((k, Some(ctx)));
                }
            }
        }
        for (i, &(kernel, ctx)) in kernels.iter().enumerate() {
            let mark = if kernel == runs { " *" } else { "" };
            let (gpu, us) = match ctx {
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
                "{op:<10} {m:>5} {n:>5} {k:>5}  {:<20} {gpu:>9} {us:>9} {cpu:>9}",
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
    let mut bindings = vec![
        (a, Access::Read),
        (b, Access::Read),
        (out, Access::Write),
        (bias, Access::Read),
    ];
    let mut w = words(&p);
    // The kernels with epilogues also bind y and saved (unused here), as big as the program's
    // stand-ins: the subgroup ones read and write 8 floats at a time.
    if kernel.bindings().len() == 6 {
        let words = (wgpu_gan::gpu::variants::UNUSED_BINDING_BYTES / 4) as usize;
        let (y, saved) = (prog.tensor("y", words), prog.tensor("saved", words));
        bindings.extend([(y, Access::Write), (saved, Access::Read)]);
        w.push(0);
    }
    let groups = tiling::matmul_grid(kernel, m, n);
    prog.push(kernel, &w, bindings, groups, "bench");
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

/// Seconds of timed training per measurement (after warm-up; one window, not the best of three).
const TRAIN_BUDGET_S: f64 = 2.0;
/// Iterations recorded into one submission before waiting, as the trainer does.
const TRAIN_CHUNK: usize = 20;

/// `(what, it/s)` an it/s is compared with.
type Reference = (&'static str, f64);

/// One recipe to time, and what its it/s is held against on the adapter and on the CPU path.
struct TrainCase {
    name: &'static str,
    cfg: TrainConfig,
    adapter_refs: &'static [Reference],
    cpu_refs: &'static [Reference],
    /// Timed on the CPU path only where the adapter is a CPU one (lavapipe): SRGAN, CycleGAN and
    /// DVD-GAN take 15 s to minutes per iteration there.
    heavy: bool,
}

/// The recipes (`WGPU_GAN_BENCH_MODELS=srgan,dvdgan` picks some by name): the seed MLP GAN at
/// batch 32 (targets from the issue: lavapipe >= 10 it/s; the CPU path >= 48 it/s, PyTorch's
/// CPU speed on the 2-core reference machine; the seed's Keras 8.2 it/s) and at 64 and 256; the
/// 28x28 DCGAN at 32, 64 (its recipe's batch) and 256; the seed MLP's relatives cgan, acgan,
/// infogan (batch 32) and wgan-gp (batch 64) at their recipes' defaults; then SRGAN, CycleGAN and
/// DVD-GAN (heavy). Every recipe has a PyTorch twin in benches/pytorch_reference.py (or
/// pytorch_families.py) under the same name. A new model goes here as one more `TrainCase` from
/// `TrainConfig::for_model`.
fn train_cases() -> Vec<TrainCase> {
    let mlp = |batch_size| TrainConfig {
        batch_size,
        ..TrainConfig::default()
    };
    let mut cases = vec![TrainCase {
        name: "mlp",
        cfg: mlp(32),
        adapter_refs: &[("target (lavapipe)", 10.0), ("Keras", 8.2)],
        cpu_refs: &[("target = PyTorch CPU", 48.0), ("Keras", 8.2)],
        heavy: false,
    }];
    for batch in [64, 256] {
        cases.push(TrainCase {
            name: "mlp",
            cfg: mlp(batch),
            adapter_refs: &[],
            cpu_refs: &[],
            heavy: false,
        });
    }
    for batch_size in [32, 64, 256] {
        cases.push(TrainCase {
            name: "dcgan",
            cfg: TrainConfig {
                batch_size,
                ..TrainConfig::for_model(ModelKind::Dcgan)
            },
            adapter_refs: &[],
            cpu_refs: &[],
            heavy: false,
        });
    }
    // The seed MLP's relatives at their recipes' defaults (cgan, acgan and infogan: the seed
    // schedule at batch 32; wgan-gp: 5 critic steps per G step at batch 64).
    let relatives = [
        ("cgan", ModelKind::Cgan),
        ("acgan", ModelKind::Acgan),
        ("infogan", ModelKind::Infogan),
        ("wgan-gp", ModelKind::WganGp),
    ];
    for (name, model) in relatives {
        cases.push(TrainCase {
            name,
            cfg: TrainConfig::for_model(model),
            adapter_refs: &[],
            cpu_refs: &[],
            heavy: false,
        });
    }
    // The new families at their defaults (SRGAN: a GAN iteration, x4, batch 16; CycleGAN: its
    // recipe's batch 1 and the batch 16; DVD-GAN: 16 clips of 8 frames at 32x32).
    let families = [
        ("srgan", ModelKind::Srgan, None),
        ("cyclegan", ModelKind::Cyclegan, None),
        ("cyclegan", ModelKind::Cyclegan, Some(16)),
        ("dvdgan", ModelKind::Dvdgan, None),
    ];
    for (name, model, batch) in families {
        let defaults = TrainConfig::for_model(model);
        cases.push(TrainCase {
            name,
            cfg: TrainConfig {
                batch_size: batch.unwrap_or(defaults.batch_size),
                ..defaults
            },
            adapter_refs: &[],
            cpu_refs: &[],
            heavy: true,
        });
    }
    cases
}

/// Training iterations per second of whole recipes (data gather, noise, G and D forward and
/// backward, Adam), on the adapter with its own kernels, with the portable ones (batch 32), and
/// on the CPU path; the state starts as the trainer's does.
fn train_section(bench: &Bench) {
    println!(
        "\ntraining: iterations/s on the embedded MNIST, {TRAIN_CHUNK} iterations per submission \
         then a wait (as the trainer); ~{TRAIN_BUDGET_S} s timed after warm-up; cores: this \
         process's CPU seconds (all threads) per second, lower when other work shares the CPUs"
    );
    println!(
        "{:<8} {:>5}  {:<28} {:>8} {:>9} {:>6} {:>5}  reference",
        "model", "batch", "executor", "it/s", "ms/it", "cores", "timed"
    );
    let mut first_case = true;
    let wanted: Vec<String> = std::env::var("WGPU_GAN_BENCH_MODELS")
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    for case in train_cases() {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == case.name) {
            continue;
        }
        let sets = case.cfg.datasets().expect("the recipe's datasets load");
        let ds = &sets[0];
        let gan = case.cfg.program_for(&sets).expect("the recipe builds");
        let mut runs: Vec<(String, Box<dyn Executor>, &[Reference])> = Vec::new();
        let on_adapter = |ctx: &Arc<Context>| !(case.heavy && ctx.lavapipe_tuned());
        if let Some(ctx) = bench.gpu.as_ref().filter(|c| on_adapter(c)) {
            let exec = GpuExec::new(Arc::clone(ctx), &gan.prog).expect("plan on the adapter");
            let what = format!("adapter, {}", short_kernel_set(ctx));
            runs.push((what, Box::new(exec), case.adapter_refs));
        }
        if let Some(ctx) = bench.tuned.as_ref().filter(|c| on_adapter(c)) {
            let exec = GpuExec::new(Arc::clone(ctx), &gan.prog).expect("plan on the adapter");
            let what = "adapter, autotuned".to_string();
            runs.push((what, Box::new(exec), case.adapter_refs));
        }
        if let Some(ctx) = bench
            .portable
            .as_ref()
            .filter(|c| first_case && on_adapter(c))
        {
            let exec = GpuExec::new(Arc::clone(ctx), &gan.prog).expect("plan on the adapter");
            let what = "adapter, portable kernels".to_string();
            runs.push((what, Box::new(exec), case.adapter_refs));
        }
        runs.push((
            "CPU path".into(),
            Box::new(CpuExec::new(&gan.prog)),
            case.cpu_refs,
        ));
        first_case = false;
        for (what, mut exec, refs) in runs {
            upload_initial_state(exec.as_mut(), &gan, ds, &case.cfg);
            upload_extra_datasets(exec.as_mut(), &gan, &sets);
            let speed = iterations_per_second(exec.as_mut(), &gan.iteration);
            let per_s = speed.per_second;
            let cores = speed.cores.map_or("-".into(), |c| format!("{c:.2}"));
            let reference: Vec<String> = refs
                .iter()
                .map(|(label, at)| format!("{label} {at}: {:.2}x", per_s / at))
                .collect();
            let reference = reference.join(", ");
            println!(
                "{:<8} {:>5}  {what:<28} {per_s:>8.2} {:>9.1} {cores:>6} {:>5}  {reference}",
                case.name,
                case.cfg.batch_size,
                1e3 / per_s,
                speed.timed
            );
        }
    }
}

/// "subgroup matmuls" or "portable kernels", without the sizes.
fn short_kernel_set(ctx: &Context) -> &'static str {
    if ctx.subgroup_kernels() {
        "subgroup matmuls"
    } else {
        "portable kernels"
    }
}

/// Runs `n` iterations in chunks of `TRAIN_CHUNK`, waiting for the device after each.
fn run_iterations(exec: &mut dyn Executor, iteration: &Range<usize>, n: usize) {
    let mut left = n;
    while left > 0 {
        let chunk = left.min(TRAIN_CHUNK);
        exec.run(iteration.clone(), chunk).expect("iterations run");
        exec.wait().expect("the device finishes");
        left -= chunk;
    }
}

/// What one training measurement found.
struct TrainSpeed {
    per_second: f64,
    /// CPU seconds of this whole process (lavapipe's threads included) per wall second: the
    /// cores the run got; under the machine's count when other work shares them or threads idle.
    cores: Option<f64>,
    timed: usize,
}

/// One warm-up iteration and one timed to size the run, then about `TRAIN_BUDGET_S` of
/// iterations; a recipe slower than `TRAIN_BUDGET_S / 2` per iteration is timed on that one
/// iteration alone.
fn iterations_per_second(exec: &mut dyn Executor, iteration: &Range<usize>) -> TrainSpeed {
    run_iterations(exec, iteration, 1);
    let mut timed = |n: usize| {
        let cpu = process_cpu_seconds();
        let start = Instant::now();
        run_iterations(exec, iteration, n);
        let wall = start.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds().zip(cpu).map(|(b, a)| b - a);
        TrainSpeed {
            per_second: n as f64 / wall,
            cores: cpu.map(|c| c / wall),
            timed: n,
        }
    };
    let once = timed(1);
    if once.per_second <= 2.0 / TRAIN_BUDGET_S {
        return once;
    }
    timed(((TRAIN_BUDGET_S * once.per_second) as usize).clamp(2, 2000))
}

/// CPU seconds used so far by this process, all threads (Linux; None elsewhere).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command name's ')': field 3 (state) onwards; utime and stime are fields 14, 15,
    // in clock ticks of 1/100 s.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One conv layer of `--model dcgan` at batch 64: a label and a one-layer forward program
/// (lowered to im2col/col2im + matmul by the builders, exactly as training records it).
fn conv_cases() -> Vec<(String, Program)> {
    use wgpu_gan::cpu::conv2d::Conv2dGeometry;
    use wgpu_gan::cpu::conv_transpose2d::ConvTranspose2dGeometry;
    use wgpu_gan::ops::conv;
    let down = |c_in, h, c_out| Conv2dGeometry {
        n: 64,
        c_in,
        h,
        w: h,
        c_out,
        kh: 4,
        kw: 4,
        stride: 2,
        pad: 1,
    };
    let up = |c_in, h, c_out| ConvTranspose2dGeometry {
        n: 64,
        c_in,
        h,
        w: h,
        c_out,
        kh: 4,
        kw: 4,
        stride: 2,
        pad: 1,
        output_padding: 0,
    };
    // (layer, pass) -> one program; passes: forward, input gradient, weight gradient.
    let mut cases = Vec::new();
    let passes = ["forward", "input grad", "weight grad"];
    for (layer, g) in [
        ("D down1 conv 1->64 28->14", down(1, 28, 64)),
        ("D down2 conv 64->128 14->7", down(64, 14, 128)),
    ] {
        for pass in passes {
            let lens = (g.x_len(), g.w_len(), g.y_len());
            cases.push(conv_case(layer, pass, lens, |p, x, w, y| match pass {
                "forward" => conv::conv2d_forward(p, g, x, w, None, y, layer),
                "input grad" => conv::conv2d_input_grad(p, g, y, w, x, layer),
                _ => conv::conv2d_weight_grad(p, g, x, y, w, 0, layer),
            }));
        }
    }
    for (layer, g) in [
        ("G up1 convT 128->64 7->14", up(128, 7, 64)),
        ("G up2 convT 64->1 14->28", up(64, 14, 1)),
    ] {
        for pass in passes {
            let lens = (g.x_len(), g.w_len(), g.y_len());
            cases.push(conv_case(layer, pass, lens, |p, x, w, y| match pass {
                "forward" => conv::conv_transpose2d_forward(p, g, x, w, None, y, layer),
                "input grad" => conv::conv_transpose2d_input_grad(p, g, y, w, x, layer),
                _ => conv::conv_transpose2d_weight_grad(p, g, x, y, w, 0, layer),
            }));
        }
    }
    cases
}

/// One pass of one conv layer: tensors x, w, y of lengths `lens`, and `record` the op.
fn conv_case(
    layer: &str,
    pass: &str,
    (x_len, w_len, y_len): (usize, usize, usize),
    record: impl FnOnce(&mut Program, View, View, View) -> wgpu_gan::ops::Result,
) -> (String, Program) {
    let mut p = Program::new();
    let (x, w, y) = (
        p.tensor("x", x_len),
        p.tensor("w", w_len),
        p.tensor("y", y_len),
    );
    record(&mut p, x, w, y).expect("conv shape");
    (format!("{layer} {pass}"), p)
}

/// GFLOP/s of each DCGAN conv shape (forward, batch 64) on the adapter and the CPU path.
fn conv_section(bench: &Bench) {
    println!("\n== conv passes, --model dcgan shapes at batch 64 (im2col / col2im + matmul) ==");
    println!(
        "{:<42} {:>12} {:>12}",
        "layer and pass", "GPU GFLOP/s", "CPU GFLOP/s"
    );
    for (name, prog) in conv_cases() {
        let flops: f64 = prog.ops.iter().filter_map(wgpu_gan::profile::flops).sum();
        let all = 0..prog.ops.len();
        let gpu = bench.gpu.as_deref().map(|ctx| {
            let g = GpuProgram::new(ctx, &prog).expect("plan conv");
            seconds_per_rep(|reps| {
                g.run(ctx, all.clone(), reps);
                GpuProgram::wait(ctx).expect("wait");
            })
        });
        let mut cpu_exec = CpuExec::new(&prog);
        let cpu = seconds_per_rep(|reps| cpu_exec.run(all.clone(), reps).expect("cpu run"));
        let rate = |s: f64| format!("{:.1}", flops / s / 1e9);
        println!(
            "{name:<42} {:>12} {:>12}",
            gpu.map_or("-".into(), rate),
            rate(cpu)
        );
    }
}

//! `wgpu-gan profile`: where an iteration's time goes, per op and per phase, from GPU timestamp
//! queries, plus the host's share (encode, submit, wait), and a Chrome trace for Perfetto.

use crate::cpu::conv2d::ConvParams;
use crate::cpu::matmul::MatmulParams;
use crate::cpu::params;
use crate::exec::{Executor, GpuExec};
use crate::gpu::{Context, GpuError, GpuOptions};
use crate::kernels::Kernel;
use crate::program::OpCall;
use crate::train::{upload_initial_state, TrainConfig, TrainError};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Floating-point operations of one call, where the op is a product (2 per multiply-add).
pub fn flops(op: &OpCall) -> Option<f64> {
    match op.kernel {
        Kernel::Matmul
        | Kernel::MatmulAt
        | Kernel::MatmulBt
        | Kernel::MatmulVec4
        | Kernel::MatmulAtVec4
        | Kernel::MatmulBtVec4
        | Kernel::MatmulSubgroup
        | Kernel::MatmulAtSubgroup
        | Kernel::MatmulBtSubgroup
        | Kernel::MatmulTiled
        | Kernel::MatmulAtTiled
        | Kernel::MatmulBtTiled
        | Kernel::MatmulSkinny
        | Kernel::MatmulBtSkinny
        | Kernel::MatmulBtSkinnyBn
        | Kernel::MatmulAtSmallK
        | Kernel::MatmulDirect
        | Kernel::MatmulAtDirect
        | Kernel::MatmulBtDirect => {
            let p: MatmulParams = params(&op.params);
            Some(2.0 * p.m as f64 * p.n as f64 * p.k as f64)
        }
        Kernel::Conv2dForward | Kernel::Conv2dInputGrad | Kernel::Conv2dWeightGrad => {
            let p: ConvParams = params(&op.params);
            let outputs = p.n as f64 * p.c_out as f64 * p.h_out as f64 * p.w_out as f64;
            Some(2.0 * outputs * p.c_in as f64 * p.kh as f64 * p.kw as f64)
        }
        Kernel::ConvTranspose2dForward
        | Kernel::ConvTranspose2dInputGrad
        | Kernel::ConvTranspose2dWeightGrad => {
            let p: ConvParams = params(&op.params);
            let inputs = p.n as f64 * p.c_in as f64 * p.h as f64 * p.w as f64;
            Some(2.0 * inputs * p.c_out as f64 * p.kh as f64 * p.kw as f64)
        }
        _ => None,
    }
}

/// Host-side time per iteration, in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostTimes {
    pub encode_ms: f64,
    pub submit_ms: f64,
    pub wait_ms: f64,
}

pub struct Profile {
    pub adapter: String,
    /// Timed on the GPU (timestamp queries), or on the CPU path (wall clock per op).
    pub on_gpu: bool,
    /// (op index, mean GPU ms) over the iteration's ops.
    pub op_ms: Vec<(usize, f64)>,
    /// The kernel each op of the program ran as: its own or the device's variant
    /// (`gpu::variants`).
    pub kernels: Vec<Kernel>,
    pub host: HostTimes,
    pub iterations: usize,
    /// Dispatches of one iteration, and how many ops it has (one dispatch each before fusion).
    pub dispatches: usize,
    pub ops: usize,
    /// CPU path: the mean wall time of an iteration run as training runs it, independent ops
    /// side by side on the pool (`exec::cpu`'s graph), in ms.
    pub as_trained_ms: Option<f64>,
}

/// Runs `warmup` iterations, then times `iterations`: on the GPU with timestamp queries and the
/// host clock; on the CPU path (`cfg.device`) op by op with the wall clock.
pub fn profile(
    cfg: &TrainConfig,
    gpu: &GpuOptions,
    warmup: usize,
    iterations: usize,
) -> Result<(Profile, crate::train::schedule::GanProgram), TrainError> {
    let sets = cfg.datasets()?;
    let gan = cfg.program_for(&sets)?;
    if crate::exec::resolve(cfg.device, gpu) == crate::exec::DeviceKind::Cpu {
        let p = profile_cpu(cfg, &gan, &sets, warmup, iterations)?;
        return Ok((p, gan));
    }
    let ctx = Arc::new(Context::new(gpu)?);
    let mut exec = GpuExec::new(Arc::clone(&ctx), &gan.prog)?;
    upload_initial_state(&mut exec, &gan, &sets[0], cfg);
    crate::train::upload_extra_datasets(&mut exec, &gan, &sets);
    exec.run(gan.iteration.clone(), warmup)?;
    exec.wait()?;
    let times = exec
        .gpu
        .op_times(&ctx, gan.iteration.clone(), iterations)?
        .ok_or_else(|| GpuError::Runtime(format!("{} has no timestamp queries", ctx.describe())))?;
    let mut host = HostTimes::default();
    for _ in 0..iterations {
        let t0 = Instant::now();
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        exec.gpu.record(&mut encoder, gan.iteration.clone());
        let buffer = encoder.finish();
        let t1 = Instant::now();
        ctx.queue.submit([buffer]);
        let t2 = Instant::now();
        exec.wait()?;
        let t3 = Instant::now();
        host.encode_ms += (t1 - t0).as_secs_f64() * 1e3;
        host.submit_ms += (t2 - t1).as_secs_f64() * 1e3;
        host.wait_ms += (t3 - t2).as_secs_f64() * 1e3;
    }
    let n = iterations.max(1) as f64;
    host = HostTimes {
        encode_ms: host.encode_ms / n,
        submit_ms: host.submit_ms / n,
        wait_ms: host.wait_ms / n,
    };
    // The kernel that ran each op: a fused pair's product shows its fused kernel.
    let kernels = (0..gan.prog.ops.len())
        .map(|i| {
            let (own, fused) = exec.gpu.kernel_of(i);
            fused.unwrap_or(own)
        })
        .collect();
    let dispatches = exec.gpu.dispatches(gan.iteration.clone());
    let op_ms = gan
        .iteration
        .clone()
        .zip(times)
        .map(|(i, ns)| (i, ns / 1e6))
        .collect();
    Ok((
        Profile {
            adapter: ctx.describe(),
            on_gpu: true,
            op_ms,
            kernels,
            host,
            iterations,
            dispatches,
            ops: gan.iteration.len(),
            as_trained_ms: None,
        },
        gan,
    ))
}

/// The CPU path, one op at a time: each op's mean wall time; the host line holds the whole
/// iteration as "wait".
fn profile_cpu(
    cfg: &TrainConfig,
    gan: &crate::train::schedule::GanProgram,
    sets: &[crate::data::Dataset],
    warmup: usize,
    iterations: usize,
) -> Result<Profile, TrainError> {
    let mut exec = crate::exec::CpuExec::new(&gan.prog);
    upload_initial_state(&mut exec, gan, &sets[0], cfg);
    crate::train::upload_extra_datasets(&mut exec, gan, sets);
    exec.run(gan.iteration.clone(), warmup)?;
    let mut op_ms: Vec<(usize, f64)> = gan.iteration.clone().map(|i| (i, 0.0)).collect();
    // A step fused on the CPU path (`exec::cpu_conv`, `exec::cpu_fuse`) is timed whole, on its
    // product.
    let units = exec.cpu.units(&exec.program, gan.iteration.clone());
    let start = Instant::now();
    for _ in 0..iterations {
        for &unit in &units {
            let product = exec.cpu.unit_op(unit);
            let t = Instant::now();
            exec.cpu.run_unit(&exec.program, unit);
            op_ms[product - gan.iteration.start].1 += t.elapsed().as_secs_f64() * 1e3;
        }
    }
    let n = iterations.max(1) as f64;
    op_ms.iter_mut().for_each(|(_, ms)| *ms /= n);
    let wait_ms = start.elapsed().as_secs_f64() * 1e3 / n;
    let start = Instant::now();
    exec.run(gan.iteration.clone(), iterations)?;
    let as_trained_ms = Some(start.elapsed().as_secs_f64() * 1e3 / n);
    Ok(Profile {
        adapter: exec.describe(),
        on_gpu: false,
        op_ms,
        kernels: gan.prog.ops.iter().map(|op| op.kernel).collect(),
        host: HostTimes {
            wait_ms,
            ..HostTimes::default()
        },
        iterations,
        dispatches: units.len(),
        ops: gan.iteration.len(),
        as_trained_ms,
    })
}

/// Sums rows by a key: (key, total ms, total flops or None).
fn group(
    p: &Profile,
    ops: &[OpCall],
    key: impl Fn(usize, &OpCall) -> String,
) -> Vec<(String, f64, Option<f64>)> {
    let mut rows: Vec<(String, f64, Option<f64>)> = Vec::new();
    for &(i, ms) in &p.op_ms {
        let k = key(i, &ops[i]);
        let f = flops(&ops[i]);
        match rows.iter_mut().find(|r| r.0 == k) {
            Some(r) => {
                r.1 += ms;
                r.2 = match (r.2, f) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
            }
            None => rows.push((k, ms, f)),
        }
    }
    rows
}

/// The report: per op kind, per phase, then the host times.
pub fn table(p: &Profile, ops: &[OpCall]) -> String {
    let total: f64 = p.op_ms.iter().map(|r| r.1).sum();
    let mut out = String::new();
    let clock = if p.on_gpu { "GPU" } else { "CPU" };
    let _ = writeln!(
        out,
        "adapter: {}\n{clock} time per iteration: {total:.2} ms (mean of {} iterations)\n",
        p.adapter, p.iterations
    );
    for (title, rows) in [
        ("op", {
            let mut r = group(p, ops, |i, _| p.kernels[i].entry().to_string());
            r.sort_by(|a, b| b.1.total_cmp(&a.1));
            r
        }),
        ("phase", group(p, ops, |_, o| o.phase.clone())),
    ] {
        let _ = writeln!(
            out,
            "{:<28} {:>10} {:>7} {:>9}",
            format!("per {title}"),
            format!("{clock} ms"),
            "share",
            "GFLOP/s"
        );
        for (k, ms, f) in rows {
            let gflops = f.map_or(String::from("-"), |f| format!("{:.2}", f / (ms * 1e6)));
            let _ = writeln!(
                out,
                "{k:<28} {ms:>10.3} {:>6.1}% {gflops:>9}",
                100.0 * ms / total.max(1e-12)
            );
        }
        out.push('\n');
    }
    let h = p.host;
    if !p.on_gpu {
        let _ = writeln!(
            out,
            "wall per iteration: {:.3} ms, one op at a time with a clock read around each",
            h.wait_ms
        );
        if let Some(ms) = p.as_trained_ms {
            let _ = writeln!(
                out,
                "as trained: {ms:.3} ms per iteration, independent ops side by side on {} threads",
                crate::cpu::par::threads()
            );
        }
        let _ = writeln!(
            out,
            "steps per iteration: {} ({} ops; {} conv reshapes and activations fused into their products, timed with them)",
            p.dispatches,
            p.ops,
            p.ops - p.dispatches
        );
        return out;
    }
    let _ = writeln!(
        out,
        "host per iteration: encode {:.3} ms, submit {:.3} ms, wait {:.3} ms (wall {:.3} ms)",
        h.encode_ms,
        h.submit_ms,
        h.wait_ms,
        h.encode_ms + h.submit_ms + h.wait_ms
    );
    let _ = writeln!(
        out,
        "dispatches per iteration: {} ({} ops; {} fused into the product before them)",
        p.dispatches,
        p.ops,
        p.ops - p.dispatches
    );
    out
}

/// A Chrome trace (JSON array of complete events) of one mean iteration, for Perfetto.
pub fn write_trace(path: &Path, p: &Profile, ops: &[OpCall]) -> Result<(), TrainError> {
    let mut t = 0.0f64;
    let events: Vec<serde_json::Value> = p
        .op_ms
        .iter()
        .map(|&(i, ms)| {
            let op = &ops[i];
            let e = serde_json::json!({
                "name": format!("{} ({})", op.label, p.kernels[i].entry()),
                "cat": op.phase,
                "ph": "X",
                "ts": t * 1e3,
                "dur": ms * 1e3,
                "pid": 0,
                "tid": 0,
                "args": { "phase": op.phase, "kernel": p.kernels[i].entry(), "workgroups": op.workgroups },
            });
            t += ms;
            e
        })
        .collect();
    let json = serde_json::to_vec_pretty(
        &serde_json::json!({ "traceEvents": events, "displayTimeUnit": "ms" }),
    )
    .map_err(|e| TrainError::Config(e.to_string()))?;
    crate::io::atomic_write(path, &json).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

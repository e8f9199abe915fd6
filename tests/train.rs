//! Whole-iteration and end-to-end checks of `wgpu-gan train` and `sample`.

mod common;

use common::*;
use std::process::Command;
use std::sync::Arc;
use wgpu_gan::data::Dataset;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::models;
use wgpu_gan::train::schedule::GanProgram;
use wgpu_gan::train::{LossKind, ModelKind, TrainConfig, GRID};

/// One full iteration of the default recipe at its real sizes, from the same initial state,
/// on both executors. Noise and batches come from the same counter-based streams, so the
/// inputs agree exactly; the rest agrees up to float reordering. A parameter whose gradient is
/// within rounding of zero may take Adam's first step (±lr) in opposite directions, so
/// parameters are held to: all within 2·lr, and all but 1e-4 of them within 1e-5 + 1e-4·|ref|.
#[test]
fn gpu_equals_cpu_for_one_default_iteration() {
    gpu_equals_cpu_for_one_iteration(TrainConfig::default());
}

/// The seed recipe with the least-squares loss (`--loss lsgan`).
#[test]
fn gpu_equals_cpu_for_one_lsgan_iteration() {
    gpu_equals_cpu_for_one_iteration(TrainConfig {
        loss: LossKind::Lsgan,
        ..TrainConfig::default()
    });
}

/// `--model cgan` at its real sizes: fake labels drawn on the device, one-hot inputs to G and
/// D, D's image gradient without the label columns, and the class-row sample grid.
#[test]
fn gpu_equals_cpu_for_one_cgan_iteration() {
    gpu_equals_cpu_for_one_iteration(TrainConfig::for_model(ModelKind::Cgan));
}

/// `--model acgan`: D's two heads (real/fake column and class logits) on reals and fakes.
#[test]
fn gpu_equals_cpu_for_one_acgan_iteration() {
    gpu_equals_cpu_for_one_iteration(TrainConfig::for_model(ModelKind::Acgan));
}

/// `--model infogan`: codes drawn on the device, G's [z, c, one_hot(k)] input, the Q head's
/// information loss on fakes and its columns zeroed on reals. Run in lockstep: in the second
/// G step of this seed, one of D's pre-activations is -1.0e-6 on lavapipe and +7.5e-7 on the
/// CPU (float reordering), so a LeakyReLU mask flips and the difference spreads through G's
/// gradients; op by op, on the same inputs, every op agrees.
#[test]
fn gpu_equals_cpu_for_one_infogan_iteration() {
    lockstep_iteration(TrainConfig::for_model(ModelKind::Infogan));
}

#[test]
fn gpu_equals_cpu_op_by_op_for_acgan_and_wgan_gp() {
    lockstep_iteration(TrainConfig::for_model(ModelKind::Acgan));
    lockstep_iteration(TrainConfig::for_model(ModelKind::WganGp));
}

/// The dataset and Glorot weights (seeds 1 for G, 2 for D).
fn upload_data_and_weights(exec: &mut dyn Executor, gan: &GanProgram, ds: &Dataset) {
    let data = gan.dataset.unwrap();
    exec.write(data.images, &wgpu_gan::cpu::random::pack_bytes(&ds.images));
    exec.write(data.labels, &wgpu_gan::cpu::random::pack_bytes(&ds.labels));
    for (net, seed) in gan.nets().into_iter().zip([1, 2]) {
        let (p, s) = models::glorot_init(net, seed);
        exec.write_f32(net.params, &p);
        exec.write_f32(net.state, &s);
    }
}

/// Every op of one iteration at real sizes on the GPU, and on the CPU twin given the GPU's
/// values of all its bindings just before; their writes must agree.
fn lockstep_iteration(cfg: TrainConfig) {
    let Some(ctx) = gpu() else { return };
    let ds = cfg.data.load().unwrap();
    let gan = cfg.program(ds.count, ds.image_len()).unwrap();
    let mut cpu = CpuExec::new(&gan.prog);
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &gan.prog).unwrap();
    upload_data_and_weights(&mut gpu, &gan, &ds);
    for i in gan.iteration.clone() {
        let op = &gan.prog.ops[i];
        for (v, _) in &op.bindings {
            cpu.write(*v, &gpu.read(*v).unwrap());
        }
        gpu.run(i..i + 1, 1).unwrap();
        cpu.run(i..i + 1, 1).unwrap();
        for (v, access) in &op.bindings {
            if *access == wgpu_gan::kernels::Access::Write {
                let (g, c) = (gpu.read_f32(*v).unwrap(), cpu.read_f32(*v).unwrap());
                let what = format!("{:?} op {i} {} [{}]", cfg.model, op.label, op.phase);
                assert_close(&what, &g, &c, 1e-5, 1e-4);
            }
        }
    }
}

/// `--model wgan-gp`: five critic steps with interpolates, the penalty and its double
/// backward, then the G step.
#[test]
fn gpu_equals_cpu_for_one_wgan_gp_iteration() {
    gpu_equals_cpu_for_one_iteration(TrainConfig::for_model(ModelKind::WganGp));
}

fn gpu_equals_cpu_for_one_iteration(cfg: TrainConfig) {
    let Some(ctx) = gpu() else { return };
    let ds = cfg.data.load().unwrap();
    let gan = cfg.program(ds.count, ds.image_len()).unwrap();
    let mut cpu = CpuExec::new(&gan.prog);
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &gan.prog).unwrap();
    for exec in [&mut cpu as &mut dyn Executor, &mut gpu] {
        upload_data_and_weights(exec, &gan, &ds);
        let noise = gan.sample_input("sample.noise").unwrap();
        exec.write_f32(noise, &models::normal(0, 7, noise.len));
        if let Some(labels) = gan.sample_input("sample.labels") {
            exec.write_f32(labels, &cfg.sample_labels());
        }
        if let Some(codes) = gan.sample_input("sample.codes") {
            exec.write_f32(codes, &cfg.code_sweep(0).2);
        }
        exec.run(gan.iteration.clone(), 1).unwrap();
        exec.run(gan.sample.clone(), 1).unwrap();
    }
    let both = |v| (gpu.read_f32(v).unwrap(), cpu.read_f32(v).unwrap());
    for input in &gan.inputs {
        let (g, c) = both(input.view);
        assert_close(&input.name, &g, &c, 2e-5, 1e-5);
    }
    let (g, c) = both(gan.metrics);
    assert_close("losses and accuracies", &g, &c, 1e-5, 1e-4);
    for net in gan.nets() {
        let (g, c) = both(net.state);
        assert_close(
            &format!("{} running statistics", net.prefix),
            &g,
            &c,
            1e-5,
            1e-4,
        );
        let (g, c) = both(net.params);
        assert_close(
            &format!("{} params (bound)", net.prefix),
            &g,
            &c,
            2.0 * cfg.lr * (cfg.d_steps + cfg.g_steps) as f32 + 1e-5,
            0.0,
        );
        let off = g
            .iter()
            .zip(&c)
            .filter(|(g, c)| (*g - *c).abs() > 1e-5 + 1e-4 * c.abs())
            .count();
        let differ = |t: &wgpu_gan::nn::NamedTensor| {
            let r = t.offset..t.offset + t.len;
            let n = g[r.clone()].iter().zip(&c[r]);
            let n = n.filter(|(g, c)| (*g - *c).abs() > 1e-5 + 1e-4 * c.abs());
            format!("{} {}", t.name, n.count())
        };
        assert!(
            off * 10_000 <= g.len(),
            "{}: {off} of {} params differ ({})",
            net.prefix,
            g.len(),
            net.tensors
                .iter()
                .map(differ)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (g, c) = both(gan.sample_out);
    assert_close("sample grid", &g, &c, 1e-3, 1e-3);
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

fn run_ok(c: &mut Command) -> String {
    let out = c.output().expect("spawn wgpu-gan");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "wgpu-gan failed: {stderr}");
    stderr
}

fn short_run(device: &str) {
    if device == "gpu" && gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = [
        "train",
        "--steps",
        "6",
        "--log-every",
        "2",
        "--sample-every",
        "3",
        "--checkpoint-every",
        "3",
    ];
    run_ok(
        bin()
            .args(args)
            .args(["--device", device, "--out"])
            .arg(&run),
    );
    let csv = std::fs::read_to_string(run.join("losses.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "step,d_loss_real,d_loss_fake,d_acc,g_loss,seconds"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    for line in &lines[1..] {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        assert!(
            v.iter().all(|x| x.is_finite()) && v[1] > 0.0 && v[4] > 0.0,
            "{line}"
        );
    }
    for f in [
        "samples/step_000003.png",
        "samples/step_000006.png",
        "losses.png",
    ] {
        let img = image::open(run.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(img.width() > 100 && img.height() > 100, "{f}");
    }
    let ckpt = run.join("checkpoints/step_000006.safetensors");
    let loaded = wgpu_gan::checkpoint::Checkpoint::load(&ckpt).unwrap();
    assert_eq!(loaded.counters[0], 6, "iteration counter");
    assert_eq!(
        loaded.get("g.fc1.weight", &[256, 100]).unwrap().len(),
        25_600
    );
    assert!(loaded.get("sample_noise", &[GRID * GRID, 100]).is_ok());
    let npy = dir.path().join("s.npy");
    run_ok(
        bin()
            .args(["sample", "--count", "7", "--device", device, "--checkpoint"])
            .arg(&run)
            .arg("--out")
            .arg(&npy),
    );
    let (data, shape) = wgpu_gan::io::npy::read_npy(&npy).unwrap();
    assert_eq!(shape, vec![7, 28, 28]);
    assert!(data.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(
        data.iter().any(|v| *v != data[0]),
        "samples are not constant"
    );
}

#[test]
fn short_training_run_on_the_gpu_writes_every_output() {
    short_run("gpu");
}

#[test]
fn short_training_run_on_the_cpu_writes_every_output() {
    short_run("cpu");
}

#[test]
fn train_refuses_to_overwrite_an_existing_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("losses.csv"), "keep me").unwrap();
    let out = bin()
        .args(["train", "--device", "cpu", "--steps", "1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already holds a run") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("losses.csv")).unwrap(),
        "keep me"
    );
}

//! Learning rates on the device: the schedules give PyTorch's rates, Adam reads this
//! iteration's entry of the table (GPU and CPU), G and D get their own rates, a rollback halves
//! them without planning anything again, and a scheduled run resumes bit for bit.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use wgpu_gan::checkpoint::Checkpoint;
use wgpu_gan::lr::{self, LrSchedule, LR_TABLE};
use wgpu_gan::ops::{self, AdamArenas, AdamConfig, LrSource};
use wgpu_gan::program::Program;

/// PyTorch's MultiStepLR(milestones=[3, 6], gamma=0.1) on lr 2e-4, lr after 0..9 `step()`s,
/// worked out with its own (chainable) rule in float64.
const MULTI_STEP: [f64; 9] = [
    0.0002,
    0.0002,
    0.0002,
    2e-05,
    2e-05,
    2e-05,
    2.0000000000000003e-06,
    2.0000000000000003e-06,
    2.0000000000000003e-06,
];

/// LambdaLR with CycleGAN's rule `1 - max(0, e + 1 - n_epochs) / (n_epochs_decay + 1)`,
/// n_epochs 6, n_epochs_decay 4, on lr 2e-4, for epochs 0..10.
const LINEAR: [f64; 10] = [
    0.0002,
    0.0002,
    0.0002,
    0.0002,
    0.0002,
    0.0002,
    0.00016,
    0.00012,
    8e-05,
    3.999999999999999e-05,
];

#[test]
fn step_and_linear_schedules_give_pytorchs_rates() {
    let step = LrSchedule::Step {
        at: vec![3, 6],
        gamma: 0.1,
    };
    let linear = LrSchedule::Linear { start: 6, iters: 4 };
    for (schedule, want) in [(step, &MULTI_STEP[..]), (linear, &LINEAR[..])] {
        let got: Vec<f32> = (0..want.len()).map(|i| schedule.rate(2e-4, i)).collect();
        let want: Vec<f32> = want.iter().map(|&w| w as f32).collect();
        assert_close(&format!("{schedule:?}"), &got, &want, 0.0, 1e-6);
    }
    assert_eq!(LrSchedule::Constant.rate(2e-4, 1_000_000), 2e-4);
}

/// Adam reads entry counters[0] % LR_TABLE of its table: five iterations, each with its own
/// rate, against Adam on the host with those rates, on the CPU twins and on the GPU.
#[test]
fn adam_step_reads_the_rate_of_the_iteration() {
    let n = 64;
    let mut prog = Program::new();
    let arenas = AdamArenas {
        params: prog.tensor("params", n),
        grads: prog.tensor("grads", n),
        m: prog.tensor("adam_m", n),
        v: prog.tensor("adam_v", n),
    };
    let counters = prog.tensor("counters", 2);
    let flags = prog.tensor("flags", 1);
    let table = prog.tensor("lrs", LR_TABLE);
    ops::counter_increment(&mut prog, counters, 0, "iteration");
    let cfg = AdamConfig {
        lr: 0.0,
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
    };
    let lr = LrSource {
        table,
        iteration_slot: 0,
    };
    ops::adam_step_from(
        &mut prog,
        cfg,
        lr,
        arenas,
        (counters, 1),
        (flags, 0),
        "adam",
    )
    .unwrap();
    let rates: Vec<f32> = (0..LR_TABLE).map(|k| 1e-3 * (k as f32 + 1.0)).collect();
    let (w0, grad) = (rand_vec(n, 1, -1.0, 1.0), rand_vec(n, 2, -1.0, 1.0));
    // The host's Adam, iteration i at rate rates[i + 1] (the counter is i + 1 by then).
    let (mut w, mut m, mut v) = (w0.clone(), vec![0.0f32; n], vec![0.0f32; n]);
    for i in 0..5 {
        let t = (i + 1) as f32;
        let step = rates[lr::entry(i)] / (1.0 - 0.5f32.powf(t));
        for k in 0..n {
            m[k] = 0.5 * m[k] + 0.5 * grad[k];
            v[k] = 0.999 * v[k] + 0.001 * grad[k] * grad[k];
            w[k] -= step * m[k] / (v[k].sqrt() / (1.0 - 0.999f32.powf(t)).sqrt() + 1e-8);
        }
    }
    let inputs = [
        (arenas.params, bits(&w0)),
        (arenas.grads, bits(&grad)),
        (table, bits(&rates)),
    ];
    let mut cpu = wgpu_gan::exec::CpuProgram::new(&prog);
    for (view, data) in &inputs {
        cpu.write(*view, data);
    }
    for _ in 0..5 {
        cpu.run(&prog);
    }
    assert_close("cpu params", &cpu.read_f32(arenas.params), &w, 1e-6, 1e-5);
    let Some(ctx) = gpu() else { return };
    let g = wgpu_gan::gpu::GpuProgram::new(&ctx, &prog).unwrap();
    for (view, data) in &inputs {
        g.write(&ctx, *view, data);
    }
    g.run(&ctx, 0..g.len(), 5);
    let got = floats(&g.read(&ctx, arenas.params).unwrap());
    assert_close("gpu params", &got, &w, 1e-6, 1e-5);
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

fn train(args: &[&str], out: &Path) {
    let run = bin()
        .args(["train", "--log-every", "2", "--sample-every", "4"])
        .args(["--checkpoint-every", "4", "--seed", "5"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
}

fn tensor<'a>(c: &'a Checkpoint, name: &str) -> &'a [f32] {
    &c.tensors[name].1
}

fn last(run: &Path) -> Checkpoint {
    Checkpoint::load(&run.join("checkpoints/step_000008.safetensors")).unwrap()
}

/// A step-decay run (halved at iterations 3 and 5, either side of the split) stopped at 4 and
/// resumed to 8 equals the uninterrupted run bit for bit, and differs from the constant-rate
/// run (the schedule reaches the optimizers). Its milestones are iterations, so the first part's
/// shorter --steps does not move them (a linear decay is placed by --steps, and is not split).
fn scheduled_resume(device: &str) {
    if device == "gpu" && gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (once, split, flat) = (
        dir.path().join("once"),
        dir.path().join("split"),
        dir.path().join("flat"),
    );
    let schedule = [
        "--lr-schedule",
        "step",
        "--lr-decay-at",
        "3,5",
        "--lr-gamma",
        "0.5",
    ];
    let dev = ["--device", device];
    train(&[&["--steps", "8"][..], &schedule, &dev].concat(), &once);
    train(&[&["--steps", "4"][..], &schedule, &dev].concat(), &split);
    let resume = ["--resume", split.to_str().unwrap(), "--steps", "8"];
    let run = bin().arg("train").args(resume).args(dev).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    train(&[&["--steps", "8"][..], &dev].concat(), &flat);
    let (a, b, c) = (last(&once), last(&split), last(&flat));
    for (name, (_, data)) in &a.tensors {
        let same = data
            .iter()
            .zip(tensor(&b, name))
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs after resume");
    }
    assert_ne!(tensor(&a, "g.fc1.weight"), tensor(&c, "g.fc1.weight"));
}

#[test]
fn a_scheduled_run_resumes_bit_for_bit_on_the_cpu() {
    scheduled_resume("cpu");
}

#[test]
fn a_scheduled_run_resumes_bit_for_bit_on_the_gpu() {
    scheduled_resume("gpu");
}

/// --lr-g 1e-30 leaves G's weights as they were (each step is far below their last bit) while
/// D moves at --lr-d: two runs that differ only in --lr-d end with the same G and different Ds.
/// Swapped rows would move G, a shared row would freeze D.
#[test]
fn lr_g_and_lr_d_reach_their_own_optimizers() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<Checkpoint> = ["1e-3", "2e-3"]
        .iter()
        .map(|lr_d| {
            let run = dir.path().join(lr_d);
            let args = [
                "--steps", "4", "--device", "cpu", "--lr-g", "1e-30", "--lr-d", lr_d,
            ];
            train(&args, &run);
            Checkpoint::load(&run.join("checkpoints/step_000004.safetensors")).unwrap()
        })
        .collect();
    for name in ["g.fc1.weight", "g.fc4.weight", "g.bn1.weight"] {
        assert_eq!(tensor(&runs[0], name), tensor(&runs[1], name), "{name}");
    }
    assert_ne!(
        tensor(&runs[0], "d.fc1.weight"),
        tensor(&runs[1], "d.fc1.weight")
    );
}

/// Bad rate flags: one line each, a non-zero exit, and no run directory left behind.
#[test]
fn bad_rate_flags_are_refused_before_a_run_directory_exists() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--lr-g", "-1"], "--lr-g must be"),
        (
            &["--lr-decay-at", "5"],
            "--lr-decay-at applies to --lr-schedule step",
        ),
        (
            &["--lr-schedule", "step", "--lr-gamma", "0"],
            "--lr-gamma must be",
        ),
        (
            &[
                "--lr-schedule",
                "linear",
                "--lr-decay-iters",
                "99",
                "--steps",
                "10",
            ],
            "longer than the run",
        ),
    ];
    for (k, (args, says)) in cases.iter().enumerate() {
        let out = dir.path().join(k.to_string());
        let run = bin()
            .arg("train")
            .args(*args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(
            !run.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("panicked") && err.trim().lines().count() == 1,
            "{err}"
        );
        assert!(!out.exists(), "{args:?} left {}", out.display());
    }
}

/// A rollback reloads the checkpoint into the trainer it has: one trainer (program, executor,
/// dataset upload) for the whole run, three rollbacks included. The only test in this file
/// that plans a trainer in this process.
#[test]
fn rollback_halves_the_rates_without_planning_again() {
    use wgpu_gan::train::{trainers_planned, OnNan, TrainConfig, TrainError, Trainer};
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        steps: 40,
        lr: 1e30,
        log_every: 2,
        sample_every: 4,
        checkpoint_every: 4,
        on_nan: OnNan::Rollback,
        device: wgpu_gan::exec::DeviceKind::Cpu,
        ..TrainConfig::default()
    };
    let before = trainers_planned();
    let t = Trainer::new(cfg, dir.path(), &Default::default()).unwrap();
    let result = wgpu_gan::train::run(t);
    assert!(
        matches!(result, Err(TrainError::NonFinite { .. })),
        "{result:?}"
    );
    assert_eq!(
        trainers_planned() - before,
        1,
        "trainers planned for one run"
    );
}

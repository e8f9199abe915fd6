//! Runs that survive: exact resume (CPU and GPU), the NaN guard, and SIGKILL at random moments.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wgpu_gan::checkpoint::Checkpoint;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

fn run(c: &mut Command) -> Output {
    let out = c.output().expect("spawn wgpu-gan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    out
}

fn ok(c: &mut Command) -> String {
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "wgpu-gan failed: {err}");
    err
}

const FLAGS: [&str; 8] = [
    "--log-every",
    "2",
    "--sample-every",
    "4",
    "--checkpoint-every",
    "4",
    "--seed",
    "7",
];

/// losses.csv without the wall-clock column.
fn csv_rows(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("losses.csv")).unwrap();
    text.lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

fn assert_same_state(a: &Path, b: &Path) {
    let ca = Checkpoint::load(a).unwrap();
    let cb = Checkpoint::load(b).unwrap();
    assert_eq!(ca.counters, cb.counters, "counters");
    assert_eq!(ca.tensors.len(), cb.tensors.len());
    for (name, (shape, data)) in &ca.tensors {
        let (shape_b, data_b) = &cb.tensors[name];
        assert_eq!(shape, shape_b, "{name}");
        let same = data
            .iter()
            .zip(data_b)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs bit for bit");
    }
}

fn exact_resume(device: &str) {
    if device == "gpu" && common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (once, split) = (dir.path().join("once"), dir.path().join("split"));
    let dev = ["--device", device];
    ok(bin()
        .args(["train", "--steps", "8"])
        .args(FLAGS)
        .args(dev)
        .arg("--out")
        .arg(&once));
    ok(bin()
        .args(["train", "--steps", "4"])
        .args(FLAGS)
        .args(dev)
        .arg("--out")
        .arg(&split));
    let err = ok(bin()
        .args(["train", "--steps", "8", "--resume"])
        .arg(&split));
    assert!(
        err.contains("resuming") && err.contains("at step 4"),
        "{err}"
    );
    let last = "checkpoints/step_000008.safetensors";
    assert_same_state(&once.join(last), &split.join(last));
    assert_eq!(csv_rows(&once), csv_rows(&split), "losses.csv rows");
    let png = "samples/step_000008.png";
    assert_eq!(
        std::fs::read(once.join(png)).unwrap(),
        std::fs::read(split.join(png)).unwrap()
    );
}

#[test]
fn resume_equals_an_uninterrupted_run_bit_for_bit_on_the_cpu() {
    exact_resume("cpu");
}

#[test]
fn resume_equals_an_uninterrupted_run_bit_for_bit_on_the_gpu() {
    exact_resume("gpu");
}

#[test]
fn resume_refuses_a_conflicting_flag_and_accepts_one_that_may_change() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    ok(bin()
        .args(["train", "--steps", "2", "--device", "cpu"])
        .args(FLAGS)
        .arg("--out")
        .arg(&r));
    let out = run(bin()
        .args(["train", "--steps", "4", "--lr", "0.1", "--resume"])
        .arg(&r));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--lr 0.1") && err.contains("conflicts"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    ok(bin()
        .args(["train", "--steps", "4", "--log-every", "1", "--resume"])
        .arg(&r));
}

#[test]
fn a_corrupt_latest_checkpoint_falls_back_to_the_previous_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    ok(bin()
        .args(["train", "--steps", "8", "--device", "cpu"])
        .args(FLAGS)
        .arg("--out")
        .arg(&r));
    let newest = r.join("checkpoints/step_000008.safetensors");
    let bytes = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &bytes[..bytes.len() / 2]).unwrap();
    let err = ok(bin().args(["train", "--steps", "10", "--resume"]).arg(&r));
    assert!(
        err.contains("step_000008.safetensors") && err.contains("previous good checkpoint"),
        "{err}"
    );
    assert!(err.contains("at step 4"), "{err}");
}

#[test]
fn a_nan_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    let out = run(bin()
        .args(["train", "--steps", "40", "--lr", "1e30", "--device", "cpu"])
        .args(FLAGS)
        .arg("--out")
        .arg(&r));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("went NaN or infinite"),
        "{err}"
    );
    assert!(err.contains("--resume"), "says how to go on: {err}");
    let latest = wgpu_gan::train::resolve_checkpoint(&r);
    let ckpt = Checkpoint::load(&latest).unwrap();
    assert!(
        ckpt.tensors
            .values()
            .all(|(_, d)| d.iter().all(|v| v.is_finite())),
        "kept checkpoint is finite"
    );
}

#[test]
fn on_nan_rollback_halves_the_learning_rate_at_most_three_times() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    let args = [
        "train", "--steps", "40", "--lr", "1e30", "--device", "cpu", "--on-nan", "rollback",
    ];
    let out = run(bin().args(args).args(FLAGS).arg("--out").arg(&r));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("rolling back").count(), 3, "{err}");
    assert!(err.contains("--lr 125000000000000000000000000000"), "{err}");
    assert!(
        !out.status.success() && err.contains("went NaN or infinite"),
        "{err}"
    );
}

/// Every checkpoint file in the run with its bytes' hash.
fn snapshot(run: &Path) -> Vec<(PathBuf, u64)> {
    use std::hash::{Hash, Hasher};
    wgpu_gan::train::resume::checkpoint_files(run)
        .into_iter()
        .filter(|p| Checkpoint::load(p).is_ok())
        .map(|p| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::fs::read(&p).unwrap().hash(&mut h);
            (p, h.finish())
        })
        .collect()
}

#[test]
fn sigkill_at_random_moments_loses_nothing_that_was_good() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    let flags = [
        "--steps",
        "100000",
        "--device",
        "cpu",
        "--log-every",
        "3",
        "--sample-every",
        "30",
    ];
    let ckpt_flags = ["--checkpoint-every", "3", "--keep-checkpoints", "2"];
    // Kill delays in ms from a fixed LCG: bounded in count and time.
    let mut s = 12345u64;
    for round in 0..4 {
        let good = snapshot(&r);
        let mut cmd = bin();
        if round == 0 {
            cmd.arg("train")
                .args(flags)
                .args(ckpt_flags)
                .arg("--out")
                .arg(&r);
        } else {
            cmd.args(["train", "--resume"]).arg(&r);
        }
        let mut child = cmd.stderr(std::process::Stdio::null()).spawn().unwrap();
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = 1500 + (s >> 33) % 1500;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        let latest = wgpu_gan::train::resolve_checkpoint(&r);
        Checkpoint::load(&latest)
            .unwrap_or_else(|e| panic!("round {round}: latest does not load: {e}"));
        for (path, hash) in good {
            if path.exists() {
                let now = snapshot(&r)
                    .into_iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, h)| h);
                assert_eq!(now, Some(hash), "round {round}: {} changed", path.display());
            }
        }
    }
    let rows = std::fs::read_to_string(r.join("losses.csv")).unwrap();
    let steps: Vec<usize> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        steps.windows(2).all(|w| w[1] > w[0]),
        "rows strictly increasing: {steps:?}"
    );
}

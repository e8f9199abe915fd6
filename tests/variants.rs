//! The GAN variants through the binary: `--model cgan` (class-row grids, checkpoints, exact
//! resume, `sample --label`) and `--loss lsgan`.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use wgpu_gan::io::png::GridLayout;
use wgpu_gan::train::checkpoint::Checkpoint;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
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

/// The one-line error of a command that must fail.
fn fails(c: &mut Command) -> String {
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success(), "should have failed: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
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
    "3",
];

fn train(run_dir: &Path, steps: &str, device: &str, extra: &[&str]) -> String {
    ok(bin()
        .args(["train", "--steps", steps, "--device", device])
        .args(FLAGS)
        .args(extra)
        .arg("--out")
        .arg(run_dir))
}

/// `sample` into an .npy; returns the images and their shape.
fn sample(run_dir: &Path, device: &str, args: &[&str]) -> (Vec<f32>, Vec<usize>) {
    let npy = run_dir.join(format!("sample-{}.npy", args.join("_")));
    ok(bin()
        .args(["sample", "--device", device, "--checkpoint"])
        .arg(run_dir)
        .args(args)
        .arg("--out")
        .arg(&npy));
    wgpu_gan::io::npy::read_npy(&npy).unwrap()
}

fn cgan_run(device: &str) {
    if device == "gpu" && common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("cgan");
    let err = train(&r, "4", device, &["--model", "cgan"]);
    assert!(err.contains("Cgan GAN"), "{err}");
    // 10x10 grid: one row per class.
    let grid = image::open(r.join("samples/step_000004.png")).unwrap();
    let layout = GridLayout::new(100, 28, 28, 10);
    assert_eq!(
        (grid.width() as usize, grid.height() as usize),
        (layout.width_px(), layout.height_px())
    );
    let ckpt = Checkpoint::load(&r.join("checkpoints/step_000004.safetensors")).unwrap();
    assert!(ckpt.metadata["config"].contains("\"model\":\"cgan\""));
    assert!(ckpt.get("g.fc1.weight", &[256, 100 + 10]).is_ok());
    assert!(ckpt.get("d.fc1.weight", &[512, 784 + 10]).is_ok());
    assert!(ckpt.get("sample_noise", &[100, 100]).is_ok());
    let (threes, shape) = sample(&r, device, &["--label", "3", "--count", "20"]);
    assert_eq!(shape, vec![20, 28, 28]);
    assert!(threes.iter().all(|v| (-1.0..=1.0).contains(v)));
    // Same noise, another class: the label reaches G.
    let (fives, _) = sample(&r, device, &["--label", "5", "--count", "20"]);
    assert_ne!(threes, fives);
    let (mixed, shape) = sample(&r, device, &["--count", "12"]);
    assert_eq!(shape, vec![12, 28, 28]);
    // Without --label the classes take turns; the noise streams are the same.
    let three = 3 * 784..4 * 784;
    common::assert_close("image 3", &mixed[three.clone()], &threes[three], 1e-5, 1e-5);
    let err = fails(
        bin()
            .args(["sample", "--label", "10", "--out", "x.npy", "--checkpoint"])
            .arg(&r),
    );
    assert!(
        err.contains("--label 10") && err.contains("0 to 9"),
        "{err}"
    );
}

#[test]
fn cgan_trains_and_samples_each_class_on_the_cpu() {
    cgan_run("cpu");
}

#[test]
fn cgan_trains_and_samples_each_class_on_the_gpu() {
    cgan_run("gpu");
}

/// Fake labels come from the counter-based streams and the grid's labels from the config, so
/// a resumed cgan run is the uninterrupted one, bit for bit.
#[test]
fn cgan_resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let (once, split) = (dir.path().join("once"), dir.path().join("split"));
    let cgan = ["--model", "cgan"];
    train(&once, "8", "cpu", &cgan);
    train(&split, "4", "cpu", &cgan);
    ok(bin()
        .args(["train", "--steps", "8", "--resume"])
        .arg(&split));
    let last = "checkpoints/step_000008.safetensors";
    let (a, b) = (
        Checkpoint::load(&once.join(last)).unwrap(),
        Checkpoint::load(&split.join(last)).unwrap(),
    );
    assert_eq!(a.counters, b.counters);
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (name, (_, data)) in &a.tensors {
        let same = data
            .iter()
            .zip(&b.tensors[name].1)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs");
    }
    let png = "samples/step_000008.png";
    assert_eq!(
        std::fs::read(once.join(png)).unwrap(),
        std::fs::read(split.join(png)).unwrap()
    );
}

#[test]
fn lsgan_trains_resumes_and_keeps_its_loss() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("lsgan");
    let err = train(&r, "4", "cpu", &["--loss", "lsgan"]);
    assert!(err.contains("Lsgan loss"), "{err}");
    let csv = std::fs::read_to_string(r.join("losses.csv")).unwrap();
    for line in csv.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        // Squared errors to targets 1 and 0: finite, positive.
        assert!(
            v.iter().all(|x| x.is_finite()) && v[1] > 0.0 && v[4] > 0.0,
            "{line}"
        );
    }
    let ckpt = Checkpoint::load(&r.join("checkpoints/step_000004.safetensors")).unwrap();
    assert!(ckpt.metadata["config"].contains("\"loss\":\"lsgan\""));
    let err = fails(
        bin()
            .args(["train", "--steps", "6", "--loss", "bce", "--resume"])
            .arg(&r),
    );
    assert!(err.contains("--loss") && err.contains("conflicts"), "{err}");
    // Without --loss the run goes on with its own.
    ok(bin().args(["train", "--steps", "6", "--resume"]).arg(&r));
    let ckpt = Checkpoint::load(&r.join("checkpoints/step_000006.safetensors")).unwrap();
    assert!(ckpt.metadata["config"].contains("\"loss\":\"lsgan\""));
}

#[test]
fn label_applies_only_to_conditioned_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("mlp");
    train(&r, "1", "cpu", &[]);
    let err = fails(
        bin()
            .args([
                "sample", "--label", "3", "--device", "cpu", "--out", "x.npy",
            ])
            .arg("--checkpoint")
            .arg(&r),
    );
    assert!(err.contains("--label applies to"), "{err}");
}

#[test]
fn cgan_refuses_unlabelled_image_folders() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(
        bin()
            .args([
                "train",
                "--model",
                "cgan",
                "--device",
                "cpu",
                "--data-folder",
            ])
            .arg(dir.path())
            .arg("--out")
            .arg(dir.path().join("r")),
    );
    assert!(
        err.contains("--model cgan") && err.contains("--data-folder"),
        "{err}"
    );
}

/// Checkpoints written before `--loss` existed hold configs without it: they load as BCE runs.
#[test]
fn a_config_without_a_loss_loads_as_bce() {
    use wgpu_gan::train::{LossKind, TrainConfig};
    let cfg: TrainConfig = serde_json::from_str(r#"{"model":"mlp","steps":5}"#).unwrap();
    assert_eq!((cfg.loss, cfg.steps), (LossKind::Bce, 5));
}

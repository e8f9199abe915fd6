//! The GAN variants through the binary: `--model cgan` (class-row grids, checkpoints, exact
//! resume, `sample --label`) and `--loss lsgan`.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use wgpu_gan::checkpoint::Checkpoint;
use wgpu_gan::io::png::GridLayout;
use wgpu_gan::train::CSV_HEADER;

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
    assert!(err.contains("cGAN (BCE loss)"), "{err}");
    // The matching-aware D's pass on reals with random labels, reported in its own columns.
    let csv = std::fs::read_to_string(r.join("losses.csv")).unwrap();
    assert!(
        csv.starts_with(&format!("{CSV_HEADER},mismatch_loss,mismatch_acc\n")),
        "{csv}"
    );
    let plain = dir.path().join("plain");
    train(
        &plain,
        "2",
        device,
        &["--model", "cgan", "--mismatch", "false"],
    );
    let csv = std::fs::read_to_string(plain.join("losses.csv")).unwrap();
    assert!(csv.starts_with(&format!("{CSV_HEADER}\n")), "{csv}");
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
/// a resumed cgan run (with its moving average of G and its mismatch pass) is the
/// uninterrupted one, bit for bit.
#[test]
fn cgan_resume_equals_an_uninterrupted_run() {
    resume_equals_an_uninterrupted_run("cgan");
}

/// Trains `model` 8 steps at once and 4 + 4 with a resume; the checkpoints and grids at step
/// 8 must be the same to the bit.
fn resume_equals_an_uninterrupted_run(model: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (once, split) = (dir.path().join("once"), dir.path().join("split"));
    train(&once, "8", "cpu", &["--model", model]);
    train(&split, "4", "cpu", &["--model", model]);
    ok(bin()
        .args(["train", "--steps", "8", "--resume"])
        .arg(&split));
    let last = "checkpoints/step_000008.safetensors";
    let (a, b) = (
        Checkpoint::load(&once.join(last)).unwrap(),
        Checkpoint::load(&split.join(last)).unwrap(),
    );
    assert_eq!(a.counters, b.counters, "{model}");
    assert_eq!(a.tensors.len(), b.tensors.len(), "{model}");
    for (name, (_, data)) in &a.tensors {
        let same = data
            .iter()
            .zip(&b.tensors[name].1)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{model}: {name} differs");
    }
    let png = "samples/step_000008.png";
    assert_eq!(
        std::fs::read(once.join(png)).unwrap(),
        std::fs::read(split.join(png)).unwrap(),
        "{model}"
    );
}

#[test]
fn lsgan_trains_resumes_and_keeps_its_loss() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("lsgan");
    let err = train(&r, "4", "cpu", &["--loss", "lsgan"]);
    assert!(err.contains("LSGAN loss"), "{err}");
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

/// acgan, infogan and wgan-gp: a short run, its head columns in losses.csv, its grids and
/// checkpoint shapes, and sampling.
fn family_run(device: &str) {
    if device == "gpu" && common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], usize, usize); 3] = [
        ("acgan", &["class_loss", "class_acc"], 100 + 10, 1 + 10),
        (
            "infogan",
            &["q_cat_loss", "q_cat_acc", "q_code_mse"],
            62 + 2 + 10,
            1 + 12,
        ),
        ("wgan-gp", &["gradient_penalty"], 100, 1),
    ];
    for (model, columns, g_in, d_out) in cases {
        let r = dir.path().join(model);
        train(&r, "4", device, &["--model", model]);
        let csv = std::fs::read_to_string(r.join("losses.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        assert_eq!(&header[6..], columns, "{model}");
        for line in csv.lines().skip(1) {
            let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
            assert_eq!(v.len(), header.len(), "{model}: {line}");
            assert!(v.iter().all(|x| x.is_finite()), "{model}: {line}");
        }
        let ckpt = Checkpoint::load(&r.join("checkpoints/step_000004.safetensors")).unwrap();
        assert!(ckpt.get("g.fc1.weight", &[256, g_in]).is_ok(), "{model}");
        assert!(ckpt.get("d.fc3.weight", &[d_out, 256]).is_ok(), "{model}");
        // The moving average of G that samples come from, under PyTorch names.
        let ema = ckpt.get("g_ema.fc1.weight", &[256, g_in]).unwrap();
        assert_ne!(
            ema,
            ckpt.get("g.fc1.weight", &[256, g_in]).unwrap(),
            "{model}"
        );
        assert!(ckpt.get("g_ema.bn1.running_var", &[256]).is_ok(), "{model}");
        let sweeps = ["step_000004_code1.png", "step_000004_code2.png"];
        for png in sweeps {
            assert_eq!(r.join("samples").join(png).exists(), model == "infogan");
        }
        if model == "wgan-gp" {
            let err = fails(
                bin()
                    .args(["sample", "--label", "1", "--out", "x.npy", "--checkpoint"])
                    .arg(&r),
            );
            assert!(err.contains("--label applies to"), "{err}");
            continue;
        }
        let (threes, shape) = sample(&r, device, &["--label", "3", "--count", "6"]);
        assert_eq!(shape, vec![6, 28, 28]);
        let (fives, _) = sample(&r, device, &["--label", "5", "--count", "6"]);
        assert_ne!(threes, fives, "{model}: the label reaches G");
    }
    let err = fails(bin().args(["train", "--model", "wgan-gp", "--loss", "lsgan"]));
    assert!(err.contains("--loss applies to"), "{err}");
    let err = fails(bin().args(["train", "--model", "acgan", "--g-width", "8"]));
    assert!(err.contains("--g-width applies to"), "{err}");
    let err = fails(bin().args(["train", "--model", "acgan", "--mismatch", "true"]));
    assert!(err.contains("--mismatch applies to --model cgan"), "{err}");
    let err = fails(bin().args(["train", "--model", "acgan", "--g-ema", "1"]));
    assert!(err.contains("--g-ema must be in [0, 1)"), "{err}");
}

#[test]
fn acgan_infogan_and_wgan_gp_train_and_sample_on_the_cpu() {
    family_run("cpu");
}

#[test]
fn acgan_infogan_and_wgan_gp_train_and_sample_on_the_gpu() {
    family_run("gpu");
}

/// A resumed wgan-gp run (five critic steps, interpolation weights drawn on the device) is
/// the uninterrupted one, bit for bit.
#[test]
fn wgan_gp_resume_equals_an_uninterrupted_run() {
    resume_equals_an_uninterrupted_run("wgan-gp");
}

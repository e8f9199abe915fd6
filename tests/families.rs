//! The families' declared hyperparameters (`Family::params`, `train::params`): offered once by
//! `train --help` with the models that take them, refused for other models and when they do not
//! parse, kept in the run's config by name, and fixed on resume.

use std::path::Path;
use std::process::{Command, Output};
use wgpu_gan::checkpoint::Checkpoint;
use wgpu_gan::train::{resolve_checkpoint, TrainConfig};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One line of error holding every `want`, a non-zero exit, no panic.
fn fails(out: Output, wants: &[&str]) {
    let err = stderr(&out);
    assert!(!out.status.success(), "succeeded: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for w in wants {
        assert!(err.contains(w), "{w:?} not in {err}");
    }
}

fn images(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..4u8 {
        let img = image::GrayImage::from_fn(64, 64, |x, y| image::Luma([(x as u8 ^ y as u8) ^ i]));
        img.save(dir.join(format!("{i}.png"))).unwrap();
    }
}

fn dcgan64(data: &Path, run: &Path, extra: &[&str]) -> Command {
    let mut c = bin();
    c.args([
        "train",
        "--device",
        "cpu",
        "--model",
        "dcgan64",
        "--channels",
        "1",
    ])
    .args(["--steps", "1", "--batch-size", "2", "--sample-every", "1"])
    .args(["--tensorboard", "false"])
    .arg("--data-folder")
    .arg(data)
    .arg("--out")
    .arg(run)
    .args(extra);
    c
}

#[test]
fn help_offers_each_declared_hyperparameter_with_its_models_and_default() {
    let out = bin().args(["train", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let line = help
        .lines()
        .position(|l| l.trim_start().starts_with("--ngf"))
        .unwrap();
    let text = help.lines().nth(line + 1).unwrap();
    // Each family's own default where they differ.
    assert!(
        text.contains("dcgan64, cyclegan")
            && text.contains("[default: 64 for dcgan64, 32 for cyclegan]"),
        "{text}"
    );
    assert_eq!(help.matches("--ndf <VALUE>").count(), 1, "{help}");
}

#[test]
fn a_hyperparameter_is_refused_for_another_model_and_when_it_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = bin()
        .args(["train", "--model", "mlp", "--ngf", "8", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    // Every model that takes it is named (dcgan64, cyclegan, ...).
    fails(
        out,
        &[
            "--ngf applies to --model dcgan64, ",
            "cyclegan",
            ", not mlp",
        ],
    );
    let data = dir.path().join("images");
    images(&data);
    let out = dcgan64(&data, &run, &["--ngf", "wide"]).output().unwrap();
    fails(out, &["--ngf wide", "expected a whole number"]);
    assert!(
        !run.exists(),
        "no run directory for a config that cannot train"
    );
}

#[test]
fn hyperparameters_live_in_the_config_and_are_fixed_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run) = (dir.path().join("images"), dir.path().join("run"));
    images(&data);
    let out = dcgan64(&data, &run, &["--ngf", "2", "--ndf", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let path = resolve_checkpoint(&run);
    let ckpt = Checkpoint::load(&path).unwrap();
    let cfg: TrainConfig = serde_json::from_str(&ckpt.metadata["config"]).unwrap();
    assert_eq!(cfg.params["ngf"], "2");
    assert_eq!(cfg.params["ndf"], "3");
    assert_eq!(cfg.param::<usize>("ndf").unwrap(), 3);
    // D's first convolution has ndf output channels.
    let (shape, _) = &ckpt.tensors["d.down1.weight"];
    assert_eq!(shape[0], 3);
    let resume = |extra: &[&str]| {
        let mut c = bin();
        c.args(["train", "--device", "cpu", "--steps", "2", "--resume"])
            .arg(&run)
            .args(extra);
        c.output().unwrap()
    };
    fails(
        resume(&["--ngf", "4"]),
        &["--ngf 4 conflicts with the run's 2"],
    );
    let out = resume(&["--ngf", "2"]);
    assert!(
        out.status.success(),
        "the same value is no change: {}",
        stderr(&out)
    );
}

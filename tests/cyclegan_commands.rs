//! `--model cyclegan` with the other commands: `profile`, `sample` (refused), `eval` (the
//! translation scores), and the NaN guard.

mod cyclegan_helpers;

use cyclegan_helpers::*;
use std::path::Path;

#[test]
fn cyclegan_profile_runs() {
    let out = bin()
        .args([
            "profile",
            "--model",
            "cyclegan",
            "--device",
            "cpu",
            "--warmup",
            "0",
            "--iterations",
            "1",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for phase in ["inputs", "G", "D"] {
        assert!(
            text.lines().any(|l| l.starts_with(phase)),
            "{phase} not in {text}"
        );
    }
}

#[test]
fn sample_refuses_a_cyclegan_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    gray_folder(&a, 3, (8, 8));
    gray_folder(&b, 3, (9, 9));
    let run = dir.path().join("run");
    let mut args = small(&a, &b, &run, "1");
    args[8] = "1".into(); // --channels 1
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let out = dir.path().join("s.png");
    fails(
        &[
            "sample",
            "--checkpoint",
            &run.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
            "--device",
            "cpu",
        ],
        &["translate"],
    );
    assert!(!out.exists());
}

/// A tiny run on the default pair, then `eval`: the translation scores (class kept against the
/// untranslated digits, FCD to MNIST, cycle errors), with a quickly trained classifier.
#[test]
fn eval_of_a_cyclegan_checkpoint_reports_the_translation_scores() {
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_string_lossy().to_string();
    let (run, c) = (dir.path().join("run"), dir.path().join("c.safetensors"));
    ok(&[
        "train",
        "--model",
        "cyclegan",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--res-blocks",
        "1",
        "--batch-size",
        "2",
        "--steps",
        "2",
        "--device",
        "cpu",
        "--out",
        &s(&run),
        "--tensorboard",
        "false",
    ]);
    ok(&[
        "classifier",
        "train",
        "--steps",
        "30",
        "--out",
        &s(&c),
        "--device",
        "cpu",
    ]);
    let out = bin()
        .args([
            "eval",
            "--checkpoint",
            &s(&run),
            "--classifier",
            &s(&c),
            "--device",
            "cpu",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("300 held-out images of B"), "{text}");
    for line in ["class kept:", "FCD to A:", "cycle error:"] {
        let l = text
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("{line} not in {text}"));
        assert!(l.chars().any(|c| c.is_ascii_digit()), "{l}");
    }
    // Every digit has held-out optdigits: ten per-class shares.
    let by_class = text.lines().find(|l| l.starts_with("kept by class:"));
    let by_class = by_class.unwrap_or_else(|| panic!("no per-class line in {text}"));
    assert_eq!(by_class.matches('%').count(), 10, "{by_class}");
    assert!(
        text.lines().any(|l| l.starts_with("most changed:")),
        "{text}"
    );
}

/// The NaN guard watches CycleGAN's own loss columns: an absurd rate stops the run.
#[test]
fn a_cyclegan_run_that_goes_nan_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    gray_folder(&a, 4, (8, 8));
    gray_folder(&b, 4, (8, 8));
    let run = dir.path().join("run");
    let mut args = small(&a, &b, &run, "20");
    args[8] = "1".into();
    args.extend(["--lr".to_string(), "1e30".to_string()]);
    let out = bin().args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("went NaN or infinite"),
        "{err}"
    );
}

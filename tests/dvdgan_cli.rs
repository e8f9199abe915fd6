//! `--model dvdgan` through the binary, on a small model (16x16 clips of 4 frames, batch 2):
//! the run's outputs (animated GIFs, rows-of-frames PNGs, real.gif, the discriminators'
//! losses.csv columns, checkpoints with every net and u); an exact resume; the NaN guard;
//! `sample --out clips.npy|clips.gif`; and bad input (one line, non-zero exit, no run made).

mod common;

use common::{bin, ok, run};
use std::path::Path;
use wgpu_gan::checkpoint::Checkpoint;

/// A small dvdgan: every part of the model, seconds per iteration on the CPU path.
const SMALL: [&str; 24] = [
    "--model",
    "dvdgan",
    "--device",
    "cpu",
    "--size",
    "16",
    "--frames",
    "4",
    "--batch-size",
    "2",
    "--g-width",
    "2",
    "--d-width",
    "2",
    "--ds-frames",
    "2",
    "--log-every",
    "2",
    "--sample-every",
    "4",
    "--checkpoint-every",
    "2",
    "--seed",
    "3",
];

fn train(out: &Path, steps: &str) -> String {
    ok(bin()
        .args(["train", "--steps", steps])
        .args(SMALL)
        .arg("--out")
        .arg(out))
}

fn csv_rows(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("losses.csv")).unwrap();
    // Without the wall clock (the last column).
    text.lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

#[test]
fn dvdgan_run_writes_clips_columns_and_checkpoints_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (once, split) = (dir.path().join("once"), dir.path().join("split"));
    train(&once, "4");
    let header = std::fs::read_to_string(once.join("losses.csv")).unwrap();
    let header = header.lines().next().unwrap().to_string();
    assert_eq!(
        header,
        "step,d_s_loss_real,d_s_loss_fake,d_t_loss_real,d_t_loss_fake,g_s_loss,g_t_loss,seconds"
    );
    for f in ["step_000004.gif", "step_000004.png", "real.gif"] {
        let bytes = std::fs::read(once.join("samples").join(f)).unwrap();
        assert!(bytes.len() > 100, "{f}");
    }
    let gif = std::fs::read(once.join("samples/real.gif")).unwrap();
    assert_eq!(&gif[..6], b"GIF89a");
    // A looping animation: the NETSCAPE2.0 extension and one image per frame (4).
    assert!(gif.windows(11).any(|w| w == b"NETSCAPE2.0"));
    assert!(gif.iter().filter(|&&b| b == 0x2C).count() >= 4);
    let ckpt = Checkpoint::load(&once.join("checkpoints/step_000004.safetensors")).unwrap();
    for name in [
        "g.fc.weight",
        "g_gru_c.conv_c.weight",
        "g_frames.up0.conv1.weight",
        "d_s.down0.conv1.weight.sn_u",
        "d_t.down0.conv1.weight.sn_u",
        "d_t2.fc.weight.sn_u",
        "g_ema.fc.weight",
    ] {
        assert!(ckpt.tensors.contains_key(name), "checkpoint has no {name}");
    }
    train(&split, "2");
    let err = ok(bin()
        .args(["train", "--steps", "4", "--resume"])
        .arg(&split));
    assert!(err.contains("at step 2"), "{err}");
    let last = "checkpoints/step_000004.safetensors";
    let (a, b) = (
        Checkpoint::load(&once.join(last)).unwrap(),
        Checkpoint::load(&split.join(last)).unwrap(),
    );
    assert_eq!(a.counters, b.counters);
    for (name, (_, data)) in &a.tensors {
        let same = data
            .iter()
            .zip(&b.tensors[name].1)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs after the resume");
    }
    assert_eq!(csv_rows(&once), csv_rows(&split));
    assert_eq!(
        std::fs::read(once.join("samples/step_000004.gif")).unwrap(),
        std::fs::read(split.join("samples/step_000004.gif")).unwrap()
    );
    sample_writes_clips(&once, dir.path());
}

/// `sample` from the run: .npy [N, T, H, W] in [-1, 1], a looping .gif, and a .png refused.
fn sample_writes_clips(run_dir: &Path, dir: &Path) {
    let npy = dir.join("clips.npy");
    ok(bin()
        .args(["sample", "--device", "cpu", "--count", "3", "--checkpoint"])
        .arg(run_dir)
        .arg("--out")
        .arg(&npy));
    let (values, shape) = wgpu_gan::io::npy::read_npy(&npy).unwrap();
    assert_eq!(shape, vec![3, 4, 16, 16]);
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(values.iter().any(|&v| v != values[0]));
    let gif = dir.join("clips.gif");
    ok(bin()
        .args(["sample", "--device", "cpu", "--count", "5", "--checkpoint"])
        .arg(run_dir)
        .arg("--out")
        .arg(&gif));
    assert_eq!(&std::fs::read(&gif).unwrap()[..6], b"GIF89a");
    let out = run(bin()
        .args(["sample", "--device", "cpu", "--checkpoint"])
        .arg(run_dir)
        .args(["--out"])
        .arg(dir.join("x.png")));
    assert!(!out.status.success());
}

#[test]
fn dvdgan_a_nan_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    let out = run(bin()
        .args(["train", "--steps", "4", "--lr-d", "1e30", "--lr-g", "1e30"])
        .args(SMALL)
        .arg("--out")
        .arg(&r));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("went NaN or infinite"),
        "{err}"
    );
}

/// Runs and asserts: failure, one line naming the flag, no run directory.
fn fails(args: &[&str], want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    let out = run(bin()
        .args([
            "train", "--model", "dvdgan", "--device", "cpu", "--steps", "1",
        ])
        .args(args)
        .arg("--out")
        .arg(&r));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: '{want}' not in {err}");
    assert!(!r.exists(), "{args:?} made a run directory");
}

#[test]
fn dvdgan_bad_input_is_one_line() {
    fails(
        &["--digit-size", "40"],
        "--digit-size 40 is larger than the canvas",
    );
    fails(
        &["--size", "64", "--digit-size", "65"],
        "larger than the canvas",
    );
    fails(&["--frames", "1"], "--frames 1");
    fails(&["--ds-frames", "9"], "--ds-frames 9");
    fails(&["--size", "24"], "halve down to 4");
    fails(&["--size", "8"], "halve down to 4");
    fails(&["--frames", "6"], "multiple of 4");
    fails(&["--no-spatial-d", "--no-temporal-d"], "no discriminator");
}

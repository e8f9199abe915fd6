//! Runs nobody can corrupt (issue 21): one trainer per run directory, even against a killed
//! holder; checkpoints holding NaN refused by name; `sample` outputs sized before anything is
//! allocated; image folders with symlink loops read once, with few warnings.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use wgpu_gan::checkpoint::Checkpoint;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning); no
    // folder cache outside the test (tests/folder_cache.rs tests it).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off")
        .env("WGPU_GAN_CACHE_DIR", "");
    c
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(c: &mut Command) -> String {
    let out = c.output().expect("spawn wgpu-gan");
    let err = stderr(&out);
    assert!(out.status.success(), "wgpu-gan failed: {err}");
    err
}

/// Fails with one line (besides warnings) holding every `want`, no panic or abort.
fn fails_in_one_line(out: &Output, wants: &[&str]) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "succeeded: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning:")).collect();
    assert_eq!(lines.len(), 1, "more than one line:\n{err}");
    for w in wants {
        assert!(err.contains(w), "'{w}' not in: {err}");
    }
    err
}

/// A 2-step CPU run of the seed MLP GAN (checkpoints at steps 0, 1 and 2).
fn short_run(dir: &Path) -> PathBuf {
    let r = dir.join("r");
    ok(bin()
        .args([
            "train",
            "--device",
            "cpu",
            "--steps",
            "2",
            "--log-every",
            "1",
        ])
        .args(["--checkpoint-every", "1", "--sample-every", "100", "--out"])
        .arg(&r));
    r
}

/// The steps of losses.csv's rows.
fn csv_steps(run: &Path) -> Vec<usize> {
    std::fs::read_to_string(run.join("losses.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn two_trainers_on_one_run_one_trains_and_the_other_names_its_pid() {
    let dir = tempfile::tempdir().unwrap();
    let r = short_run(dir.path());
    let resume = || {
        bin()
            .args(["train", "--steps", "40", "--log-every", "2"])
            .args(["--checkpoint-every", "100", "--resume"])
            .arg(&r)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (resume(), resume());
    let pids = [a.id(), b.id()];
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let won: Vec<usize> = (0..2).filter(|&i| outs[i].status.success()).collect();
    assert_eq!(won.len(), 1, "exactly one trains: {outs:?}");
    let (winner, loser) = (won[0], 1 - won[0]);
    let pid = format!("PID {}", pids[winner]);
    fails_in_one_line(&outs[loser], &["in use by another trainer", &pid]);
    let steps = csv_steps(&r);
    assert!(
        steps.windows(2).all(|w| w[1] > w[0]),
        "rows strictly increasing: {steps:?}"
    );
    assert_eq!(steps.last(), Some(&40));
}

#[test]
fn a_trainer_killed_with_sigkill_leaves_no_lock_that_blocks_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    let mut holder = bin()
        .args(["train", "--device", "cpu", "--steps", "1000000"])
        .args(["--checkpoint-every", "20", "--log-every", "20", "--out"])
        .arg(&r)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The initial checkpoint comes right after the lock is taken; give up after a minute.
    let latest = r.join("checkpoints/latest");
    for _ in 0..1200 {
        if latest.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(latest.exists(), "the holder never wrote a checkpoint");
    // Bounded, should it train after all.
    let second = bin()
        .args(["train", "--steps", "100", "--resume"])
        .arg(&r)
        .output()
        .unwrap();
    let pid = format!("PID {}", holder.id());
    fails_in_one_line(&second, &["in use by another trainer", &pid]);
    holder.kill().unwrap(); // SIGKILL: no destructor, no unlock of ours runs
    holder.wait().unwrap();
    assert!(
        r.join(".lock").exists(),
        "the stale lock file is still there"
    );
    let newest = wgpu_gan::train::resume::checkpoint_files(&r)[0].clone();
    let name = newest.file_name().unwrap().to_string_lossy().into_owned();
    let step: usize = name["step_".len()..name.len() - ".safetensors".len()]
        .parse()
        .unwrap();
    let steps = (step + 2).to_string();
    let err = ok(bin().args(["train", "--steps", &steps, "--resume"]).arg(&r));
    assert!(err.contains(&format!("at step {step}")), "{err}");
}

/// `ckpt` rewritten with the first `n` values of `tensor` set to NaN: otherwise valid.
fn with_nans(ckpt: &Path, tensor: &str, n: usize, out: &Path) {
    use safetensors::tensor::TensorView;
    let bytes = std::fs::read(ckpt).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut data: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    let (_, _, _, d) = data.iter_mut().find(|(name, ..)| name == tensor).unwrap();
    assert!(d.len() >= 4 * n, "{tensor} has fewer than {n} values");
    for v in d.chunks_exact_mut(4).take(n) {
        v.copy_from_slice(&f32::NAN.to_le_bytes());
    }
    let views: Vec<(String, TensorView)> = data
        .iter()
        .map(|(name, dtype, shape, d)| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), d).unwrap(),
            )
        })
        .collect();
    let meta = header.metadata().clone();
    std::fs::write(out, safetensors::serialize(views, meta).unwrap()).unwrap();
}

#[test]
fn a_checkpoint_with_nan_weights_is_refused_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let r = short_run(dir.path());
    let good = r.join("checkpoints/step_000002.safetensors");
    let bad = dir.path().join("nan.safetensors");
    with_nans(&good, "g.bn1.weight", 16, &bad);
    let npy = dir.path().join("s.npy");
    std::fs::write(&npy, b"a good file").unwrap();
    let sample = |extra: &[&str]| {
        bin()
            .args(["sample", "--device", "cpu", "--count", "8", "--checkpoint"])
            .arg(&bad)
            .arg("--out")
            .arg(&npy)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = sample(&[]);
    fails_in_one_line(&out, &["g.bn1.weight", "16 NaN", "--allow-nonfinite"]);
    assert_eq!(
        std::fs::read(&npy).unwrap(),
        b"a good file",
        "not overwritten"
    );
    // A classifier that is not there: a checkpoint that loads fails on it, fast.
    let eval = bin()
        .args(["eval", "--device", "cpu", "--checkpoint"])
        .arg(&bad)
        .arg("--classifier")
        .arg(dir.path().join("none.safetensors"))
        .output()
        .unwrap();
    fails_in_one_line(&eval, &["g.bn1.weight"]);
    // The escape hatch loads it as it is.
    let out = sample(&["--allow-nonfinite"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (images, _) = wgpu_gan::io::npy::read_npy(&npy).unwrap();
    assert!(images.iter().any(|v| v.is_nan()));
    // A resume skips the broken newest checkpoint for the one before it.
    std::fs::copy(&bad, &good).unwrap();
    let err = ok(bin().args(["train", "--steps", "3", "--resume"]).arg(&r));
    assert!(
        err.contains("g.bn1.weight") && err.contains("at step 1"),
        "{err}"
    );
    assert!(Checkpoint::load(&bad).is_err());
}

#[test]
fn sample_refuses_outputs_too_large_up_front_and_streams_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let r = short_run(dir.path());
    let sample = |count: &str, out: &Path| {
        bin()
            .args([
                "sample",
                "--device",
                "cpu",
                "--count",
                count,
                "--checkpoint",
            ])
            .arg(&r)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let npy = out_dir.join("big.npy");
    let out = sample("100000000000", &npy);
    fails_in_one_line(&out, &["100000000000", "285.2 TiB", "free"]);
    let png = out_dir.join("big.png");
    let out = sample("100000000000", &png);
    fails_in_one_line(&out, &["100000000000", "at most", ".npy"]);
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "nothing written"
    );
    // Several batches streamed into the file equal the images made in memory.
    let npy = out_dir.join("s.npy");
    ok(bin()
        .args(["sample", "--device", "cpu", "--count", "601", "--seed", "3"])
        .arg("--checkpoint")
        .arg(&r)
        .arg("--out")
        .arg(&npy));
    let (streamed, shape) = wgpu_gan::io::npy::read_npy(&npy).unwrap();
    assert_eq!(shape, vec![601, 28, 28]);
    let ckpt = wgpu_gan::train::resolve_checkpoint(&r);
    let cpu = wgpu_gan::exec::DeviceKind::Cpu;
    let gpu = wgpu_gan::gpu::GpuOptions::default();
    let whole = wgpu_gan::sample::sample(&ckpt, 601, 3, None, cpu, &gpu).unwrap();
    assert!(streamed == whole.images, "streamed file differs");
}

fn write_png(path: &Path, seed: u8) {
    let img = image::GrayImage::from_fn(16, 16, |x, y| image::Luma([(x * 16 + y) as u8 ^ seed]));
    img.save(path).unwrap();
}

#[cfg(unix)]
#[test]
fn an_image_folder_with_a_symlink_loop_is_read_once_with_few_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    for (i, name) in ["a.png", "b.png", "sub/c.png", "sub/d.png"]
        .iter()
        .enumerate()
    {
        write_png(&images.join(name), i as u8 * 50);
    }
    std::os::unix::fs::symlink("..", images.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink("sub", images.join("again")).unwrap();
    for i in 0..9 {
        std::fs::write(images.join(format!("broken{i}.png")), b"not a png").unwrap();
    }
    let ds = wgpu_gan::data::folder::load_folder(&images, 1, 8).unwrap();
    assert_eq!(ds.count, 4, "each image once");
    let run = dir.path().join("run");
    let err = ok(bin()
        .args([
            "train",
            "--device",
            "cpu",
            "--model",
            "dcgan64",
            "--channels",
            "1",
        ])
        .args([
            "--ngf",
            "2",
            "--ndf",
            "2",
            "--steps",
            "1",
            "--batch-size",
            "2",
        ])
        .arg("--data-folder")
        .arg(&images)
        .arg("--out")
        .arg(&run));
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert!(warnings.len() <= 8, "{} warnings:\n{err}", warnings.len());
    assert!(err.contains("broken0.png"), "the first are named: {err}");
    assert!(err.contains("and 4 more"), "the rest are counted: {err}");
}

//! Autotuning through the binary (`--tune`, `gpu::tune`): timing fills the cache in
//! $XDG_CACHE_HOME (a temporary one here), `info --tune` prints it, and a resume takes the
//! kernel choices from the checkpoint, bit for bit, with the cache gone.

mod common;

use std::path::Path;
use std::process::Command;
use wgpu_gan::checkpoint::Checkpoint;

/// The binary with its tuning cache in `cache` and a short budget.
fn bin(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("XDG_CACHE_HOME", cache)
        .env("WGPU_GAN_TUNE_BUDGET_MS", "1500")
        .env_remove("WGPU_GAN_TUNE")
        .env_remove("WGPU_GAN_KERNELS");
    c
}

#[track_caller]
fn ok(c: &mut Command) -> String {
    let out = c.output().expect("spawn wgpu-gan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("panicked"), "{err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tune_full_fills_the_cache_that_info_prints() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let profile = [
        "profile",
        "--device",
        "gpu",
        "--warmup",
        "1",
        "--iterations",
        "1",
    ];
    let text = ok(bin(&cache).args(profile).args(["--tune", "full"]));
    assert!(text.contains("dispatches per iteration:"), "{text}");
    let files: Vec<_> = std::fs::read_dir(cache.join("wgpu-gan")).unwrap().collect();
    assert_eq!(files.len(), 1, "one cache file for the one adapter");
    let info = ok(bin(&cache).args(["info", "--tune"]));
    assert!(info.contains("tuning cache:"), "{info}");
    let choices = info.lines().filter(|l| l.contains(" -> ")).count();
    assert!(
        choices > 0,
        "timing chose kernels within the budget\n{info}"
    );
    assert!(
        info.contains("matmul_bt_vec4 m=32"),
        "the seed's forward\n{info}"
    );
}

fn same_state(a: &Path, b: &Path) {
    let (ca, cb) = (Checkpoint::load(a).unwrap(), Checkpoint::load(b).unwrap());
    assert_eq!(ca.tensors.len(), cb.tensors.len());
    for (name, (_, data)) in &ca.tensors {
        let same = data
            .iter()
            .zip(&cb.tensors[name].1)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs bit for bit");
    }
}

/// Trained with the GPU-shaped kernels forced, resumed without the force and without a cache:
/// only the checkpoint's `kernel_choices` can make the resumed steps equal the straight run.
#[test]
fn resume_takes_the_kernel_choices_from_the_checkpoint() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    // The weight-gradient kernel alone: the least slow of the GPU-shaped ones on lavapipe.
    let forced = "matmul_at_small_k";
    let train = |out: &Path, steps: &str| {
        let flags = [
            "--log-every",
            "1",
            "--sample-every",
            "2",
            "--checkpoint-every",
            "1",
        ];
        ok(bin(&cache)
            .env("WGPU_GAN_KERNELS", forced)
            .args([
                "train", "--device", "gpu", "--tune", "off", "--steps", steps,
            ])
            .args(flags)
            .arg("--out")
            .arg(out));
    };
    let (once, split) = (dir.path().join("once"), dir.path().join("split"));
    train(&once, "2");
    train(&split, "1");
    let ckpt = Checkpoint::load(&split.join("checkpoints/step_000001.safetensors")).unwrap();
    let choices = &ckpt.metadata["kernel_choices"];
    assert!(choices.contains("matmul_at_small_k+fused"), "{choices}");
    let _ = std::fs::remove_dir_all(&cache);
    ok(bin(&cache)
        .args(["train", "--steps", "2", "--tune", "full", "--resume"])
        .arg(&split));
    let last = "checkpoints/step_000002.safetensors";
    same_state(&once.join(last), &split.join(last));
}

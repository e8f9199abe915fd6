//! `--model srgan` through the binary: a short training and `upscale` end to end (PNG in, PNG
//! out, an image larger than the tiles), seamless tiles, exact resume across the end of
//! pretraining, and bad input (one line, non-zero exit).

mod common;

use common::{bin, run};

use std::path::Path;
use std::process::Command;
use wgpu_gan::checkpoint::Checkpoint;
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::upscale::Upscaler;

/// Runs `c`, which must succeed; returns its standard output then its standard error.
fn ok(c: &mut Command) -> String {
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "wgpu-gan failed: {err}");
    String::from_utf8_lossy(&out.stdout).to_string() + &err
}

/// Fails with one line (after any progress output) that contains `want`.
fn fails(c: &mut Command, want: &str) {
    let out = run(c);
    assert!(!out.status.success(), "should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(last.contains(want), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{err}"
    );
}

/// A small srgan: C = 8, one block, D from 8, batch 4.
const SMALL: [&str; 10] = [
    "--g-width",
    "8",
    "--res-blocks",
    "1",
    "--d-width",
    "8",
    "--batch-size",
    "4",
    "--seed",
    "3",
];

fn train(out: &Path, pretrain: usize, steps: usize, device: &str) {
    ok(bin()
        .args(["train", "--model", "srgan", "--device", device])
        .args(SMALL)
        .args(["--pretrain-steps", &pretrain.to_string()])
        .args(["--steps", &steps.to_string()])
        .args([
            "--log-every",
            "2",
            "--sample-every",
            "4",
            "--checkpoint-every",
            "3",
        ])
        // The decay's default, half of --steps, would differ between runs of other lengths.
        .args(["--lr-decay-at", "2"])
        .arg("--out")
        .arg(out));
}

/// A w x h grayscale PNG of a smooth pattern.
fn gray_png(path: &Path, w: u32, h: u32) {
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([((x * 7 + y * 3) % 256) as u8 / 2 + ((x / 5 + y / 4) % 2) as u8 * 100])
    });
    img.save(path).unwrap();
}

#[test]
fn a_short_srgan_run_then_upscale_png_in_png_out_tiled() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    train(&run_dir, 2, 2, "cpu");
    let csv = std::fs::read_to_string(run_dir.join("losses.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("psnr,ssim,psnr_bicubic,ssim_bicubic"),
        "{header}"
    );
    assert!(run_dir.join("samples/step_000004.png").exists());
    // 40x30 LR: larger than the 28x28 tiles G runs on at x4, so tiled.
    let (input, out) = (dir.path().join("lr.png"), dir.path().join("sr.png"));
    gray_png(&input, 40, 30);
    let reference = dir.path().join("hr.png");
    gray_png(&reference, 160, 120);
    let text = ok(bin()
        .args(["upscale", "--device", "cpu", "--checkpoint"])
        .arg(&run_dir)
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .arg("--reference")
        .arg(&reference));
    assert!(text.contains("PSNR") && text.contains("bicubic"), "{text}");
    let sr = image::open(&out).unwrap();
    assert_eq!((sr.width(), sr.height()), (160, 120));
    assert_eq!(sr.color().channel_count(), 1);
}

/// Tiles blend without seams: G on four overlapping 28x28 tiles of a 40x40 image against G
/// planned for the whole image at once.
#[test]
fn tiled_upscaling_matches_the_whole_image_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    train(&run_dir, 2, 1, "cpu");
    let path = wgpu_gan::train::resolve_checkpoint(&run_dir);
    let ckpt = Checkpoint::load(&path).unwrap();
    let gpu = GpuOptions::default();
    let img: Vec<f32> = (0..40 * 40)
        .map(|i| ((i % 40) as f32 * 0.3).sin() * ((i / 40) as f32 * 0.2).cos())
        .collect();
    let mut tiled = Upscaler::new(&ckpt, DeviceKind::Cpu, &gpu).unwrap();
    assert_eq!(tiled.model.lr_size, 28);
    let a = tiled.upscale(&img, (40, 40)).unwrap();
    let mut whole = Upscaler::with_tile(&ckpt, Some(40), 1, (DeviceKind::Cpu, &gpu)).unwrap();
    let b = whole.upscale(&img, (40, 40)).unwrap();
    assert_eq!(a.len(), 160 * 160);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    let mean = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    // Measured: mean 6.2e-4, worst 0.011; a plain average of the overlaps instead of the tent
    // (seams at the tile edges): mean 2.5e-3, worst 0.053.
    assert!(mean < 1.5e-3 && worst < 0.025, "mean {mean}, worst {worst}");
}

/// losses.csv without its wall-clock column.
fn rows(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("losses.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let skip = header.iter().position(|h| *h == "seconds").unwrap();
    text.lines()
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            [&v[..skip], &v[skip + 1..]].concat().join(",")
        })
        .collect()
}

fn same_checkpoints(a: &Path, b: &Path) {
    let (ca, cb) = (Checkpoint::load(a).unwrap(), Checkpoint::load(b).unwrap());
    assert_eq!(ca.counters, cb.counters, "counters");
    assert_eq!(ca.tensors.len(), cb.tensors.len());
    for (name, (_, data)) in &ca.tensors {
        let other = &cb.tensors[name].1;
        let same = data
            .iter()
            .zip(other)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs bit for bit");
    }
}

/// 5 pretraining + 4 GAN iterations in one go, against a run stopped at step 3 (inside
/// pretraining) and resumed: equal bit for bit. The chunk from step 4 to the log point at 6
/// would straddle the end of pretraining: the step counts show each stage ran exactly its own.
fn resume_across_pretraining(device: &str) {
    if device == "gpu" && common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (once, split) = (dir.path().join("once"), dir.path().join("split"));
    train(&once, 5, 4, device);
    train(&split, 5, 1, device);
    // Back to the checkpoint inside pretraining, as if the run had stopped there.
    let ckpts = split.join("checkpoints");
    std::fs::remove_file(ckpts.join("step_000006.safetensors")).unwrap();
    std::fs::write(ckpts.join("latest"), "step_000003.safetensors").unwrap();
    let err = ok(bin()
        .args(["train", "--steps", "4", "--resume"])
        .arg(&split));
    assert!(err.contains("at step 3"), "{err}");
    let last = "checkpoints/step_000009.safetensors";
    same_checkpoints(&once.join(last), &split.join(last));
    // Iterations, D's Adam steps (GAN iterations), G's (pretraining and GAN).
    let counters = Checkpoint::load(&once.join(last)).unwrap().counters;
    assert_eq!(counters[..3], [9, 4, 9], "{counters:?}");
    assert_eq!(rows(&once), rows(&split), "losses.csv");
    let png = "samples/step_000009.png";
    let read = |run: &Path| std::fs::read(run.join(png)).unwrap();
    assert_eq!(read(&once), read(&split));
}

#[test]
fn srgan_resume_across_the_end_of_pretraining_is_exact_on_the_cpu() {
    resume_across_pretraining("cpu");
}

#[test]
fn srgan_resume_across_the_end_of_pretraining_is_exact_on_the_gpu() {
    resume_across_pretraining("gpu");
}

#[test]
fn srgan_refuses_an_hr_size_the_scale_does_not_divide_and_scale_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let train = |extra: &[&str]| {
        let mut c = bin();
        c.args(["train", "--model", "srgan", "--device", "cpu"])
            .args(extra)
            .arg("--out")
            .arg(&out);
        c
    };
    fails(
        &mut train(&["--hr-size", "30"]),
        "--hr-size 30 is not divisible by --scale 4",
    );
    fails(
        &mut train(&["--scale", "3"]),
        "--scale 3: srgan upscales by 2 or 4",
    );
    assert!(!out.exists(), "a refused run leaves no directory");
}

#[test]
fn upscale_refuses_wrong_channels_and_a_checkpoint_that_is_not_srgan_and_sample_srgan() {
    let dir = tempfile::tempdir().unwrap();
    let (sr_run, mlp_run) = (dir.path().join("sr"), dir.path().join("mlp"));
    train(&sr_run, 1, 1, "cpu");
    ok(bin()
        .args(["train", "--steps", "1", "--device", "cpu", "--out"])
        .arg(&mlp_run));
    let rgb = dir.path().join("rgb.png");
    image::RgbImage::from_pixel(20, 20, image::Rgb([10, 200, 30]))
        .save(&rgb)
        .unwrap();
    let gray = dir.path().join("gray.png");
    gray_png(&gray, 20, 20);
    let out = dir.path().join("out.png");
    let upscale = |ckpt: &Path, input: &Path| {
        let mut c = bin();
        c.args(["upscale", "--device", "cpu", "--checkpoint"])
            .arg(ckpt);
        c.arg("--input").arg(input).arg("--out").arg(&out);
        c
    };
    fails(
        &mut upscale(&sr_run, &rgb),
        "has 3 channels but the model upscales 1-channel",
    );
    fails(
        &mut upscale(&mlp_run, &gray),
        "is a mlp checkpoint, not an srgan one",
    );
    assert!(!out.exists(), "nothing written");
}

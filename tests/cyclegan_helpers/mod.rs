//! Shared by tests/cyclegan_cli.rs and tests/cyclegan_commands.rs: the binary, small image
//! folders and a small CycleGAN run's flags.
#![allow(dead_code)]

use image::{GrayImage, RgbImage};
use std::path::Path;
use std::process::Command;

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("wgpu-gan-cyclegan-cache"),
        )
        .env("WGPU_GAN_TUNE", "off");
    c
}

pub fn ok(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("spawn");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{args:?} failed: {err}");
    err
}

/// Runs and asserts: failure, one line (warnings aside), containing every `want`, no panic.
pub fn fails(args: &[&str], wants: &[&str]) {
    let out = bin().args(args).output().expect("spawn");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning:")).collect();
    assert!(!out.status.success(), "{args:?} succeeded: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_eq!(
        lines.len(),
        1,
        "{args:?} printed more than one line:\n{err}"
    );
    for w in wants {
        assert!(err.contains(w), "{args:?}: '{w}' not in: {err}");
    }
}

/// `n` gray images of `w`x`h` in `dir`, each a different pattern.
pub fn gray_folder(dir: &Path, n: u32, (w, h): (u32, u32)) {
    std::fs::create_dir_all(dir).unwrap();
    for k in 0..n {
        let img = GrayImage::from_fn(w, h, |x, y| {
            image::Luma([((x * 9 + y * 5 + k * 31) % 256) as u8])
        });
        img.save(dir.join(format!("g{k}.png"))).unwrap();
    }
}

pub fn rgb_folder(dir: &Path, n: u32, (w, h): (u32, u32)) {
    std::fs::create_dir_all(dir).unwrap();
    for k in 0..n {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 + k * 40) as u8,
                (y * 11) as u8,
                ((x + y) * 3 + k) as u8,
            ])
        });
        img.save(dir.join(format!("c{k}.png"))).unwrap();
    }
}

/// A small model on 8x8 images: every flag of the family at work.
pub fn small(a: &Path, b: &Path, out: &Path, steps: &str) -> Vec<String> {
    [
        "train",
        "--model",
        "cyclegan",
        "--data-a",
        &a.to_string_lossy(),
        "--data-b",
        &b.to_string_lossy(),
        "--channels",
        "3",
        "--size",
        "8",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--res-blocks",
        "1",
        "--d-layers",
        "1",
        "--batch-size",
        "2",
        "--steps",
        steps,
        "--device",
        "cpu",
        "--log-every",
        "5",
        "--sample-every",
        "10",
        "--checkpoint-every",
        "10",
        "--out",
        &out.to_string_lossy(),
        "--tensorboard",
        "false",
        // One schedule whatever --steps (the default's follows it), that changes mid-run.
        "--lr-schedule",
        "step",
        "--lr-decay-at",
        "30",
    ]
    .map(String::from)
    .to_vec()
}

pub fn tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<(String, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.data().to_vec()))
        .collect();
    v.sort();
    v
}

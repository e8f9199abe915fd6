//! The first 30 iterations of every recipe on the CPU path, pinned bit for bit: every
//! losses.csv value (but the wall clock) and a hash of every checkpoint tensor, against
//! `tests/fixtures/pinned_30.txt`. It was written before the model-family redesign, so a
//! refactor of the training layer that changes any number fails here.
//!
//! To regenerate after an intended change of numbers: `WGPU_GAN_PIN_WRITE=1 cargo test
//! --release --test pinned`, and say why in the commit.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use wgpu_gan::checkpoint::Checkpoint;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pinned_30.txt");

/// (model, extra flags): each recipe as it ships, shrunk only where 30 CPU iterations would
/// take long (dcgan64's widths and batch).
const RECIPES: &[(&str, &[&str])] = &[
    ("mlp", &[]),
    ("cgan", &[]),
    ("acgan", &[]),
    ("infogan", &[]),
    ("wgan-gp", &[]),
    ("dcgan", &["--g-width", "32", "--d-width", "16"]),
    (
        "dcgan64",
        &["--ngf", "8", "--ndf", "8", "--batch-size", "8"],
    ),
];

/// FNV-1a over the f32 bits: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(values: &[f32]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A folder of 24 small RGB PNGs, a deterministic pattern each.
fn image_folder(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for k in 0..24u32 {
        let img = image::RgbImage::from_fn(40, 40, |x, y| {
            let v = |s: u32| ((x * (k + s) + y * (3 + s) + k * 7) % 256) as u8;
            image::Rgb([v(1), v(2), v(5)])
        });
        img.save(dir.join(format!("{k:02}.png"))).unwrap();
    }
}

/// The pinned lines of one recipe: `model csv <row>` per losses.csv row, then `model tensor
/// <name> <shape> <hash>` per checkpoint tensor, and the step counters.
fn pinned_lines(model: &str, flags: &[&str], work: &Path) -> Vec<String> {
    let out = work.join(model);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_CACHE_DIR", "")
        .args([
            "train", "--model", model, "--device", "cpu", "--steps", "30",
        ])
        .args([
            "--log-every",
            "1",
            "--sample-every",
            "30",
            "--checkpoint-every",
            "30",
        ])
        .args(["--seed", "11"])
        .args(flags)
        .arg("--out")
        .arg(&out);
    if model == "dcgan64" {
        let folder = work.join("folder");
        image_folder(&folder);
        cmd.arg("--data-folder").arg(folder);
    }
    let run = cmd.output().expect("spawn wgpu-gan");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{model}: {err}");
    let csv = std::fs::read_to_string(out.join("losses.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let clock = header.iter().position(|c| *c == "seconds").unwrap();
    let mut lines: Vec<String> = csv
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(clock);
            format!("{model} csv {}", cells.join(","))
        })
        .collect();
    let ckpt = Checkpoint::load(&out.join("checkpoints/step_000030.safetensors")).unwrap();
    lines.push(format!("{model} counters {:?}", ckpt.counters));
    let tensors: BTreeMap<_, _> = ckpt.tensors.iter().collect();
    for (name, (shape, data)) in tensors {
        lines.push(format!(
            "{model} tensor {name} {shape:?} {:016x}",
            fnv1a(data)
        ));
    }
    lines
}

#[test]
fn first_30_iterations_of_every_recipe_are_pinned() {
    let work = tempfile::tempdir().unwrap();
    let got: Vec<String> = RECIPES
        .iter()
        .flat_map(|(model, flags)| pinned_lines(model, flags, work.path()))
        .collect();
    if std::env::var_os("WGPU_GAN_PIN_WRITE").is_some() {
        std::fs::write(FIXTURE, got.join("\n") + "\n").unwrap();
        return;
    }
    let want = std::fs::read_to_string(FIXTURE).expect("tests/fixtures/pinned_30.txt");
    let want: Vec<&str> = want.lines().collect();
    let differ: Vec<String> = got
        .iter()
        .zip(&want)
        .filter(|(g, w)| g != *w)
        .take(8)
        .map(|(g, w)| format!("\n  got  {g}\n  want {w}"))
        .collect();
    assert!(
        differ.is_empty() && got.len() == want.len(),
        "{} lines vs {} pinned; first differences:{}",
        got.len(),
        want.len(),
        differ.concat()
    );
}

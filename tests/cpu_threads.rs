//! The CPU path's results do not depend on how many threads it runs on: the same short training
//! run with one thread and with two (`RAYON_NUM_THREADS`: the pool of every twin, GEMMs included)
//! writes the same losses.csv values and the same checkpoint tensors, bit for bit.
//! The recipes are sized so that the threaded paths run (batch norm, activations, Adam, the
//! reshapes and convolutions all pass `cpu::par::MIN_PARALLEL` words).

use std::path::Path;
use std::process::Command;
use wgpu_gan::checkpoint::Checkpoint;

const STEPS: &str = "4";

/// (model, extra flags).
const RECIPES: &[(&str, &[&str])] = &[
    ("mlp", &["--batch-size", "128"]),
    ("dcgan", &["--g-width", "32", "--d-width", "16"]),
    ("wgan-gp", &[]),
];

/// losses.csv without its wall-clock column, and every checkpoint tensor with its bits.
fn run(model: &str, flags: &[&str], threads: usize, out: &Path) -> (Vec<String>, Vec<String>) {
    let n = threads.to_string();
    let done = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("RAYON_NUM_THREADS", &n)
        .args(["train", "--model", model, "--device", "cpu", "--seed", "5"])
        .args([
            "--steps",
            STEPS,
            "--log-every",
            "1",
            "--sample-every",
            STEPS,
        ])
        .args(["--checkpoint-every", STEPS])
        .args(flags)
        .arg("--out")
        .arg(out)
        .output()
        .expect("spawn wgpu-gan");
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{model} on {threads} threads: {err}");
    let csv = std::fs::read_to_string(out.join("losses.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let clock = header.iter().position(|c| *c == "seconds").unwrap();
    let rows = csv
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(clock);
            cells.join(",")
        })
        .collect();
    let ckpt = Path::new(out).join(format!("checkpoints/step_{:06}.safetensors", 4));
    let ckpt = Checkpoint::load(&ckpt).unwrap();
    let mut tensors: Vec<String> = ckpt
        .tensors
        .iter()
        .map(|(name, (shape, data))| {
            let bits: Vec<u32> = data.iter().map(|v| v.to_bits()).collect();
            format!("{name} {shape:?} {bits:?}")
        })
        .collect();
    tensors.sort();
    tensors.push(format!("counters {:?}", ckpt.counters));
    (rows, tensors)
}

#[test]
fn cpu_path_is_the_same_on_one_and_two_threads() {
    let work = tempfile::tempdir().unwrap();
    for (model, flags) in RECIPES {
        let one = run(model, flags, 1, &work.path().join(format!("{model}-1")));
        let two = run(model, flags, 2, &work.path().join(format!("{model}-2")));
        assert_eq!(
            one.0, two.0,
            "{model}: losses.csv differs between 1 and 2 threads"
        );
        let differ: Vec<&str> = one
            .1
            .iter()
            .zip(&two.1)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.split(' ').next().unwrap_or(""))
            .collect();
        assert!(
            differ.is_empty() && one.1.len() == two.1.len(),
            "{model}: checkpoint tensors differ between 1 and 2 threads: {differ:?}"
        );
    }
}

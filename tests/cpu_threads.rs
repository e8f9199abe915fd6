//! The CPU path's results do not depend on how many threads it runs on: the same short training
//! run with one thread and with two (`RAYON_NUM_THREADS`: the pool of every twin, GEMMs included)
//! writes the same losses.csv values and the same checkpoint tensors, bit for bit.
//! The recipes are sized so that the threaded paths run (batch norm, activations, Adam, the
//! reshapes and convolutions all pass `cpu::par::MIN_PARALLEL` words); with two threads the
//! executor also runs independent ops side by side (`exec::cpu`'s graph), with one in order.

mod common;

use common::{bits, rand_vec};
use std::path::Path;
use std::process::Command;
use wgpu_gan::checkpoint::Checkpoint;
use wgpu_gan::cpu::batch_norm::{batch_norm_backward, BatchNormParams};
use wgpu_gan::cpu::matmul::{matmul, matmul_at, matmul_bt, MatmulParams, ACCUMULATE};

const STEPS: &str = "4";

/// (model, extra flags).
const RECIPES: &[(&str, &[&str])] = &[
    ("mlp", &["--batch-size", "128"]),
    ("dcgan", &["--g-width", "32", "--d-width", "16"]),
    ("wgan-gp", &[]),
    // Several nets whose passes the CPU executor's graph runs side by side (`exec::cpu`).
    ("cyclegan", &[]),
    (
        "dvdgan",
        &["--frames", "4", "--ds-frames", "2", "--batch-size", "4"],
    ),
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

/// `f` on a pool of `threads` threads (what `cpu::par` splits by inside it).
fn on<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(f)
}

/// Every GEMM twin cut into 1, 2, 3 and 5 pieces (rows, or columns for wide products; shapes
/// that are not multiples of the 8-wide cut, and a weight gradient's thin 16 x 144 product)
/// gives the uncut product's bits.
#[test]
fn gemm_pieces_give_the_whole_products_bits() {
    type Twin = fn(&MatmulParams, &[f32], &[f32], &[f32], &mut [f32]);
    let twins: [(&str, Twin); 3] = [
        ("matmul", matmul),
        ("matmul_at", matmul_at),
        ("matmul_bt", matmul_bt),
    ];
    for (m, n, k) in [
        (300, 70, 200),
        (40, 900, 150),
        (517, 517, 33),
        (16, 150, 1100),
    ] {
        let a = rand_vec(m * k, 1, -1.0, 1.0);
        let b = rand_vec(k * n, 2, -1.0, 1.0);
        let start = rand_vec(m * n, 3, -1.0, 1.0);
        let p = MatmulParams {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            flags: ACCUMULATE,
        };
        for (name, twin) in twins {
            let run = |threads| {
                let mut out = start.clone();
                on(threads, || twin(&p, &a, &b, &[], &mut out));
                bits(&out)
            };
            let one = run(1);
            for threads in [2, 3, 5] {
                assert!(
                    one == run(threads),
                    "{name} {m}x{n}x{k}: {threads} threads differ from 1"
                );
            }
        }
    }
}

/// Batch norm's per-channel sums split over channel groups: the same bits on 1, 2 and 3 threads.
#[test]
fn batch_norm_backward_is_the_same_on_any_pool() {
    let p = BatchNormParams {
        n: 16,
        c: 96,
        hw: 49,
        flags: 0,
        eps: 1e-5,
        momentum: 0.1,
    };
    let len = (p.n * p.c * p.hw) as usize;
    let (x, dy) = (rand_vec(len, 4, -2.0, 2.0), rand_vec(len, 5, -1.0, 1.0));
    let gamma_beta = rand_vec(2 * p.c as usize, 6, 0.5, 1.5);
    let mut saved = rand_vec(2 * p.c as usize, 7, 0.1, 1.0);
    saved[..p.c as usize].iter_mut().for_each(|m| *m -= 0.5);
    let run = |threads| {
        let (mut dx, mut grads) = (vec![0.0; len], vec![0.0; 2 * p.c as usize]);
        on(threads, || {
            batch_norm_backward(&p, &x, &dy, &gamma_beta, &saved, &mut dx, &mut grads)
        });
        (bits(&dx), bits(&grads))
    };
    let one = run(1);
    assert!(
        one == run(2) && one == run(3),
        "batch_norm_backward depends on the pool"
    );
}

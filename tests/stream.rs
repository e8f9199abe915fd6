//! Streamed datasets (train::stream): the ring gather equals the resident gather bit for bit,
//! op by op and over whole training runs (losses.csv and checkpoints), on lavapipe and on the
//! CPU path, and a streamed run resumes exactly.

mod common;

use common::{floats, gpu_matches_cpu};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use wgpu_gan::checkpoint::Checkpoint;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::ops::{self, RandomStream};
use wgpu_gan::program::{Program, View};
use wgpu_gan::train::schedule::DatasetViews;
use wgpu_gan::train::stream::{place, record_gather, Streamer, BUDGET_VAR};

const COUNT: usize = 53;
const IMAGE_LEN: usize = 7;
const BATCH: usize = 5;
const STREAMS: [u32; 2] = [3, 8];

/// Image i holds bytes 3i + col (mod 256) and label i % 10, so any mix-up shows.
fn dataset() -> (Vec<u8>, Vec<u8>) {
    let images = (0..COUNT * IMAGE_LEN)
        .map(|k| ((k / IMAGE_LEN) * 3 + k % IMAGE_LEN) as u8)
        .collect();
    (images, (0..COUNT).map(|i| (i % 10) as u8).collect())
}

/// A program with a counter increment and two real-batch gathers.
struct Gathers {
    prog: Program,
    ds: Option<DatasetViews>,
    counters: View,
    /// x and y of each gather.
    outs: Vec<View>,
}

/// [`Gathers`] with the dataset resident or streamed (budget 0), as a training program's
/// fills record them.
fn gathers(streamed: bool) -> Gathers {
    let mut prog = Program::new();
    let budget = if streamed { 0 } else { usize::MAX };
    let ds = place(&mut prog, (COUNT, IMAGE_LEN), BATCH, budget);
    let c = prog.tensor("counters", 4);
    let mut outs = Vec::new();
    ops::counter_increment(&mut prog, c, 0, "iteration");
    for (i, stream) in STREAMS.into_iter().enumerate() {
        let x = prog.tensor(&format!("x{i}"), BATCH * IMAGE_LEN);
        let y = prog.tensor(&format!("y{i}"), BATCH);
        let rs = RandomStream {
            seed: 11,
            stream,
            slot: 0,
        };
        record_gather(&mut prog, (rs, c), ds, (x, y), "gather").unwrap();
        outs.extend([x, y]);
    }
    Gathers {
        prog,
        ds: Some(ds),
        counters: c,
        outs,
    }
}

/// Submissions of `sizes` iterations (with a jump back, as a restore makes, before the last
/// three); the outputs after each, as bits.
fn run(exec: &mut dyn Executor, g: &Gathers, streamed: bool) -> Vec<Vec<u32>> {
    let (prog, ds, c) = (&g.prog, g.ds, g.counters);
    let (images, labels) = dataset();
    let ds_full = wgpu_gan::data::Dataset {
        name: "t".into(),
        images: images.clone(),
        labels: labels.clone(),
        count: COUNT,
        channels: 1,
        height: 1,
        width: IMAGE_LEN,
    };
    let mut streamer = Streamer::new(prog, ds, images, labels).unwrap();
    assert_eq!(streamer.is_some(), streamed);
    if let Some(views) = ds {
        wgpu_gan::train::stream::upload(exec, views, &ds_full);
    }
    let mut seen = Vec::new();
    let sizes = [1, 3, 20, 20, 7, 1, 1, 20, 2];
    for (i, &n) in sizes.iter().enumerate() {
        if i == sizes.len() - 3 {
            exec.write(c, &[9, 0, 0, 0]);
            if let Some(s) = streamer.as_mut() {
                s.set_counter(9);
            }
        }
        let most = streamer.as_ref().map_or(n, |s| s.capacity());
        let mut left = n;
        while left > 0 {
            let k = left.min(most);
            if let Some(s) = streamer.as_mut() {
                s.before(exec, k);
            }
            exec.run(0..prog.ops.len(), k).unwrap();
            if let Some(s) = streamer.as_mut() {
                s.prefetch(exec, k);
            }
            exec.wait().unwrap();
            left -= k;
        }
        for &v in &g.outs {
            seen.push(exec.read(v).unwrap());
        }
    }
    seen
}

/// The first output (submission, x or y of a gather) that differs, if any.
fn same(got: &[Vec<u32>], want: &[Vec<u32>], on: &str) {
    assert_eq!(got.len(), want.len());
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!(
            "{on}: streamed batches differ from resident ones at submission {}, output {}: \
             {:?} against {:?}",
            i / 4,
            i % 4,
            floats(&got[i]),
            floats(&want[i])
        );
    }
}

#[test]
fn streamed_gathers_equal_resident_ones_on_cpu_and_gpu() {
    let (resident, streamed) = (gathers(false), gathers(true));
    let want = run(&mut CpuExec::new(&resident.prog), &resident, false);
    let got = run(&mut CpuExec::new(&streamed.prog), &streamed, true);
    same(&got, &want, "CPU");
    // The gather really draws: batches differ between submissions.
    assert_ne!(want[0], want[4]);
    let Some(ctx) = common::gpu() else { return };
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &streamed.prog).unwrap();
    let got = run(&mut gpu, &streamed, true);
    same(&got, &want, "lavapipe");
}

#[test]
fn gather_streamed_gpu_matches_cpu() {
    // The ring and cursor a streamer staged on the CPU, replayed on both executors.
    let g = gathers(true);
    let (prog, ds, outs) = (&g.prog, g.ds, &g.outs);
    let (images, labels) = dataset();
    let mut exec = CpuExec::new(prog);
    let mut s = Streamer::new(prog, ds, images, labels).unwrap().unwrap();
    s.set_counter(4);
    s.before(&mut exec, 2);
    let ring = ds.and_then(|d| d.ring).unwrap();
    let inputs = [
        (g.counters, vec![5, 0, 0, 0]),
        (ring.cursor, exec.read(ring.cursor).unwrap()),
        (ring.ring, exec.read(ring.ring).unwrap()),
    ];
    // Only the gathers: the counter stays at 5, the second iteration staged.
    let mut gathers = prog.clone();
    gathers.ops.remove(0);
    let named: Vec<(&str, View)> = ["x0", "y0", "x1", "y1"]
        .into_iter()
        .zip(outs.iter().copied())
        .collect();
    gpu_matches_cpu(&gathers, &inputs, &named, 0.0, 0.0);
    let out = common::run_cpu(&gathers, &inputs, &[outs[0], outs[1]]);
    let (x, y) = (floats(&out[0]), floats(&out[1]));
    for b in 0..BATCH {
        let first = (x[b * IMAGE_LEN] * 127.5 + 127.5).round() as usize;
        assert_eq!(first % 3, 0, "row {b} starts an image");
        assert_eq!(y[b], ((first / 3) % 10) as f32, "label follows its image");
    }
}

fn bin(budget: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c.env_remove(BUDGET_VAR);
    if let Some(b) = budget {
        c.env(BUDGET_VAR, b);
    }
    c
}

/// Trains `steps` into `out` (resuming when `resume`); returns stderr.
fn train(budget: Option<&str>, args: &[&str], out: &Path, resume: bool) -> String {
    let mut c = bin(budget);
    c.args([
        "train",
        "--log-every",
        "3",
        "--sample-every",
        "6",
        "--checkpoint-every",
        "6",
    ]);
    c.args(["--seed", "5", "--tensorboard", "false"]).args(args);
    if resume {
        c.arg("--resume").arg(out);
    } else {
        c.arg("--out").arg(out);
    }
    let o = c.output().expect("spawn wgpu-gan");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success() && !err.contains("panicked"), "{err}");
    err
}

/// losses.csv without the wall-clock column.
fn csv_rows(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("losses.csv")).unwrap();
    let seconds = text
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "seconds")
        .unwrap();
    text.lines()
        .map(|l| {
            let mut v: Vec<&str> = l.split(',').collect();
            v.remove(seconds);
            v.join(",")
        })
        .collect()
}

fn assert_same_run(a: &Path, b: &Path) {
    assert_eq!(csv_rows(a), csv_rows(b), "losses.csv");
    let load = |p: &Path| Checkpoint::load(&wgpu_gan::train::resolve_checkpoint(p)).unwrap();
    let (ca, cb) = (load(a), load(b));
    assert_eq!(ca.counters, cb.counters, "counters");
    assert_eq!(ca.tensors.len(), cb.tensors.len());
    for (name, (shape, data)) in &ca.tensors {
        let (shape_b, data_b) = &cb.tensors[name];
        assert_eq!(shape, shape_b, "{name}");
        let same = data
            .iter()
            .zip(data_b)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs bit for bit");
    }
}

/// `model` on `device` for 12 steps, resident and streamed (a 4,096-byte budget).
fn streamed_equals_resident(model: &str, device: &str) {
    if device == "gpu" && common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (resident, streamed) = (dir.path().join("resident"), dir.path().join("streamed"));
    let args = ["--model", model, "--device", device, "--steps", "12"];
    let err = train(None, &args, &resident, false);
    assert!(!err.contains("streaming"), "{err}");
    let err = train(Some("4096"), &args, &streamed, false);
    assert!(err.contains("streaming it from host memory"), "{err}");
    assert_same_run(&resident, &streamed);
}

#[test]
fn streamed_cgan_equals_resident_on_the_cpu_path() {
    streamed_equals_resident("cgan", "cpu");
}

#[test]
fn streamed_cgan_equals_resident_on_lavapipe() {
    streamed_equals_resident("cgan", "gpu");
}

#[test]
fn streamed_wgan_gp_equals_resident_on_the_cpu_path() {
    // Five critic steps: five streamed gathers per iteration.
    streamed_equals_resident("wgan-gp", "cpu");
}

#[test]
fn streamed_run_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (once, split) = (dir.path().join("once"), dir.path().join("split"));
    let budget = Some("4096");
    let args = ["--device", "cpu", "--steps", "12"];
    train(budget, &args, &once, false);
    train(budget, &["--device", "cpu", "--steps", "6"], &split, false);
    train(budget, &args, &split, true);
    assert_same_run(&once, &split);
}

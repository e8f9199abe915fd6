//! Flat memory over long runs: resident memory after N submissions of a training program
//! against after N/10, on the adapter (lavapipe on CI) and on the CPU path. One test, the paths
//! in turn, so they do not share the process's resident set at the same time.
//!
//! What it guards: lavapipe (Mesa 22.3) recompiled shaders with the op parameters inlined
//! whenever a uniform buffer fed their loop bounds, and kept every compiled copy: the seed MLP
//! grew by about 0.7 MiB per iteration at batch 32 (3.2 GB at 3,000 iterations). Parameters now
//! sit in a read-only storage buffer (`gpu::exec`), which it does not inline.

mod common;

use wgpu_gan::exec::DeviceKind;
use wgpu_gan::train::{ModelKind, TrainConfig, Trainer};

/// Submissions in the long leg; the short leg is a tenth of it.
const N: usize = 40;
/// Iterations per submission, as `train` batches them between log points.
const PER: usize = 5;
/// Growth allowed between the legs: the leak above shows as about 120 MiB; allocator noise is
/// a few MiB.
const MARGIN_KIB: u64 = 16 * 1024;

/// VmRSS of this process in KiB, from /proc/self/status.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// (RSS after N/10 submissions, RSS after N) of the seed MLP at its defaults (batch 32) on
/// `device`; each submission is followed by the loss read-back and reset a log point does.
fn soak(device: DeviceKind) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        device,
        ..TrainConfig::for_model(ModelKind::Mlp)
    };
    let mut t = Trainer::new(cfg, dir.path(), &Default::default()).unwrap();
    let mut submit = |n: usize| {
        for _ in 0..n {
            t.run_iterations(PER).unwrap();
            t.check_finite().unwrap();
            t.take_losses(0.0).unwrap();
        }
    };
    submit(N / 10);
    let short = rss_kib();
    submit(N - N / 10);
    (short, rss_kib())
}

fn check(name: &str, (short, long): (u64, u64)) {
    eprintln!(
        "{name}: RSS {} MiB after {} submissions, {} MiB after {N}",
        short >> 10,
        N / 10,
        long >> 10
    );
    assert!(
        long <= short + MARGIN_KIB,
        "{name}: resident memory grew by {} KiB from {} to {N} submissions (margin {MARGIN_KIB} KiB)",
        long.saturating_sub(short),
        N / 10
    );
}

#[test]
#[cfg(target_os = "linux")]
fn resident_memory_stays_flat_over_submissions_on_gpu_and_cpu() {
    check("cpu", soak(DeviceKind::Cpu));
    if common::gpu().is_some() {
        check("gpu", soak(DeviceKind::Gpu));
    }
}

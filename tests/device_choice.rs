//! `--device auto` (the default) and the limits the device is opened with.

mod common;

use std::process::Command;
use wgpu_gan::exec::{choose, DeviceKind};
use wgpu_gan::gpu::{adapters, GpuOptions};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

fn stderr_of(c: &mut Command) -> String {
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

/// With no flags, `train` takes the CPU path unless the machine has a real GPU, and says which
/// and why in one line. On CI (lavapipe only) that is the CPU path.
#[test]
fn train_with_no_device_flag_says_what_auto_chose() {
    let dir = tempfile::tempdir().unwrap();
    let err = stderr_of(
        bin()
            .args(["train", "--steps", "1", "--log-every", "1", "--out"])
            .arg(dir.path().join("r")),
    );
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("device: ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    let real = adapters(&GpuOptions::default()).iter().any(|a| {
        use wgpu::DeviceType::*;
        matches!(
            a.get_info().device_type,
            DiscreteGpu | IntegratedGpu | VirtualGpu
        )
    });
    if real {
        assert!(lines[0].contains("auto chose the GPU"), "{err}");
    } else {
        assert!(lines[0].contains("auto chose the CPU path"), "{err}");
        assert!(err.contains("CPU reference path"), "{err}");
        assert_eq!(choose(&GpuOptions::default()).device, DeviceKind::Cpu);
    }
}

/// `--device gpu` still opens the adapter, lavapipe included, and prints no auto line.
#[test]
fn device_gpu_forces_the_adapter() {
    let Some(ctx) = common::gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let err = stderr_of(
        bin()
            .args(["train", "--device", "gpu", "--steps", "1", "--out"])
            .arg(dir.path().join("r")),
    );
    assert!(!err.contains("device: auto"), "{err}");
    assert!(err.contains(&ctx.info.name), "{err}");
}

/// `info` shows the limits the device is opened with (the adapter's) beside wgpu's defaults.
#[test]
fn info_shows_the_adapters_limits_and_wgpus_defaults() {
    let Some(ctx) = common::gpu() else { return };
    let out = bin().arg("info").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let d = wgpu::Limits::default();
    let shown = format!(
        "storage binding {} MiB [{}], buffer {} MiB [{}]",
        ctx.limits.max_storage_buffer_binding_size >> 20,
        d.max_storage_buffer_binding_size >> 20,
        ctx.limits.max_buffer_size >> 20,
        d.max_buffer_size >> 20
    );
    assert!(text.contains(&shown), "{shown} not in\n{text}");
}

/// A buffer over wgpu's default 128 MiB binding plans when the adapter's buffers may be that
/// large and each op binds at most a binding's worth of it (lavapipe: 2 GiB buffers, 128 MiB
/// bindings), and runs.
#[test]
fn a_buffer_over_128_mib_plans_within_the_adapters_limits() {
    let Some(ctx) = common::gpu() else { return };
    let words = (160usize << 20) / 4;
    if ctx.limits.max_buffer_size < words as u64 * 4 {
        eprintln!("SKIPPED: the adapter's buffers stop below 160 MiB");
        return;
    }
    let mut prog = wgpu_gan::program::Program::new();
    let big = prog.tensor("big", words);
    let y = prog.tensor("y", 64);
    let tail = wgpu_gan::program::View {
        offset: words - 64,
        len: 64,
        ..big
    };
    let relu = wgpu_gan::ops::Activation::Relu;
    wgpu_gan::ops::activation_forward(&mut prog, relu, tail, y, "relu").unwrap();
    let mut exec = wgpu_gan::exec::GpuExec::new(ctx, &prog).expect("plans");
    use wgpu_gan::exec::Executor;
    let x: Vec<f32> = (0..64).map(|i| i as f32 - 32.0).collect();
    exec.write_f32(tail, &x);
    exec.run(0..1, 1).unwrap();
    let out = exec.read_f32(y).unwrap();
    assert_eq!(out, x.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
}

/// `wgpu-gan info | head -1`: stdout closes before info prints; the process ends without a
/// panic ("failed printing to stdout: Broken pipe" before SIGPIPE got its default action).
#[test]
fn info_into_a_closed_pipe_ends_without_a_panic() {
    if common::gpu().is_none() {
        return;
    }
    let mut child = bin()
        .arg("info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

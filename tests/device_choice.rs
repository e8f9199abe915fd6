//! `--device auto` (the default) and the limits the device is opened with.

mod common;

use std::process::Command;
use wgpu_gan::exec::{choose, DeviceKind};
use wgpu_gan::gpu::{adapters, GpuOptions};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
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

//! Bad input: one clear line on stderr, a non-zero exit, no panic trace, nothing good
//! overwritten. One row per case; the helpers write the broken files.

mod common;

use flate2::{write::GzEncoder, Compression};
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

/// Runs and asserts: failure, one line, containing every `want`, no panic.
fn fails(args: &[&str], wants: &[&str]) {
    let out = bin().args(args).output().expect("spawn");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning:")).collect();
    assert!(!out.status.success(), "{args:?} succeeded: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?}: {err}"
    );
    assert_eq!(
        lines.len(),
        1,
        "{args:?} printed more than one line:\n{err}"
    );
    for w in wants {
        assert!(err.contains(w), "{args:?}: '{w}' not in: {err}");
    }
}

fn idx_images(count: u32, h: u32, w: u32, magic: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [magic, count, h, w] {
        v.extend(x.to_be_bytes());
    }
    v.extend(vec![7u8; (count * h * w) as usize]);
    v
}

fn idx_labels(count: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(0x801u32.to_be_bytes());
    v.extend(count.to_be_bytes());
    v.extend((0..count).map(|i| (i % 10) as u8));
    v
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx_dir(root: &Path, name: &str, images: &[u8], labels: &[u8]) -> String {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("train-images-idx3-ubyte.gz"), images).unwrap();
    std::fs::write(d.join("train-labels-idx1-ubyte.gz"), labels).unwrap();
    d.to_string_lossy().into_owned()
}

#[test]
fn bad_data_directories_and_files() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let out = root.join("out").to_string_lossy().into_owned();
    let train = |data: &str| {
        vec![
            "train", "--device", "cpu", "--steps", "1", "--data", data, "--out", &out,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let check = |data: &str, wants: &[&str]| {
        let args = train(data);
        fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), wants);
    };
    check(
        "/nonexistent/mnist",
        &["/nonexistent/mnist", "does not exist"],
    );
    std::fs::create_dir_all(root.join("empty")).unwrap();
    check(
        &root.join("empty").to_string_lossy(),
        &["train-images-idx3-ubyte"],
    );
    let labels = gz(&idx_labels(40));
    let good = gz(&idx_images(40, 28, 28, 0x803));
    check(
        &idx_dir(root, "truncated", &good[..good.len() / 2], &labels),
        &["train-images-idx3-ubyte"],
    );
    check(
        &idx_dir(root, "corrupt", b"\x1f\x8bthis is not gzip", &labels),
        &["gzip"],
    );
    check(
        &idx_dir(root, "magic", &gz(&idx_images(40, 28, 28, 0x999)), &labels),
        &["magic"],
    );
    let mut short = idx_images(40, 28, 28, 0x803);
    short.truncate(short.len() - 100);
    check(
        &idx_dir(root, "dims", &gz(&short), &labels),
        &["train-images-idx3-ubyte"],
    );
    check(
        &idx_dir(root, "counts", &good, &gz(&idx_labels(39))),
        &["40", "39"],
    );
    check(
        &idx_dir(root, "size", &gz(&idx_images(40, 32, 32, 0x803)), &labels),
        &["32x32", "28x28"],
    );
    assert!(
        !root.join("out").join("losses.csv").exists(),
        "nothing written on bad input"
    );
}

#[test]
fn bad_flags() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("o").to_string_lossy().into_owned();
    let base = ["train", "--device", "cpu", "--out", out.as_str()];
    let cases: &[(&[&str], &[&str])] = &[
        (&["--batch-size", "0"], &["--batch-size"]),
        (&["--batch-size", "20000"], &["larger than the dataset"]),
        (&["--steps", "0"], &["--steps"]),
        (&["--latent-dim", "0"], &["--latent-dim"]),
        (&["--lr", "NaN"], &["--lr"]),
        (&["--lr", "-1"], &["--lr"]),
        (&["--lr", "inf"], &["--lr"]),
        (&["--model", "stylegan"], &["stylegan"]),
        (&["--g-width", "8"], &["--g-width", "dcgan"]),
    ];
    for (extra, wants) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        fails(&args, wants);
    }
    // An output directory that cannot be created (a path under a regular file).
    let file = t.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let under = file.join("run").to_string_lossy().into_owned();
    fails(
        &["train", "--device", "cpu", "--steps", "1", "--out", &under],
        &["a-file"],
    );
}

#[test]
fn bad_checkpoints() {
    let t = tempfile::tempdir().unwrap();
    let npy = t.path().join("s.npy").to_string_lossy().into_owned();
    let sample = |ckpt: &Path, wants: &[&str]| {
        let c = ckpt.to_string_lossy().into_owned();
        fails(
            &[
                "sample",
                "--device",
                "cpu",
                "--count",
                "2",
                "--checkpoint",
                &c,
                "--out",
                &npy,
            ],
            wants,
        );
    };
    let corrupt = t.path().join("corrupt.safetensors");
    std::fs::write(&corrupt, b"definitely not safetensors").unwrap();
    sample(&corrupt, &["corrupt.safetensors"]);
    // Another program's safetensors (the PyTorch golden file) is not a wgpu-gan checkpoint.
    let other =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlp_seed_step.safetensors");
    sample(&other, &["not a wgpu-gan checkpoint"]);
    // A real checkpoint, truncated.
    let run = t.path().join("run");
    let ok = bin()
        .args([
            "train",
            "--device",
            "cpu",
            "--steps",
            "2",
            "--log-every",
            "1",
            "--out",
        ])
        .arg(&run)
        .output()
        .unwrap();
    assert!(ok.status.success());
    let ckpt = run.join("checkpoints/step_000002.safetensors");
    let bytes = std::fs::read(&ckpt).unwrap();
    let cut = t.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 1000]).unwrap();
    sample(&cut, &["cut.safetensors"]);
    assert!(
        !Path::new(&npy).exists(),
        "no output written from a bad checkpoint"
    );
}

#[test]
fn a_checkpoint_of_another_shape_names_the_tensor_and_both_shapes() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    let ok = bin()
        .args([
            "train",
            "--device",
            "cpu",
            "--steps",
            "1",
            "--latent-dim",
            "50",
            "--out",
        ])
        .arg(&run)
        .output()
        .unwrap();
    assert!(ok.status.success());
    let ckpt =
        wgpu_gan::checkpoint::Checkpoint::load(&run.join("checkpoints/step_000001.safetensors"))
            .unwrap();
    let err = ckpt
        .get("g.fc1.weight", &[256, 100])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("g.fc1.weight") && err.contains("[256, 50]") && err.contains("[256, 100]"),
        "{err}"
    );
}

#[test]
fn no_adapter_falls_back_to_the_cpu_for_train_and_is_an_error_for_info() {
    // No Metal on Linux: the Metal backend has no adapter here.
    if cfg!(target_os = "macos") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--backend", "metal", "train", "--steps", "1", "--out"])
        .arg(t.path().join("r"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("training on the CPU instead"),
        "{err}"
    );
    fails(
        &["--backend", "metal", "info"],
        &["no GPU adapter found", "mesa-vulkan-drivers"],
    );
}

#[test]
fn a_buffer_over_the_adapter_limit_names_the_tensor_and_the_limit() {
    let Some(ctx) = common::gpu() else { return };
    let limit = ctx.limits.max_storage_buffer_binding_size;
    let mut prog = wgpu_gan::program::Program::new();
    let words = (limit / 4 + 1) as usize;
    let x = prog.tensor("g.train.act3", words);
    let y = prog.tensor("g.train.act3.out", words);
    let relu = wgpu_gan::ops::Activation::Relu;
    wgpu_gan::ops::activation_forward(&mut prog, relu, x, y, "relu").unwrap();
    let err = wgpu_gan::gpu::GpuProgram::new(&ctx, &prog)
        .err()
        .expect("too large")
        .to_string();
    assert!(
        err.contains("g.train.act3") && err.contains(&limit.to_string()),
        "{err}"
    );
}

#[test]
fn a_shader_that_fails_to_compile_is_named() {
    let Some(ctx) = common::gpu() else { return };
    let err = ctx.compile(
        "shaders/broken.wgsl",
        "@compute @workgroup_size(1) fn f() { let x: f32 = 1u; }",
    );
    let Err(e) = err else {
        panic!("an invalid shader compiled")
    };
    let msg = e.to_string();
    assert!(msg.contains("shaders/broken.wgsl"), "{msg}");
}

#[test]
fn a_lost_device_is_an_error_not_a_panic() {
    use wgpu_gan::exec::Executor;
    let Some(_) = common::gpu() else { return };
    let ctx = std::sync::Arc::new(wgpu_gan::gpu::Context::new(&Default::default()).unwrap());
    let mut prog = wgpu_gan::program::Program::new();
    let x = prog.tensor("x", 64);
    let y = prog.tensor("y", 64);
    wgpu_gan::ops::activation_forward(&mut prog, wgpu_gan::ops::Activation::Relu, x, y, "relu")
        .unwrap();
    let mut exec = wgpu_gan::exec::GpuExec::new(std::sync::Arc::clone(&ctx), &prog).unwrap();
    ctx.device.destroy();
    let r = exec
        .run(0..1, 1)
        .and_then(|_| exec.wait())
        .and_then(|_| exec.read(y).map(|_| ()));
    assert!(r.is_err(), "work on a destroyed device must fail");
}

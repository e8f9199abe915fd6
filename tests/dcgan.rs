//! DCGAN end to end: one iteration at the real sizes on both executors, short `--model dcgan`
//! and `--model dcgan64 --data-folder` runs, the image-folder loader and the DCGAN init.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::train::{upload_initial_state, ModelKind, TrainConfig};

/// One `--model dcgan` iteration at batch 64 from the same initial state on both executors.
/// As in tests/train.rs, a parameter whose gradient is within rounding of zero may take Adam's
/// first step (±lr) in opposite directions, so parameters are held to: all within 2·lr, and
/// all but 1e-4 of them within 1e-5 + 1e-4·|ref|.
#[test]
fn gpu_equals_cpu_for_one_dcgan_iteration() {
    let Some(ctx) = gpu() else { return };
    let cfg = TrainConfig::for_model(ModelKind::Dcgan);
    assert_eq!(cfg.batch_size, 64);
    let ds = cfg.data.load().unwrap();
    let gan = cfg.program(ds.count, ds.image_len()).unwrap();
    let mut cpu = CpuExec::new(&gan.prog);
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &gan.prog).unwrap();
    for exec in [&mut cpu as &mut dyn Executor, &mut gpu] {
        upload_initial_state(exec, &gan, &ds, &cfg);
        exec.run(gan.iteration.clone(), 1).unwrap();
        exec.run(gan.sample.clone(), 1).unwrap();
    }
    let both = |v| (gpu.read_f32(v).unwrap(), cpu.read_f32(v).unwrap());
    for input in &gan.inputs {
        let (g, c) = both(input.view);
        assert_close(&input.name, &g, &c, 2e-5, 1e-5);
    }
    let (g, c) = both(gan.record("step.fake").unwrap());
    assert_close("G(z)", &g, &c, 1e-4, 1e-3);
    let (g, c) = both(gan.metrics);
    assert_close("losses and accuracies", &g, &c, 1e-5, 1e-4);
    for net in gan.nets() {
        let (g, c) = both(net.state);
        let what = format!("{} running statistics", net.prefix);
        assert_close(&what, &g, &c, 1e-5, 1e-4);
        let (g, c) = both(net.params);
        let what = format!("{} params (bound)", net.prefix);
        assert_close(&what, &g, &c, 2.0 * cfg.lr + 1e-5, 0.0);
        let off = g
            .iter()
            .zip(&c)
            .filter(|(g, c)| (*g - *c).abs() > 1e-5 + 1e-4 * c.abs())
            .count();
        assert!(
            off * 10_000 <= g.len(),
            "{}: {off} of {} params differ",
            net.prefix,
            g.len()
        );
    }
    let (g, c) = both(gan.sample_out);
    assert_close("sample grid", &g, &c, 1e-3, 1e-3);
}

#[test]
fn dcgan_init_draws_weights_from_n_0_002_and_gamma_from_n_1_002() {
    let cfg = TrainConfig::for_model(ModelKind::Dcgan);
    let gan = cfg.program(64, 784).unwrap();
    let (params, state) = cfg.init(gan.net("g").unwrap(), 7);
    let stats = |name: &str| {
        let t = gan.net("g").unwrap().find(name).unwrap();
        let v = &params[t.offset..t.offset + t.len];
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / v.len() as f32;
        (mean, var.sqrt())
    };
    let (mean, std) = stats("up1.weight");
    assert!(
        mean.abs() < 1e-3 && (std - 0.02).abs() < 1e-3,
        "{mean} {std}"
    );
    let (mean, std) = stats("bn0.weight");
    assert!(
        (mean - 1.0).abs() < 2e-3 && (std - 0.02).abs() < 2e-3,
        "{mean} {std}"
    );
    assert_eq!(stats("bn0.bias"), (0.0, 0.0));
    assert_eq!(stats("up2.bias"), (0.0, 0.0));
    let var = gan.net("g").unwrap().find("bn1.running_var").unwrap();
    assert!(state[var.offset..var.offset + var.len]
        .iter()
        .all(|v| *v == 1.0));
    assert_eq!(
        cfg.init(gan.net("g").unwrap(), 7).0,
        params,
        "deterministic in the seed"
    );
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning); no
    // folder cache outside the test (tests/folder_cache.rs tests it).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off")
        .env("WGPU_GAN_CACHE_DIR", "");
    c
}

fn run(c: &mut Command) -> (bool, String) {
    let out = c.output().expect("spawn wgpu-gan");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn run_ok(c: &mut Command) -> String {
    let (ok, stderr) = run(c);
    assert!(ok, "wgpu-gan failed: {stderr}");
    stderr
}

/// losses.csv has a header and `rows` rows of finite, positive losses.
fn check_losses(run_dir: &Path, rows: usize) {
    let csv = std::fs::read_to_string(run_dir.join("losses.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), rows + 1, "{csv}");
    for line in &lines[1..] {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        assert!(
            v.iter().all(|x| x.is_finite()) && v[1] > 0.0 && v[4] > 0.0,
            "{line}"
        );
    }
}

#[test]
fn short_dcgan_run_writes_every_output_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let args = "train --model dcgan --device cpu --steps 4 --batch-size 8 \
                --g-width 32 --d-width 16 --log-every 2 --sample-every 4";
    run_ok(
        bin()
            .args(args.split_whitespace())
            .arg("--out")
            .arg(&run_dir),
    );
    check_losses(&run_dir, 2);
    let grid = image::open(run_dir.join("samples/step_000004.png")).unwrap();
    assert!(grid.width() > 100 && grid.height() > 100);
    let ckpt = run_dir.join("checkpoints/step_000004.safetensors");
    let loaded = wgpu_gan::checkpoint::Checkpoint::load(&ckpt).unwrap();
    assert!(loaded.get("g.up1.weight", &[32, 16, 4, 4]).is_ok());
    assert!(loaded.get("d.down2.weight", &[32, 16, 4, 4]).is_ok());
    assert!(loaded.get("d.bn2.running_var", &[32]).is_ok());
    assert!(loaded.get("d.fc.weight", &[1, 32 * 7 * 7]).is_ok());
    let npy = dir.path().join("s.npy");
    let sample = ["sample", "--count", "5", "--device", "cpu", "--checkpoint"];
    run_ok(bin().args(sample).arg(&run_dir).arg("--out").arg(&npy));
    let (data, shape) = wgpu_gan::io::npy::read_npy(&npy).unwrap();
    assert_eq!(shape, vec![5, 28, 28]);
    assert!(data.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(data.iter().any(|v| *v != data[0]), "samples are constant");
}

/// Writes an RGB PNG of `w` x `h` with a colour gradient shifted by `seed`.
fn write_png(path: &Path, w: u32, h: u32, seed: u8) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 4) as u8 ^ seed, (y * 4) as u8, seed.wrapping_mul(37)])
    });
    img.save(path).unwrap();
}

#[test]
fn dcgan64_run_on_an_image_folder_skips_bad_files_and_samples_in_colour() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    for i in 0..5u8 {
        write_png(&images.join(format!("img{i}.png")), 64, 64, i * 40);
    }
    write_png(&images.join("sub/wide.png"), 100, 70, 9);
    std::fs::write(images.join("corrupt.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let run_dir = dir.path().join("run");
    let args =
        "train --device gpu --model dcgan64 --channels 3 --ngf 4 --ndf 4 --steps 2 --batch-size 4 \
                --log-every 1 --sample-every 2";
    let stderr = run_ok(
        bin()
            .args(args.split_whitespace())
            .arg("--data-folder")
            .arg(&images)
            .arg("--out")
            .arg(&run_dir),
    );
    assert!(
        stderr.contains("warning: skipping") && stderr.contains("corrupt.png"),
        "{stderr}"
    );
    check_losses(&run_dir, 2);
    let grid = image::open(run_dir.join("samples/step_000002.png")).unwrap();
    assert_eq!(grid.color(), image::ColorType::Rgb8);
    let npy = dir.path().join("s.npy");
    let sample = ["sample", "--device", "gpu", "--count", "3", "--checkpoint"];
    run_ok(bin().args(sample).arg(&run_dir).arg("--out").arg(&npy));
    let (_, shape) = wgpu_gan::io::npy::read_npy(&npy).unwrap();
    assert_eq!(shape, vec![3, 3, 64, 64]);
}

#[test]
fn image_folder_loader_resizes_crops_and_reports_unusable_folders() {
    use wgpu_gan::data::folder::load_folder;
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a.png"), 120, 80, 1);
    write_png(&dir.path().join("b.PNG"), 32, 32, 2);
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    let ds = load_folder(dir.path(), 3, 16).unwrap();
    assert_eq!((ds.count, ds.channels, ds.height, ds.width), (2, 3, 16, 16));
    assert_eq!(ds.images.len(), 2 * 3 * 16 * 16);
    assert_eq!(ds.labels, vec![0, 0]);
    // b is blue = 2·37 everywhere: its third plane is constant.
    let b_blue = &ds.images[3 * 256 + 2 * 256..4 * 256 + 2 * 256];
    assert!(b_blue.iter().all(|&v| v == 74), "{b_blue:?}");
    let gray = load_folder(dir.path(), 1, 8).unwrap();
    assert_eq!(gray.images.len(), 2 * 64);

    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("x.jpg"), b"garbage").unwrap();
    let err = load_folder(bad.path(), 3, 64).unwrap_err().to_string();
    assert!(err.contains("no readable PNG or JPEG"), "{err}");
    let missing = load_folder(&bad.path().join("nope"), 3, 64).unwrap_err();
    assert!(missing.to_string().contains("does not exist"), "{missing}");
}

#[test]
fn dcgan64_without_a_folder_and_misplaced_flags_fail_in_one_line() {
    for (args, want) in [
        (vec!["--model", "dcgan64"], "--data-folder"),
        (
            vec!["--model", "mlp", "--g-width", "8"],
            "--g-width applies to",
        ),
        (
            vec!["--model", "dcgan", "--g-steps", "2"],
            "--g-steps applies to",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (ok, err) = run(bin()
            .args(["train", "--device", "cpu", "--steps", "1"])
            .args(&args)
            .arg("--out")
            .arg(dir.path().join("run")));
        assert!(!ok, "{args:?} succeeded");
        assert!(err.contains(want) && err.lines().count() == 1, "{err}");
    }
}

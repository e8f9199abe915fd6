//! The quality scores (issue 8): the classifier, the Fréchet classifier distance, class entropy
//! and confidence, on real data, noise and GAN checkpoints; `--eval-every`; the CLI. All on the
//! CPU path (deterministic); one check holds the classifier's GPU forward to the CPU one.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use wgpu_gan::data::Dataset;
use wgpu_gan::eval::classifier::{self, Classifier, ClassifierForward, ClassifierTraining};
use wgpu_gan::eval::{score, Classify, EvalOptions, RealStats};
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::program::Program;
use wgpu_gan::train::{DeviceKind, TrainConfig, Trainer};

/// Long enough for ~95% held-out accuracy on the embedded sample, short enough for a test.
const TEST_STEPS: usize = 300;

fn data() -> &'static Dataset {
    static DS: OnceLock<Dataset> = OnceLock::new();
    DS.get_or_init(|| wgpu_gan::data::embedded_mnist().unwrap())
}

/// One classifier for every test, trained on the CPU path and saved to a temporary file.
fn shared() -> (&'static Classifier, &'static Path) {
    static C: OnceLock<(Classifier, PathBuf, tempfile::TempDir)> = OnceLock::new();
    let (c, path, _) = C.get_or_init(|| {
        let t = ClassifierTraining {
            steps: TEST_STEPS,
            device: DeviceKind::Cpu,
            ..Default::default()
        };
        let c =
            classifier::train(data(), &t, &GpuOptions::default(), |l| eprintln!("{l}")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("classifier.safetensors");
        c.save(&path).unwrap();
        (c, path, dir)
    });
    (c, path)
}

fn cpu_classify() -> Classify {
    Classify::new(shared().0, DeviceKind::Cpu, &GpuOptions::default()).unwrap()
}

#[test]
fn classifier_reaches_a_useful_accuracy_and_round_trips() {
    let (c, path) = shared();
    eprintln!(
        "held-out accuracy after {TEST_STEPS} steps: {:.4}",
        c.accuracy
    );
    assert!(c.accuracy > 0.9, "held-out accuracy {}", c.accuracy);
    assert_eq!(c.held_out, 1000);
    assert_eq!(&Classifier::load(path).unwrap(), c);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"not a file").unwrap();
    let err = Classifier::load(&bad).unwrap_err().to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
}

#[test]
fn real_vs_real_scores_near_zero_and_noise_far_worse() {
    let ds = data();
    let half = ds.count / 2 * ds.image_len();
    let mut cls = cpu_classify();
    let first = cls.run(&classifier::to_unit(&ds.images[..half])).unwrap();
    let second = cls.run(&classifier::to_unit(&ds.images[half..])).unwrap();
    let noise = rand_vec(half, 8, -1.0, 1.0);
    let noise = cls.run(&noise).unwrap();
    let real = RealStats::new(&first);
    let rr = score(&real, &second, None);
    let rn = score(&real, &noise, None);
    eprintln!("real vs real: {rr:?}\nreal vs noise: {rn:?}");
    assert!(
        rr.fcd * 50.0 < rn.fcd,
        "real vs real {} should be far below noise {}",
        rr.fcd,
        rn.fcd
    );
    assert!(rr.class_entropy > 2.2, "real digits cover every class");
    assert!(rn.class_entropy < rr.class_entropy);
    assert!(rr.confidence > rn.confidence);
    // The same images score exactly 0 (up to rounding).
    assert!(score(&real, &first, None).fcd < 1e-6 * rn.fcd);
}

#[test]
fn classifier_features_gpu_match_cpu() {
    let Some(ctx) = gpu() else { return };
    let c = shared().0;
    let mut prog = Program::new();
    let net = c.net(&mut prog);
    let fwd = ClassifierForward::record(&mut prog, &net, 64, None).unwrap();
    let images = classifier::to_unit(&data().images[..100 * 784]);
    let mut cpu = CpuExec::new(&prog);
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &prog).unwrap();
    let run = |exec: &mut dyn Executor| {
        exec.write_f32(net.params, &c.params);
        fwd.classify(exec, &images).unwrap()
    };
    let (g, want) = (run(&mut gpu), run(&mut cpu));
    assert_eq!(want.count(), 100);
    assert_close("features", &g.features, &want.features, 1e-4, 1e-4);
    assert_close("logits", &g.logits, &want.logits, 1e-4, 1e-4);
}

fn eval_at(ckpt: &Path) -> wgpu_gan::eval::Scores {
    let opts = EvalOptions {
        count: 2000,
        seed: 0,
        device: DeviceKind::Cpu,
        classifier: Some(shared().1.to_path_buf()),
    };
    let r = wgpu_gan::eval::evaluate(ckpt, &opts, &GpuOptions::default(), &mut |_| {}).unwrap();
    assert_eq!((r.scores.count, r.real_count), (2000, 2000));
    r.scores
}

/// The seed MLP GAN on the CPU path for 100 then 2,000 iterations with `--eval-every 500`:
/// the scores of the two checkpoints, and the eval columns of losses.csv.
#[test]
fn scores_improve_from_100_to_2000_iterations() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        steps: 100,
        device: DeviceKind::Cpu,
        log_every: 100,
        sample_every: 2000,
        checkpoint_every: 1000,
        eval_every: 500,
        eval_count: 500,
        classifier: Some(shared().1.to_path_buf()),
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(cfg, dir.path(), &GpuOptions::default()).unwrap();
    t.train().unwrap();
    t.cfg.steps = 2000;
    t.train().unwrap();
    let ckpts = dir.path().join("checkpoints");
    let early = eval_at(&ckpts.join("step_000100.safetensors"));
    let late = eval_at(&ckpts.join("step_002000.safetensors"));
    eprintln!("100 iterations: {early:?}\n2000 iterations: {late:?}");
    assert!(late.fcd < 0.5 * early.fcd, "{} vs {}", late.fcd, early.fcd);
    assert!(late.confidence > early.confidence);
    assert!(late.class_entropy > 1.5, "{late:?}");
    check_eval_columns(&dir.path().join("losses.csv"));
}

fn check_eval_columns(csv: &Path) {
    let text = std::fs::read_to_string(csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "step,d_loss_real,d_loss_fake,d_acc,g_loss,seconds,\
         fcd,class_entropy,confidence,class_accuracy"
    );
    let rows: Vec<Vec<f64>> = lines[1..]
        .iter()
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let steps: Vec<f64> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        steps,
        (1..=20).map(|s| 100.0 * s as f64).collect::<Vec<_>>()
    );
    let fcd = |step: f64| rows.iter().find(|r| r[0] == step).unwrap()[6];
    for step in [100.0, 500.0, 1000.0, 1500.0, 2000.0] {
        assert!(fcd(step).is_finite(), "step {step}: {text}");
    }
    assert!(fcd(200.0).is_nan() && rows[1][9].is_nan());
    assert!(fcd(2000.0) < fcd(100.0), "{text}");
    // A resume rewinds the file with its eval columns intact.
    wgpu_gan::train::resume::rewind_csv(csv, 1000).unwrap();
    assert_eq!(std::fs::read_to_string(csv).unwrap().lines().count(), 11);
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c
}

#[test]
fn classifier_and_eval_commands() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.safetensors");
    let out = bin()
        .args([
            "classifier",
            "train",
            "--steps",
            "20",
            "--device",
            "cpu",
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("held-out accuracy"), "{stdout}");
    assert!(Classifier::load(&file).is_ok());
    let run = dir.path().join("run");
    let train = bin()
        .args(["train", "--steps", "2", "--device", "cpu", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(train.status.success());
    let out = bin()
        .args(["eval", "--count", "300", "--device", "cpu", "--checkpoint"])
        .arg(&run)
        .arg("--classifier")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "Fréchet classifier distance:",
        "class entropy:",
        "(max ln 10 = 2.303)",
        "mean classifier confidence:",
        "300 generated, 300 real",
    ] {
        assert!(stdout.contains(want), "{want} missing from:\n{stdout}");
    }
}

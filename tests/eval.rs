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
use wgpu_gan::eval::{score, Classify, RealStats, Requested};
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::program::Program;
use wgpu_gan::score::EvalOptions;
use wgpu_gan::train::{ModelKind, TrainConfig, Trainer};

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
    let rr = score(&real, &second, Requested::Nothing);
    let rn = score(&real, &noise, Requested::Nothing);
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
    assert!(score(&real, &first, Requested::Nothing).fcd < 1e-6 * rn.fcd);
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
        count: 1000,
        seed: 0,
        device: DeviceKind::Cpu,
        classifier: Some(shared().1.to_path_buf()),
    };
    let r = wgpu_gan::score::evaluate(ckpt, &opts, &GpuOptions::default(), &mut |_| {}).unwrap();
    assert_eq!((r.scores.count, r.real_count), (1000, 1000));
    r.scores
}

/// The seed MLP GAN on the CPU path: the checkpoints at 100 and 2,000 iterations.
#[test]
fn scores_improve_from_100_to_2000_iterations() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        steps: 100,
        device: DeviceKind::Cpu,
        log_every: 100,
        sample_every: 2000,
        checkpoint_every: 1000,
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
    assert!(late.class_entropy > early.class_entropy);
    assert!(late.class_entropy > 1.5, "{late:?}");
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

/// Runs the binary; returns (stdout, stderr) after checking it succeeded.
fn run_ok(c: &mut Command) -> (String, String) {
    let out = c.output().expect("spawn wgpu-gan");
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "wgpu-gan failed: {stderr}");
    (stdout, stderr)
}

/// `classifier train`, then `train --eval-every` (eval columns, progress, the collapse
/// warning once, a rewind that keeps the columns), then `eval` on the run.
#[test]
fn classifier_train_eval_every_and_eval_commands() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.safetensors");
    let args = [
        "classifier",
        "train",
        "--steps",
        "20",
        "--device",
        "cpu",
        "--out",
    ];
    let (stdout, _) = run_ok(bin().args(args).arg(&file));
    assert!(stdout.contains("held-out accuracy"), "{stdout}");
    let run = dir.path().join("run");
    let args = [
        "train",
        "--steps",
        "40",
        "--log-every",
        "10",
        "--eval-every",
        "20",
    ];
    let (_, stderr) = run_ok(
        bin()
            .args(args)
            .args(["--eval-count", "100", "--device", "cpu", "--classifier"])
            .arg(&file)
            .arg("--out")
            .arg(&run),
    );
    assert!(stderr.contains("| FCD "), "{stderr}");
    assert_eq!(stderr.matches("warning: step").count(), 1, "{stderr}");
    assert!(stderr.contains("mode collapse"), "{stderr}");
    check_eval_columns(&run.join("losses.csv"));
    let args = ["eval", "--count", "300", "--device", "cpu", "--checkpoint"];
    let (stdout, _) = run_ok(bin().args(args).arg(&run).arg("--classifier").arg(&file));
    for want in [
        "Fréchet classifier distance:",
        "class entropy:",
        "(max ln 10 = 2.303)",
        "mean classifier confidence:",
        "300 generated, 300 real",
        "(step 40)",
    ] {
        assert!(stdout.contains(want), "{want} missing from:\n{stdout}");
    }
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
    assert_eq!(steps, [10.0, 20.0, 30.0, 40.0]);
    let fcd: Vec<f64> = rows.iter().map(|r| r[6]).collect();
    assert!(fcd[1] > 0.0 && fcd[3] > 0.0, "{text}");
    assert!(fcd[0].is_nan() && fcd[2].is_nan(), "{text}");
    assert!(rows.iter().all(|r| r[9].is_nan()), "unconditioned: {text}");
    // A resume rewinds the file with its eval columns intact.
    wgpu_gan::train::resume::rewind_csv(csv, 20).unwrap();
    assert_eq!(std::fs::read_to_string(csv).unwrap().lines().count(), 3);
}

/// A class-conditioned generator is scored on the class it was asked for; an InfoGAN one, whose
/// categories are its own, gets each category's most frequent class instead.
#[test]
fn conditioned_and_categorical_generators_are_scored_by_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    for model in [ModelKind::Acgan, ModelKind::Infogan] {
        let cfg = TrainConfig {
            steps: 20,
            device: DeviceKind::Cpu,
            log_every: 20,
            sample_every: 20,
            checkpoint_every: 20,
            eval_every: 20,
            eval_count: 200,
            classifier: Some(shared().1.to_path_buf()),
            ..TrainConfig::for_model(model)
        };
        let run = dir.path().join(format!("{model:?}"));
        let mut t = Trainer::new(cfg, &run, &GpuOptions::default()).unwrap();
        t.train().unwrap();
        // --eval-every's columns: the scores, and class accuracy for given classes only.
        let csv = std::fs::read_to_string(run.join("losses.csv")).unwrap();
        let (head, row) = (csv.lines().next().unwrap(), csv.lines().last().unwrap());
        let col = |name: &str| {
            let i = head.split(',').position(|h| h == name).unwrap();
            row.split(',').nth(i).unwrap().parse::<f64>().unwrap()
        };
        assert!(col("fcd").is_finite(), "{csv}");
        let acc = col("class_accuracy");
        assert_eq!(acc.is_finite(), model == ModelKind::Acgan, "{csv}");
        let s = eval_at(&run.join("checkpoints/step_000020.safetensors"));
        let report = s.report();
        if model == ModelKind::Acgan {
            let a = s.class_accuracy.expect("acgan asks for classes");
            assert!((0.0..=1.0).contains(&a), "{a}");
            assert!(s.categories.is_empty());
        } else {
            assert_eq!(s.class_accuracy, None);
            assert_eq!(s.categories.len(), 10);
            for (class, share) in &s.categories {
                // 100 images a category: the top class holds at least a tenth of them.
                assert!(*class < 10 && (0.1..=1.0).contains(share), "{report}");
            }
            assert!(report.contains("category → class"), "{report}");
        }
    }
}

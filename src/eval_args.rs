//! `wgpu-gan classifier train` and `wgpu-gan eval` (part of the binary, next to main.rs).

use crate::train_args::DatasetName;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use wgpu_gan::data::DataSource;
use wgpu_gan::eval::classifier::{self, default_path, ClassifierTraining};
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::score::EvalOptions;

#[derive(Subcommand)]
pub enum ClassifierCommand {
    /// Train the classifier the quality scores use, on all but the last 1,000 labelled images
    /// (a tenth of smaller datasets); report its accuracy on those and save it.
    #[command(after_help = "Examples:
  wgpu-gan classifier train                       # embedded MNIST -> classifiers/embedded.safetensors
  wgpu-gan classifier train --dataset fashion     # -> classifiers/fashion.safetensors
  wgpu-gan classifier train --data ~/mnist --out mnist-classifier.safetensors")]
    Train(ClassifierTrainArgs),
}

#[derive(Args)]
pub struct ClassifierTrainArgs {
    #[arg(long, value_enum, default_value_t = DatasetName::Embedded)]
    dataset: DatasetName,
    /// A directory with MNIST-style IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte).
    #[arg(long, conflicts_with = "dataset")]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 6000)]
    steps: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to save the classifier [default: classifiers/<dataset>.safetensors (embedded,
    /// fashion, or idx-<dir name>), relative to the working directory: where `wgpu-gan eval`
    /// and `train --eval-every` look for it].
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceKind::Auto)]
    device: DeviceKind,
}

#[derive(Args)]
pub struct EvalArgs {
    /// A checkpoint file, or a run directory (its latest checkpoint).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Generated images to score, against as many real ones (at most the dataset's).
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// The classifier [default: classifiers/<dataset>.safetensors, trained first (6,000
    /// steps) when missing].
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Seed of the generator's noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = DeviceKind::Auto)]
    device: DeviceKind,
    /// Load a checkpoint holding NaN or infinite values instead of refusing it (debugging).
    #[arg(long)]
    allow_nonfinite: bool,
}

pub fn classifier(cmd: &ClassifierCommand, gpu: &GpuOptions) -> Result<()> {
    let ClassifierCommand::Train(a) = cmd;
    let data = match (&a.data, a.dataset) {
        (Some(dir), _) => DataSource::IdxDir(dir.clone()),
        (None, DatasetName::Fashion) => DataSource::Fashion,
        (None, DatasetName::Embedded) => DataSource::Embedded,
    };
    let Some(out) = a.out.clone().or_else(|| default_path(&data)) else {
        bail!("give --out FILE");
    };
    if !a.lr.is_finite() || a.lr <= 0.0 {
        bail!("--lr must be a positive number (got {})", a.lr);
    }
    let mut t = ClassifierTraining {
        steps: a.steps,
        batch: a.batch_size,
        seed: a.seed,
        device: a.device,
        ..Default::default()
    };
    t.adam.lr = a.lr;
    let ds = data.load()?;
    let c = classifier::train(&ds, &t, gpu, |line| eprintln!("{line}"))?;
    c.save(&out)?;
    println!(
        "held-out accuracy: {:.2}% on the last {} images of {}",
        100.0 * c.accuracy,
        c.held_out,
        c.dataset
    );
    eprintln!("wrote {}", out.display());
    Ok(())
}

pub fn eval(a: &EvalArgs, gpu: &GpuOptions) -> Result<()> {
    let path = wgpu_gan::train::resolve_checkpoint(&a.checkpoint);
    let opts = EvalOptions {
        count: a.count,
        seed: a.seed,
        device: a.device,
        classifier: a.classifier.clone(),
    };
    let load = crate::load_options(a.allow_nonfinite);
    // A translation model's own scores; any other checkpoint (or one that fails to load,
    // which evaluate_with reports) is scored as a generator.
    if let Ok(ckpt) = wgpu_gan::checkpoint::Checkpoint::load_with(&path, load) {
        if wgpu_gan::translate::cyclegan_config(&ckpt).is_ok() {
            return eval_translation(a, &ckpt, gpu);
        }
    }
    let log = &mut |line: &str| eprintln!("{line}");
    let ckpt = wgpu_gan::checkpoint::Checkpoint::load_with(&path, load)?;
    let cfg = wgpu_gan::sample::checkpoint_config(&ckpt)?;
    if let Some(report) = cfg.family().evaluate(&ckpt, &opts, gpu, log) {
        println!("checkpoint: {}", path.display());
        print!("{}", report?);
        return Ok(());
    }
    drop(ckpt);
    let r = wgpu_gan::score::evaluate_with(&path, &opts, load, gpu, log)?;
    let step = r.step.map_or(String::new(), |s| format!(" (step {s})"));
    println!("checkpoint: {}{step}", path.display());
    println!(
        "classifier: {} ({:.2}% held-out accuracy on {})",
        r.classifier_path.display(),
        100.0 * r.classifier.accuracy,
        r.classifier.dataset
    );
    println!(
        "images:     {} generated, {} real",
        r.scores.count, r.real_count
    );
    print!("{}", r.scores.report());
    Ok(())
}

/// `eval` of a CycleGAN checkpoint: its translation scores, with the classifier of domain A
/// deciding the class.
fn eval_translation(
    a: &EvalArgs,
    ckpt: &wgpu_gan::checkpoint::Checkpoint,
    gpu: &GpuOptions,
) -> Result<()> {
    use wgpu_gan::eval::{check_classifier, load_or_train, Classify};
    let cfg = wgpu_gan::translate::cyclegan_config(ckpt)?;
    let source = match cfg.param::<String>("data-a")?.as_str() {
        "embedded" => DataSource::Embedded,
        "fashion" => DataSource::Fashion,
        dir => DataSource::IdxDir(dir.into()),
    };
    let log = &mut |line: &str| eprintln!("{line}");
    let explicit = a.classifier.as_deref();
    let (c, path) = load_or_train(&source, explicit, a.device, gpu, log)?;
    check_classifier(&c, &path, cfg.image_shape())?;
    let mut classify = Classify::new(&c, a.device, gpu)?;
    let mut run = |x: &[f32]| classify.run(x).map_err(wgpu_gan::train::TrainError::from);
    let s = wgpu_gan::translate::evaluate(ckpt, a.device, gpu, &mut run)?;
    let step = ckpt
        .metadata
        .get("step")
        .map_or(String::new(), |s| format!(" (step {s})"));
    println!("checkpoint: {}{step}", ckpt.path.display());
    println!(
        "classifier: {} ({:.2}% held-out accuracy on {})",
        path.display(),
        100.0 * c.accuracy,
        c.dataset
    );
    print!("{}", s.report());
    Ok(())
}

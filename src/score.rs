//! `wgpu-gan eval`: samples from a checkpoint's generator (through `sample`), real images from
//! its dataset, both through the eval classifier, then the scores. It sits above both `eval` and
//! `train`, which know nothing of each other's callers.

use crate::checkpoint::{Checkpoint, LoadOptions};
use crate::eval::classifier::Classifier;
use crate::eval::{check_classifier, load_or_train, score, Classify, RealStats, Requested, Scores};
use crate::gpu::GpuOptions;
use crate::sample::{checkpoint_config, sample_from};
use crate::train::TrainError;
use std::path::{Path, PathBuf};

pub use crate::eval::EvalOptions;

#[derive(Clone, Debug)]
pub struct EvalReport {
    pub scores: Scores,
    pub real_count: usize,
    pub classifier_path: PathBuf,
    pub classifier: Classifier,
    pub step: Option<usize>,
}

/// Scores `opts.count` images from the generator in `checkpoint` against as many of its
/// dataset's images (all of them when the dataset is smaller).
pub fn evaluate(
    checkpoint: &Path,
    opts: &EvalOptions,
    gpu: &GpuOptions,
    log: &mut dyn FnMut(&str),
) -> Result<EvalReport, TrainError> {
    evaluate_with(checkpoint, opts, LoadOptions::default(), gpu, log)
}

/// [`evaluate`], loading the checkpoint with `load` (`--allow-nonfinite`).
pub fn evaluate_with(
    checkpoint: &Path,
    opts: &EvalOptions,
    load: LoadOptions,
    gpu: &GpuOptions,
    log: &mut dyn FnMut(&str),
) -> Result<EvalReport, TrainError> {
    if opts.count < 2 {
        return Err(TrainError::Config("--count must be at least 2".into()));
    }
    let ckpt = Checkpoint::load_with(checkpoint, load)?;
    let cfg = checkpoint_config(&ckpt)?;
    let step = ckpt.metadata.get("step").and_then(|s| s.parse().ok());
    let explicit = opts.classifier.as_deref();
    let (c, path) = load_or_train(&cfg.data, explicit, opts.device, gpu, log)?;
    check_classifier(&c, &path, cfg.image_shape())?;
    let ds = cfg.data.load()?;
    let fake = sample_from(&ckpt, opts.count, opts.seed, None, opts.device, gpu)?;
    drop(ckpt);
    let mut classify = Classify::new(&c, opts.device, gpu)?;
    let real = RealStats::new(&classify.dataset(&ds, opts.count)?);
    let fake = classify.run(&fake.images)?;
    // A conditioned generator, given no label, makes every class in turn: image i is class
    // i mod classes (`sample`).
    let classes = cfg.classes();
    let requested: Vec<u8> = (0..opts.count)
        .map(|i| (i % classes.max(1)) as u8)
        .collect();
    // InfoGAN's categories are digits in an order of its own making.
    let asked = match (classes, cfg.labels_are_classes()) {
        (0, _) => Requested::Nothing,
        (_, true) => Requested::Classes(&requested),
        (c, false) => Requested::Categories(&requested, c),
    };
    Ok(EvalReport {
        scores: score(&real, &fake, asked),
        real_count: real.count,
        classifier_path: path,
        classifier: c,
        step,
    })
}

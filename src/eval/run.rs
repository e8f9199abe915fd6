//! `wgpu-gan eval`: samples from a checkpoint's generator (through `sample`), real images from
//! its dataset, both through the classifier, then the scores.

use super::classifier::{self, default_path, Classifier, ClassifierForward, ClassifierTraining};
use super::{score, Outputs, RealStats, Requested, Scores};
use crate::data::Dataset;
use crate::exec::Executor;
use crate::gpu::GpuOptions;
use crate::program::Program;
use crate::sample::{checkpoint_config, sample_from};
use crate::train::checkpoint::{Checkpoint, LoadOptions};
use crate::train::{executor, DataSource, DeviceKind, TrainError};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Generated images, and at most this many real ones.
    pub count: usize,
    /// Seed of the generator's noise.
    pub seed: u64,
    pub device: DeviceKind,
    /// The classifier file; None: the dataset's cached one (trained first when missing).
    pub classifier: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct EvalReport {
    pub scores: Scores,
    pub real_count: usize,
    pub classifier_path: PathBuf,
    pub classifier: Classifier,
    pub step: Option<usize>,
}

/// The classifier at `explicit`, or the dataset's cached one; when the cached one is missing,
/// trains it with the default recipe (saying so through `log`) and saves it there.
pub fn load_or_train(
    data: &DataSource,
    explicit: Option<&Path>,
    device: DeviceKind,
    gpu: &GpuOptions,
    log: &mut dyn FnMut(&str),
) -> Result<(Classifier, PathBuf), TrainError> {
    if let Some(path) = explicit {
        return Ok((Classifier::load(path)?, path.to_path_buf()));
    }
    let path = default_path(data).ok_or_else(|| {
        TrainError::Config(
            "the scores need a labelled dataset (embedded, fashion or --data DIR) to train their \
             classifier on; image folders have no labels"
                .into(),
        )
    })?;
    if path.exists() {
        return Ok((Classifier::load(&path)?, path));
    }
    let t = ClassifierTraining {
        device,
        ..Default::default()
    };
    log(&format!(
        "no classifier at {}: training one first ({} steps; `wgpu-gan classifier train` does \
         this on its own)",
        path.display(),
        t.steps
    ));
    let ds = data.load()?;
    let c = classifier::train(&ds, &t, gpu, &mut *log)?;
    c.save(&path)?;
    log(&format!(
        "classifier: {:.2}% held-out accuracy; saved to {}",
        100.0 * c.accuracy,
        path.display()
    ));
    Ok((c, path))
}

/// Checks the classifier reads images of `shape` (C, H, W).
pub fn check_classifier(
    c: &Classifier,
    path: &Path,
    shape: (usize, usize, usize),
) -> Result<(), TrainError> {
    let cfg = &c.config;
    if (cfg.channels, cfg.image_size, cfg.image_size) != shape {
        return Err(TrainError::Config(format!(
            "classifier {} reads {}x{}x{} images, the generator makes {}x{}x{}",
            path.display(),
            cfg.channels,
            cfg.image_size,
            cfg.image_size,
            shape.0,
            shape.1,
            shape.2
        )));
    }
    Ok(())
}

/// A forward-only classifier program on an executor, its parameters uploaded.
pub struct Classify {
    pub fwd: ClassifierForward,
    pub exec: Box<dyn Executor>,
}

impl Classify {
    pub fn new(c: &Classifier, device: DeviceKind, gpu: &GpuOptions) -> Result<Self, TrainError> {
        let mut prog = Program::new();
        let net = c.net(&mut prog);
        let fwd = ClassifierForward::record(&mut prog, &net, classifier::EVAL_BATCH, None)?;
        let mut exec = executor(device, gpu, &prog)?;
        exec.write_f32(net.params, &c.params);
        Ok(Self { fwd, exec })
    }

    /// Outputs for images (N, C, H, W) in [-1, 1].
    pub fn run(&mut self, images: &[f32]) -> Result<Outputs, TrainError> {
        Ok(self.fwd.classify(self.exec.as_mut(), images)?)
    }

    /// Outputs for the first `count` images of a dataset.
    pub fn dataset(&mut self, ds: &Dataset, count: usize) -> Result<Outputs, TrainError> {
        let n = count.min(ds.count) * ds.image_len();
        self.run(&classifier::to_unit(&ds.images[..n]))
    }
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

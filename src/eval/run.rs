//! The classifier the scores use, loaded or trained, and run forward on images.

use super::classifier::{self, default_path, Classifier, ClassifierForward, ClassifierTraining};
use super::{EvalError, Outputs};
use crate::data::DataSource;
use crate::data::Dataset;
use crate::exec::Executor;
use crate::exec::{executor, DeviceKind};
use crate::gpu::GpuOptions;
use crate::program::Program;
use std::path::{Path, PathBuf};

/// The classifier at `explicit`, or the dataset's cached one; when the cached one is missing,
/// trains it with the default recipe (saying so through `log`) and saves it there.
pub fn load_or_train(
    data: &DataSource,
    explicit: Option<&Path>,
    device: DeviceKind,
    gpu: &GpuOptions,
    log: &mut dyn FnMut(&str),
) -> Result<(Classifier, PathBuf), EvalError> {
    if let Some(path) = explicit {
        return Ok((Classifier::load(path)?, path.to_path_buf()));
    }
    let path = default_path(data).ok_or_else(|| {
        EvalError::Config(
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
) -> Result<(), EvalError> {
    let cfg = &c.config;
    if (cfg.channels, cfg.image_size, cfg.image_size) != shape {
        return Err(EvalError::Config(format!(
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
    pub fn new(c: &Classifier, device: DeviceKind, gpu: &GpuOptions) -> Result<Self, EvalError> {
        let mut prog = Program::new();
        let net = c.net(&mut prog);
        let fwd = ClassifierForward::record(&mut prog, &net, classifier::EVAL_BATCH, None)?;
        let mut exec = executor(device, gpu, &prog)?;
        exec.write_f32(net.params, &c.params);
        Ok(Self { fwd, exec })
    }

    /// Outputs for images (N, C, H, W) in [-1, 1].
    pub fn run(&mut self, images: &[f32]) -> Result<Outputs, EvalError> {
        Ok(self.fwd.classify(self.exec.as_mut(), images)?)
    }

    /// Outputs for the first `count` images of a dataset.
    pub fn dataset(&mut self, ds: &Dataset, count: usize) -> Result<Outputs, EvalError> {
        let n = count.min(ds.count) * ds.image_len();
        self.run(&classifier::to_unit(&ds.images[..n]))
    }
}

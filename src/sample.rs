//! `wgpu-gan sample`: a generator from a checkpoint, fed on-device noise.

use crate::checkpoint::Checkpoint;
use crate::exec::Executor;
use crate::exec::{executor, DeviceKind};
use crate::gpu::GpuOptions;
use crate::nn::Net;
use crate::ops::{self, RandomStream};
use crate::program::{Program, View};
pub use crate::train::checkpoint_config;
use crate::train::{TrainConfig, TrainError};
use std::path::Path;

/// Images generated per program run.
const CHUNK: usize = 250;

/// Generated images, NCHW floats in [-1, 1].
#[derive(Clone, Debug)]
pub struct Samples {
    pub images: Vec<f32>,
    pub count: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

/// The class of each generated image of a conditioned model: `label`, or every class in turn.
fn labels(cfg: &TrainConfig, label: Option<usize>, batch: usize) -> Result<Vec<f32>, TrainError> {
    let classes = cfg.classes();
    let model = cfg.model_name();
    match label {
        Some(_) if classes == 0 => Err(TrainError::Config(format!(
            "--label applies to class-conditioned models (cgan, acgan; infogan's category), \
             not this {model} checkpoint"
        ))),
        Some(k) if k >= classes => Err(TrainError::Config(format!(
            "--label {k}: the {model} model has classes 0 to {}",
            classes - 1
        ))),
        Some(k) => Ok(vec![k as f32; batch]),
        None => Ok((0..batch).map(|i| (i % classes.max(1)) as f32).collect()),
    }
}

/// Generates `count` images from the generator in `path`, whatever its model; a conditioned
/// model makes class `label` (or every class in turn when None). Holds them all in memory: the
/// `sample` command streams them to a file instead ([`crate::sample_file`]).
pub fn sample(
    path: &Path,
    count: usize,
    seed: u64,
    label: Option<usize>,
    device: DeviceKind,
    gpu: &GpuOptions,
) -> Result<Samples, TrainError> {
    if count == 0 {
        return Err(TrainError::Config("--count must be at least 1".into()));
    }
    let ckpt = Checkpoint::load(path)?;
    sample_from(&ckpt, count, seed, label, device, gpu)
}

/// [`sample`] from a loaded checkpoint.
pub fn sample_from(
    ckpt: &Checkpoint,
    count: usize,
    seed: u64,
    label: Option<usize>,
    device: DeviceKind,
    gpu: &GpuOptions,
) -> Result<Samples, TrainError> {
    let mut sampler = Sampler::new(ckpt, count, seed, label, device, gpu)?;
    let (channels, height, width) = sampler.shape;
    let total = count
        .checked_mul(sampler.image_len())
        .filter(|n| n.checked_mul(4).is_some());
    let mut images = Vec::new();
    total
        .and_then(|n| images.try_reserve_exact(n).ok())
        .ok_or_else(|| {
            TrainError::Config(format!(
                "--count {count}: {count} images of {channels}x{height}x{width} do not fit in memory"
            ))
        })?;
    while images.len() < count * sampler.image_len() {
        images.extend(sampler.next_batch()?);
    }
    images.truncate(count * sampler.image_len());
    Ok(Samples {
        images,
        count,
        channels,
        height,
        width,
    })
}

/// A checkpoint's generator planned on an executor: each run makes the next batch of images,
/// so any number of images is made in bounded memory.
pub struct Sampler {
    prog: Program,
    exec: Box<dyn Executor>,
    out: View,
    /// Images per batch: `count` up to [`CHUNK`] (the batch decides the noise, so it stays
    /// what it always was for a given count).
    pub batch: usize,
    /// (channels, height, width) of one image.
    pub shape: (usize, usize, usize),
}

impl Sampler {
    /// The generator of `ckpt` (its moving average where the run kept one), planned for
    /// `count` images in batches of at most [`CHUNK`].
    pub fn new(
        ckpt: &Checkpoint,
        count: usize,
        seed: u64,
        label: Option<usize>,
        device: DeviceKind,
        gpu: &GpuOptions,
    ) -> Result<Self, TrainError> {
        if count == 0 {
            return Err(TrainError::Config("--count must be at least 1".into()));
        }
        let cfg = checkpoint_config(ckpt)?;
        let (channels, height, width) = cfg.image_shape();
        // The family's first net makes its samples.
        let spec = cfg
            .family()
            .nets(&cfg, channels * height * width)?
            .remove(0);
        let noise_len = cfg.latent_dim + cfg.classes() + cfg.aux().codes();
        if !spec.input.is_flat() || spec.input.len() != noise_len {
            return Err(TrainError::Config(format!(
                "a {} generator reads {} images, not noise: `sample` and `eval` need a GAN that \
                 generates from noise (for srgan, `wgpu-gan upscale`)",
                cfg.model_name(),
                spec.input
            )));
        }
        let batch = count.min(CHUNK);
        let classes = cfg.classes();
        let y = labels(&cfg, label, batch)?;
        let mut prog = Program::new();
        let codes = cfg.aux().codes();
        let g = Net::shaped(&mut prog, &spec.name, spec.input, spec.layers)
            .map_err(|e| ops::ShapeError::net(&spec.name, e))?;
        let acts = g.acts(&mut prog, batch, "sample");
        let counters = prog.tensor("counters", 1);
        let z = prog.tensor("noise", batch * cfg.latent_dim);
        prog.set_phase("sample");
        ops::counter_increment(&mut prog, counters, 0, "chunk");
        let rs = RandomStream {
            seed,
            stream: 0,
            slot: 0,
        };
        ops::normal_fill(&mut prog, rs, counters, z, 0.0, 1.0, "noise");
        // InfoGAN's continuous codes, drawn as in training.
        let code_view = (codes > 0).then(|| {
            let c = prog.tensor("codes", batch * codes);
            let rs = RandomStream { stream: 1, ..rs };
            ops::uniform_fill(&mut prog, rs, counters, c, -1.0, 1.0, "codes");
            c
        });
        let y_view = (classes > 0).then(|| prog.tensor("labels", batch));
        let labels = y_view.map(|y| (y, classes));
        let g_in =
            ops::condition::generator_input(&mut prog, "g.input", batch, z, code_view, labels)?;
        let out = g.forward(&mut prog, &acts, g_in, false)?;
        let mut exec = executor(device, gpu, &prog)?;
        ckpt.restore_net(exec.as_mut(), &g, false)?;
        // The moving average of G's weights, where the run kept one.
        if spec.ema > 0.0 {
            ckpt.restore_ema(exec.as_mut(), &g)?;
        }
        if let Some(v) = y_view {
            exec.write_f32(v, &y);
        }
        Ok(Self {
            prog,
            exec,
            out,
            batch,
            shape: (channels, height, width),
        })
    }

    /// Floats per image.
    pub fn image_len(&self) -> usize {
        self.shape.0 * self.shape.1 * self.shape.2
    }

    /// The next `batch` images, NCHW floats in [-1, 1].
    pub fn next_batch(&mut self) -> Result<Vec<f32>, TrainError> {
        self.exec.run(0..self.prog.ops.len(), 1)?;
        Ok(self.exec.read_f32(self.out)?)
    }
}

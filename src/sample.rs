//! `wgpu-gan sample`: a generator from a checkpoint, fed on-device noise.

use crate::checkpoint::Checkpoint;
use crate::exec::{executor, DeviceKind};
use crate::gpu::GpuOptions;
use crate::nn::Net;
use crate::ops::{self, RandomStream};
use crate::program::Program;
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

/// The training config stored in a checkpoint.
pub fn checkpoint_config(ckpt: &Checkpoint) -> Result<TrainConfig, TrainError> {
    let text = ckpt.metadata.get("config").ok_or_else(|| {
        TrainError::Config(format!(
            "checkpoint {} has no config in its metadata",
            ckpt.path.display()
        ))
    })?;
    serde_json::from_str(text).map_err(|e| {
        TrainError::Config(format!(
            "checkpoint {}: unreadable config ({e})",
            ckpt.path.display()
        ))
    })
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
/// model makes class `label` (or every class in turn when None).
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
    let cfg = checkpoint_config(&ckpt)?;
    let (channels, height, width) = cfg.image_shape();
    let image_len = channels * height * width;
    let (g_layers, _) = cfg.layers(image_len)?;
    let batch = count.min(CHUNK);
    let classes = cfg.classes();
    let y = labels(&cfg, label, batch)?;
    let mut prog = Program::new();
    let codes = cfg.aux().codes();
    let g = Net::new(&mut prog, "g", cfg.latent_dim + codes + classes, g_layers);
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
    let g_in = ops::condition::generator_input(&mut prog, "g.input", batch, z, code_view, labels)?;
    let out = g.forward(&mut prog, &acts, g_in, false)?;
    let mut exec = executor(device, gpu, &prog)?;
    ckpt.restore_net(exec.as_mut(), &g, false)?;
    // The moving average of G's weights, where the run kept one.
    if cfg.g_ema > 0.0 {
        ckpt.restore_ema(exec.as_mut(), &g)?;
    }
    if let Some(v) = y_view {
        exec.write_f32(v, &y);
    }
    let mut images = Vec::with_capacity(count * image_len);
    while images.len() < count * image_len {
        exec.run(0..prog.ops.len(), 1)?;
        images.extend(exec.read_f32(out)?);
    }
    images.truncate(count * image_len);
    Ok(Samples {
        images,
        count,
        channels,
        height,
        width,
    })
}

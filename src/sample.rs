//! `wgpu-gan sample`: a generator from a checkpoint, fed on-device noise.

use crate::gpu::GpuOptions;
use crate::nn::Net;
use crate::ops::{self, RandomStream};
use crate::program::Program;
use crate::train::checkpoint::Checkpoint;
use crate::train::{executor, DeviceKind, TrainConfig, TrainError};
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

/// Generates `count` images from the generator in `path`, whatever its model.
pub fn sample(
    path: &Path,
    count: usize,
    seed: u64,
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
    let mut prog = Program::new();
    let g = Net::new(&mut prog, "g", cfg.latent_dim, g_layers);
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
    let out = g.forward(&mut prog, &acts, z, false)?;
    let mut exec = executor(device, gpu, &prog)?;
    ckpt.restore_net(exec.as_mut(), &g, false)?;
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

//! Training: the schedule as a program, the loop, checkpoints and outputs.

pub mod checkpoint;
mod config;
mod outputs;
pub mod schedule;
pub mod speed;

use crate::exec::{CpuExec, Executor, GpuExec};
use crate::gpu::{Context, GpuError, GpuOptions};
use crate::models;
use schedule::GanProgram;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub use config::{DataSource, DeviceKind, ModelKind, TrainConfig};
pub use outputs::{resolve_checkpoint, LossRow};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Device(#[from] GpuError),
    #[error(transparent)]
    Shape(#[from] crate::ops::ShapeError),
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error(transparent)]
    Output(#[from] crate::io::IoError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Side length of the fixed sample grid.
pub const GRID: usize = 5;

/// The executor for `device`: the GPU, or the CPU twins when asked or when no adapter exists.
pub fn executor(
    device: DeviceKind,
    gpu: &GpuOptions,
    program: &crate::program::Program,
) -> Result<Box<dyn Executor>, TrainError> {
    if device == DeviceKind::Cpu {
        return Ok(Box::new(CpuExec::new(program)));
    }
    match Context::new(gpu) {
        Ok(ctx) => Ok(Box::new(GpuExec::new(Arc::new(ctx), program)?)),
        Err(GpuError::NoAdapter) => {
            eprintln!(
                "warning: {}; training on the CPU instead",
                GpuError::NoAdapter
            );
            Ok(Box::new(CpuExec::new(program)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Uploads the dataset, the initial weights (deterministic in `cfg.seed`) and the fixed sample
/// noise into a freshly planned training program.
pub fn upload_initial_state(
    exec: &mut dyn Executor,
    gan: &GanProgram,
    ds: &crate::data::Dataset,
    cfg: &TrainConfig,
) {
    if let Some(data) = gan.dataset {
        exec.write(data.images, &crate::cpu::random::pack_bytes(&ds.images));
        exec.write(data.labels, &crate::cpu::random::pack_bytes(&ds.labels));
    }
    for (net, salt) in [(&gan.g, 1u64), (&gan.d, 2)] {
        let (params, state) = cfg.init(net, cfg.seed.wrapping_mul(0x9E37_79B9).wrapping_add(salt));
        exec.write_f32(net.params, &params);
        exec.write_f32(net.state, &state);
    }
    let noise = models::normal(cfg.seed, 0xF1CED, gan.sample_noise.len);
    exec.write_f32(gan.sample_noise, &noise);
}

/// A training run: its program on an executor, and where it writes.
pub struct Trainer {
    pub cfg: TrainConfig,
    pub gan: GanProgram,
    pub exec: Box<dyn Executor>,
    pub out: PathBuf,
    pub step: usize,
    dataset_name: String,
}

impl Trainer {
    /// Builds the program, uploads the dataset and the initial weights.
    pub fn new(cfg: TrainConfig, out: &Path, gpu: &GpuOptions) -> Result<Self, TrainError> {
        cfg.validate()?;
        let ds = cfg.data.load()?;
        check_dataset(&cfg, &ds)?;
        if cfg.batch_size > ds.count {
            return Err(TrainError::Config(format!(
                "--batch-size {} is larger than the dataset ({} images)",
                cfg.batch_size, ds.count
            )));
        }
        let gan = cfg.program(ds.count, ds.image_len())?;
        let mut exec = executor(cfg.device, gpu, &gan.prog)?;
        upload_initial_state(exec.as_mut(), &gan, &ds, &cfg);
        Ok(Self {
            cfg,
            gan,
            exec,
            out: out.to_path_buf(),
            step: 0,
            dataset_name: ds.name,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "{:?} GAN on {} | G {} params, D {} params | {}",
            self.cfg.model,
            self.dataset_name,
            self.gan.g.param_count(),
            self.gan.d.param_count(),
            self.exec.describe()
        )
    }

    /// Runs `n` iterations, several per submission.
    pub fn run_iterations(&mut self, n: usize) -> Result<(), TrainError> {
        self.exec.run(self.gan.iteration.clone(), n)?;
        self.exec.wait()?;
        self.step += n;
        Ok(())
    }

    /// Reads the loss averages since the last call and resets the accumulators.
    pub fn take_losses(&mut self, seconds: f64) -> Result<LossRow, TrainError> {
        let m = self.exec.read_f32(self.gan.metrics)?;
        self.exec.write_f32(self.gan.metrics, &vec![0.0; m.len()]);
        Ok(LossRow::from_metrics(self.step, &m, seconds))
    }

    /// Generates the fixed-noise grid images, (25, C, H, W) in [-1, 1].
    pub fn sample_grid(&mut self) -> Result<Vec<f32>, TrainError> {
        self.exec.run(self.gan.sample.clone(), 1)?;
        Ok(self.exec.read_f32(self.gan.sample_out)?)
    }

    pub fn save_checkpoint(&self, path: &Path) -> Result<(), TrainError> {
        let mut meta = HashMap::new();
        let config =
            serde_json::to_string(&self.cfg).map_err(|e| TrainError::Config(e.to_string()))?;
        meta.insert("config".into(), config);
        meta.insert("step".into(), self.step.to_string());
        let noise_shape = vec![GRID * GRID, self.cfg.latent_dim];
        let extra = [("sample_noise", noise_shape, self.gan.sample_noise)];
        checkpoint::save(
            path,
            self.exec.as_ref(),
            &[&self.gan.g, &self.gan.d],
            self.gan.counters,
            &extra,
            meta,
        )?;
        Ok(())
    }

    /// The full loop with progress bar and outputs; returns the last logged losses.
    pub fn train(&mut self) -> Result<Option<LossRow>, TrainError> {
        outputs::train_loop(self)
    }
}

/// The dataset's images have the model's size and channel count.
fn check_dataset(cfg: &TrainConfig, ds: &crate::data::Dataset) -> Result<(), TrainError> {
    let (c, h, w) = cfg.image_shape();
    crate::data::check_shape(ds, h, w)?;
    if ds.channels != c {
        return Err(TrainError::Config(format!(
            "{}: images have {} channels but --model {:?} needs {c}",
            ds.name, ds.channels, cfg.model
        )));
    }
    Ok(())
}

pub fn now_seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

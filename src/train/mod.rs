//! Training: the schedule as a program, the loop, checkpoints and outputs.

pub mod checkpoint;
mod outputs;
pub mod schedule;

use crate::data::Dataset;
use crate::exec::{CpuExec, Executor, GpuExec};
use crate::gpu::{Context, GpuError, GpuOptions};
use crate::models::{self, MlpConfig};
use crate::ops::{AdamConfig, Loss};
use schedule::{GanProgram, ScheduleConfig, ScheduleKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub use outputs::{resolve_checkpoint, LossRow};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The seed tutorial's MLP GAN (28x28 grayscale).
    Mlp,
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The wgpu adapter (falls back to the CPU when none exists).
    #[default]
    Gpu,
    /// The CPU twins of every shader.
    Cpu,
}

/// Where the training images come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DataSource {
    /// The 10,000 MNIST digits embedded in the binary.
    Embedded,
    /// A directory of MNIST-style IDX files (plain or .gz).
    IdxDir(PathBuf),
    /// Debian's dataset-fashion-mnist.
    Fashion,
}

impl DataSource {
    pub fn load(&self) -> Result<Dataset, crate::data::DataError> {
        match self {
            Self::Embedded => crate::data::embedded_mnist(),
            Self::IdxDir(dir) => crate::data::load_idx_dir(dir),
            Self::Fashion => crate::data::fashion_mnist(),
        }
    }
}

/// Everything that defines a run; stored in every checkpoint.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    pub model: ModelKind,
    pub steps: usize,
    pub batch_size: usize,
    pub latent_dim: usize,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub adam_eps: f32,
    pub d_steps: usize,
    pub g_steps: usize,
    pub sample_every: usize,
    pub checkpoint_every: usize,
    pub log_every: usize,
    pub seed: u64,
    pub data: DataSource,
    pub device: DeviceKind,
}

impl Default for TrainConfig {
    /// The seed recipe: Keras MLP GAN, batch 32, 12,000 iterations, Adam(2e-4, 0.5, 0.999, 1e-7).
    fn default() -> Self {
        Self {
            model: ModelKind::Mlp,
            steps: 12_000,
            batch_size: 32,
            latent_dim: 100,
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            adam_eps: 1e-7,
            d_steps: 1,
            g_steps: 2,
            sample_every: 200,
            checkpoint_every: 1000,
            log_every: 50,
            seed: 0,
            data: DataSource::Embedded,
            device: DeviceKind::Gpu,
        }
    }
}

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

impl TrainConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| Err(TrainError::Config(m.to_string()));
        if self.steps == 0 {
            return bad("--steps must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("--batch-size must be at least 1");
        }
        if self.latent_dim == 0 {
            return bad("--latent-dim must be at least 1");
        }
        for (name, v) in [
            ("--lr", self.lr),
            ("--beta1", self.beta1),
            ("--beta2", self.beta2),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(TrainError::Config(format!(
                    "{name} must be a finite, non-negative number (got {v})"
                )));
            }
        }
        if self.lr == 0.0 || self.beta1 >= 1.0 || self.beta2 >= 1.0 {
            return bad("--lr must be positive and --beta1, --beta2 below 1");
        }
        if self.d_steps == 0 || self.g_steps == 0 {
            return bad("--d-steps and --g-steps must be at least 1");
        }
        if self.sample_every == 0 || self.checkpoint_every == 0 || self.log_every == 0 {
            return bad("--sample-every, --checkpoint-every and --log-every must be at least 1");
        }
        Ok(())
    }

    pub fn adam(&self) -> AdamConfig {
        AdamConfig {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.adam_eps,
        }
    }

    pub fn mlp(&self, image_len: usize) -> MlpConfig {
        MlpConfig {
            image_len,
            ..MlpConfig::seed(self.latent_dim)
        }
    }

    /// The training program for a dataset of `count` images of `image_len` pixels.
    pub fn program(&self, count: usize, image_len: usize) -> Result<GanProgram, TrainError> {
        let mlp = self.mlp(image_len);
        let sched = ScheduleConfig {
            kind: ScheduleKind::Seed,
            batch: self.batch_size,
            d_steps: self.d_steps,
            g_steps: self.g_steps,
            adam_d: self.adam(),
            adam_g: self.adam(),
            loss: Loss::BceWithLogits,
            seed: self.seed,
            generated: true,
            sample_count: GRID * GRID,
        };
        Ok(schedule::build(
            &sched,
            self.latent_dim,
            mlp.generator(),
            mlp.discriminator(),
            Some((count, image_len)),
        )?)
    }
}

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
        crate::data::check_shape(&ds, 28, 28)?;
        if cfg.batch_size > ds.count {
            return Err(TrainError::Config(format!(
                "--batch-size {} is larger than the dataset ({} images)",
                cfg.batch_size, ds.count
            )));
        }
        let gan = cfg.program(ds.count, ds.image_len())?;
        let mut exec = executor(cfg.device, gpu, &gan.prog)?;
        let data = gan
            .dataset
            .ok_or_else(|| TrainError::Config("program has no dataset".into()))?;
        exec.write(data.images, &crate::cpu::random::pack_bytes(&ds.images));
        exec.write(data.labels, &crate::cpu::random::pack_bytes(&ds.labels));
        for (net, salt) in [(&gan.g, 1u64), (&gan.d, 2)] {
            let (params, state) =
                models::glorot_init(net, cfg.seed.wrapping_mul(0x9E37_79B9).wrapping_add(salt));
            exec.write_f32(net.params, &params);
            exec.write_f32(net.state, &state);
        }
        let noise = models::normal(cfg.seed, 0xF1CED, gan.sample_noise.len);
        exec.write_f32(gan.sample_noise, &noise);
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

    /// Generates the fixed-noise grid images, (25, 784) in [-1, 1].
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

pub fn now_seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

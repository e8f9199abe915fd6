//! What defines a run: the model, its sizes, the recipe and the data. Stored in every
//! checkpoint (missing fields of older checkpoints take the defaults).

use super::schedule::{self, GanProgram, ScheduleConfig, ScheduleKind};
use super::{TrainError, GRID};
use crate::data::Dataset;
use crate::models::{self, Dcgan64Config, DcganConfig, MlpConfig, CLASSES, DCGAN64_SIZE};
use crate::nn::{Layer, Net};
use crate::ops::{AdamConfig, Loss};
use std::path::PathBuf;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The seed tutorial's MLP GAN (28x28 grayscale).
    Mlp,
    /// The MLP GAN conditioned on the digit: the one-hot label joins G's noise and D's input.
    Cgan,
    /// DCGAN for 28x28 grayscale (MNIST): transposed convolutions up, strided convolutions down.
    Dcgan,
    /// The pytorch/examples DCGAN for 64x64 images (needs --data-folder).
    Dcgan64,
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

/// The GAN loss on D's raw output.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Binary cross-entropy on D's logit (the original GAN).
    #[default]
    Bce,
    /// Least squares (LSGAN): mean squared error of D's output to targets 1 (real) and 0 (fake).
    Lsgan,
}

impl LossKind {
    pub fn op(self) -> Loss {
        match self {
            Self::Bce => Loss::BceWithLogits,
            Self::Lsgan => Loss::Mse,
        }
    }
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
    /// A directory of PNG and JPEG images, resized and center-cropped to `size` x `size` with
    /// `channels` (1 gray, 3 RGB).
    Folder {
        dir: PathBuf,
        channels: usize,
        size: usize,
    },
}

impl DataSource {
    pub fn load(&self) -> Result<Dataset, crate::data::DataError> {
        match self {
            Self::Embedded => crate::data::embedded_mnist(),
            Self::IdxDir(dir) => crate::data::load_idx_dir(dir),
            Self::Fashion => crate::data::fashion_mnist(),
            Self::Folder {
                dir,
                channels,
                size,
            } => crate::data::folder::load_folder(dir, *channels, *size),
        }
    }
}

/// Everything that defines a run; stored in every checkpoint.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub model: ModelKind,
    pub loss: LossKind,
    pub steps: usize,
    pub batch_size: usize,
    pub latent_dim: usize,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub adam_eps: f32,
    /// Seed schedule only: D steps and G steps per iteration.
    pub d_steps: usize,
    pub g_steps: usize,
    /// `dcgan`: channels of G's first feature map and of D's first convolution.
    pub g_width: usize,
    pub d_width: usize,
    /// `dcgan64`: pytorch/examples' ngf and ndf, and the image channels (1 or 3).
    pub ngf: usize,
    pub ndf: usize,
    pub channels: usize,
    pub sample_every: usize,
    pub checkpoint_every: usize,
    pub log_every: usize,
    pub seed: u64,
    pub data: DataSource,
    pub device: DeviceKind,
    /// Checkpoints kept besides the newest ones' pointer `latest`.
    pub keep_checkpoints: usize,
    pub on_nan: OnNan,
    /// Score the generator every N iterations (0: never): extra losses.csv columns.
    pub eval_every: usize,
    /// Generated (and real) images per score.
    pub eval_count: usize,
    /// The classifier the scores use; None: the dataset's cached one (`eval::classifier`).
    pub classifier: Option<PathBuf>,
}

/// What a non-finite loss or gradient does to a run.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum OnNan {
    /// Stop, keeping the last good checkpoint.
    #[default]
    Stop,
    /// Reload the last good checkpoint and go on with the learning rate halved (at most 3 times).
    Rollback,
}

impl Default for TrainConfig {
    /// The seed recipe: Keras MLP GAN, batch 32, 12,000 iterations, Adam(2e-4, 0.5, 0.999, 1e-7).
    fn default() -> Self {
        Self {
            model: ModelKind::Mlp,
            loss: LossKind::Bce,
            steps: 12_000,
            batch_size: 32,
            latent_dim: 100,
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            adam_eps: 1e-7,
            d_steps: 1,
            g_steps: 2,
            g_width: 128,
            d_width: 64,
            ngf: 64,
            ndf: 64,
            channels: 1,
            sample_every: 200,
            checkpoint_every: 1000,
            log_every: 50,
            seed: 0,
            data: DataSource::Embedded,
            device: DeviceKind::Gpu,
            keep_checkpoints: 3,
            on_nan: OnNan::Stop,
            eval_every: 0,
            eval_count: 2000,
            classifier: None,
        }
    }
}

impl TrainConfig {
    /// The recipe of `model`: the seed's for `mlp`; for the DCGANs batch 64, Adam eps 1e-8
    /// (PyTorch's default), one D and one G step per iteration, 2,000 iterations, and RGB
    /// images for `dcgan64`.
    pub fn for_model(model: ModelKind) -> Self {
        let dcgan = Self {
            model,
            steps: 2_000,
            batch_size: 64,
            adam_eps: 1e-8,
            d_steps: 1,
            g_steps: 1,
            ..Self::default()
        };
        match model {
            ModelKind::Mlp => Self::default(),
            ModelKind::Cgan => Self {
                model,
                ..Self::default()
            },
            ModelKind::Dcgan => dcgan,
            ModelKind::Dcgan64 => Self {
                channels: 3,
                ..dcgan
            },
        }
    }

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
            ("--adam-eps", self.adam_eps),
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
        if self.eval_every > 0 && self.eval_count < 2 {
            return bad("--eval-count must be at least 2");
        }
        self.validate_model()
    }

    fn validate_model(&self) -> Result<(), TrainError> {
        let cfg = TrainError::Config;
        match self.model {
            ModelKind::Mlp => Ok(()),
            ModelKind::Cgan => match self.data {
                DataSource::Folder { .. } => Err(cfg(
                    "--model cgan needs labelled digits (IDX files), not --data-folder".into(),
                )),
                _ => Ok(()),
            },
            ModelKind::Dcgan => self.dcgan().validate().map_err(cfg),
            ModelKind::Dcgan64 => {
                self.dcgan64().validate().map_err(cfg)?;
                match self.data {
                    DataSource::Folder { .. } => Ok(()),
                    _ => Err(cfg(
                        "--model dcgan64 trains on 64x64 images: give --data-folder DIR".into(),
                    )),
                }
            }
        }
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

    pub fn dcgan(&self) -> DcganConfig {
        DcganConfig::mnist(self.latent_dim, self.g_width, self.d_width)
    }

    pub fn dcgan64(&self) -> Dcgan64Config {
        Dcgan64Config::new(self.latent_dim, self.channels, self.ngf, self.ndf)
    }

    /// (channels, height, width) of the images the model makes and reads.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        match self.model {
            ModelKind::Mlp | ModelKind::Cgan | ModelKind::Dcgan => (1, 28, 28),
            ModelKind::Dcgan64 => (self.channels, DCGAN64_SIZE, DCGAN64_SIZE),
        }
    }

    pub fn schedule_kind(&self) -> ScheduleKind {
        match self.model {
            ModelKind::Mlp | ModelKind::Cgan => ScheduleKind::Seed,
            ModelKind::Dcgan | ModelKind::Dcgan64 => ScheduleKind::Dcgan,
        }
    }

    /// The generator's layers (latent -> image of `image_len`) and the discriminator's.
    pub fn layers(&self, image_len: usize) -> Result<(Vec<Layer>, Vec<Layer>), TrainError> {
        let (c, h, w) = self.image_shape();
        let flat = matches!(self.model, ModelKind::Mlp | ModelKind::Cgan);
        if !flat && image_len != c * h * w {
            return Err(TrainError::Config(format!(
                "--model {:?} needs images of {c}x{h}x{w} = {} values, not {image_len}",
                self.model,
                c * h * w
            )));
        }
        Ok(match self.model {
            ModelKind::Mlp => {
                let m = self.mlp(image_len);
                (m.generator(), m.discriminator())
            }
            ModelKind::Cgan => self.mlp(image_len).conditional(CLASSES),
            ModelKind::Dcgan => (self.dcgan().generator(), self.dcgan().discriminator()),
            ModelKind::Dcgan64 => (self.dcgan64().generator(), self.dcgan64().discriminator()),
        })
    }

    /// Initial parameter and state arenas of `net`: Glorot for the MLP (Keras' default), the
    /// DCGAN paper's N(0, 0.02) for the DCGANs.
    pub fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        match self.model {
            ModelKind::Mlp | ModelKind::Cgan => models::glorot_init(net, seed),
            ModelKind::Dcgan | ModelKind::Dcgan64 => models::dcgan_init(net, seed),
        }
    }

    /// Label classes the model is conditioned on; 0 for none.
    pub fn classes(&self) -> usize {
        match self.model {
            ModelKind::Cgan => CLASSES,
            _ => 0,
        }
    }

    /// Side of the square sample grid: one row per class for conditioned models.
    pub fn grid(&self) -> usize {
        match self.classes() {
            0 => GRID,
            c => c,
        }
    }

    /// The sample grid's fixed noise, (grid², latent): one draw per tile, or for a conditioned
    /// model one per column, repeated down the class rows (one style across every class).
    pub fn sample_noise(&self) -> Vec<f32> {
        let (n, latent) = (self.grid(), self.latent_dim);
        if self.classes() == 0 {
            return models::normal(self.seed, 0xF1CED, n * n * latent);
        }
        let row = models::normal(self.seed, 0xF1CED, n * latent);
        (0..n).flat_map(|_| row.iter().copied()).collect()
    }

    /// The class of each sample-grid tile: row r shows class r.
    pub fn sample_labels(&self) -> Vec<f32> {
        let n = self.grid();
        (0..n * n).map(|i| (i / n) as f32).collect()
    }

    /// The training program for a dataset of `count` images of `image_len` pixels.
    pub fn program(&self, count: usize, image_len: usize) -> Result<GanProgram, TrainError> {
        let (g_layers, d_layers) = self.layers(image_len)?;
        let sched = ScheduleConfig {
            kind: self.schedule_kind(),
            batch: self.batch_size,
            d_steps: self.d_steps,
            g_steps: self.g_steps,
            adam_d: self.adam(),
            adam_g: self.adam(),
            loss: self.loss.op(),
            classes: self.classes(),
            seed: self.seed,
            generated: true,
            sample_count: self.grid() * self.grid(),
        };
        Ok(schedule::build(
            &sched,
            self.latent_dim,
            g_layers,
            d_layers,
            Some((count, image_len)),
        )?)
    }
}

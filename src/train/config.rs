//! What defines a run: the model, its sizes, the recipe and the data. Stored in every
//! checkpoint (missing fields of older checkpoints take the defaults).

use super::TrainError;
use crate::data::Dataset;
use crate::models::{Dcgan64Config, DcganConfig, MlpConfig};
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
    /// ACGAN: G conditioned on the digit; D also classifies (a second head of 10 logits).
    Acgan,
    /// InfoGAN: G reads a 10-way categorical and 2 continuous codes; a Q head on D's body
    /// recovers them (the mutual-information loss).
    Infogan,
    /// WGAN-GP: an MLP critic without sigmoid, 5 critic steps per G step, gradient penalty 10.
    #[serde(rename = "wgan-gp")]
    WganGp,
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
    /// Decay of the moving average of G's weights that samples, checkpoints' `g_ema.*` and
    /// `sample` use (0: none; the samples use G itself).
    pub g_ema: f32,
    /// cgan: D also learns that real images with wrong labels are fakes.
    pub mismatch: bool,
    /// Write TensorBoard event files into RUN/tb/.
    pub tensorboard: bool,
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

/// The moving average of G's weights the GAN family samples from: with 2 G steps per
/// iteration, about the last 500 iterations. On the embedded MNIST at 3,000 iterations,
/// averaging G's checkpoints of the last 1,000 iterations took acgan's class accuracy from
/// 84.5% to 94.4% and its Fréchet classifier distance from 472 to 280.
pub const FAMILY_EMA: f32 = 0.999;

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
            g_ema: 0.0,
            mismatch: false,
            tensorboard: true,
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
            // The matching-aware D makes the label matter from the first iterations: at 3,000
            // iterations on the embedded MNIST, 81% of samples were the requested digit without
            // it and 90% with it (91% with the moving average of G).
            ModelKind::Cgan => Self {
                model,
                g_ema: FAMILY_EMA,
                mismatch: true,
                ..Self::default()
            },
            ModelKind::Dcgan => dcgan,
            ModelKind::Dcgan64 => Self {
                channels: 3,
                ..dcgan
            },
            ModelKind::Acgan => Self {
                model,
                g_ema: FAMILY_EMA,
                ..Self::default()
            },
            ModelKind::Infogan => Self {
                model,
                latent_dim: 62,
                g_ema: FAMILY_EMA,
                ..Self::default()
            },
            // Gulrajani et al.'s algorithm 1 defaults.
            ModelKind::WganGp => Self {
                model,
                steps: 4_000,
                batch_size: 64,
                lr: 1e-4,
                beta1: 0.0,
                beta2: 0.9,
                adam_eps: 1e-8,
                d_steps: 5,
                g_steps: 1,
                g_ema: FAMILY_EMA,
                ..Self::default()
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
        if !(0.0..1.0).contains(&self.g_ema) {
            return Err(TrainError::Config(format!(
                "--g-ema must be in [0, 1) (got {}); 0 turns the average off",
                self.g_ema
            )));
        }
        if self.eval_every > 0 && self.eval_count < 2 {
            return bad("--eval-count must be at least 2");
        }
        self.validate_model()
    }

    fn validate_model(&self) -> Result<(), TrainError> {
        let cfg = TrainError::Config;
        match self.model {
            ModelKind::Mlp | ModelKind::Infogan | ModelKind::WganGp => Ok(()),
            ModelKind::Cgan | ModelKind::Acgan => match self.data {
                DataSource::Folder { .. } => Err(cfg(format!(
                    "--model {} needs labelled digits (IDX files), not --data-folder",
                    self.model_name()
                ))),
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

    /// The model's name on the command line (`wgan-gp`, ...).
    pub fn model_name(&self) -> String {
        use clap::ValueEnum;
        let v = self.model.to_possible_value();
        v.map_or_else(|| format!("{:?}", self.model), |v| v.get_name().to_string())
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
}

//! What defines a run: the model, its sizes, the recipe and the data. Stored in every
//! checkpoint (missing fields of older checkpoints take the defaults).

use super::TrainError;
use crate::data::DataSource;
use crate::exec::DeviceKind;
use crate::lr::LrSchedule;
use crate::models::{Dcgan64Config, DcganConfig, MlpConfig};
use crate::ops::{AdamConfig, Loss};
use std::collections::BTreeMap;
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
    /// SRGAN: super-resolution x4 or x2; SRResNet G pretrained on MSE, then the GAN.
    Srgan,
    /// CycleGAN: unpaired translation between two image domains (--data-a, --data-b).
    Cyclegan,
    /// DVD-GAN: moving-MNIST clips from a ConvGRU generator against a spatial and a temporal
    /// discriminator (spectral norm, hinge losses).
    Dvdgan,
}

impl ModelKind {
    /// Its `--model` name.
    pub fn name(self) -> String {
        use clap::ValueEnum;
        let v = self.to_possible_value();
        v.map_or_else(|| format!("{self:?}"), |v| v.get_name().to_string())
    }

    /// Its name in the papers and tutorials, for headers: "DVD-GAN", not "Dvdgan".
    pub fn title(self) -> &'static str {
        match self {
            Self::Mlp => "MLP GAN",
            Self::Cgan => "cGAN",
            Self::Dcgan => "DCGAN",
            Self::Dcgan64 => "DCGAN 64x64",
            Self::Acgan => "ACGAN",
            Self::Infogan => "InfoGAN",
            Self::WganGp => "WGAN-GP",
            Self::Srgan => "SRGAN",
            Self::Cyclegan => "CycleGAN",
            Self::Dvdgan => "DVD-GAN",
        }
    }

    /// Every model, in `--help` order.
    pub fn all() -> &'static [ModelKind] {
        use clap::ValueEnum;
        Self::value_variants()
    }
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

/// Everything that defines a run; stored in every checkpoint.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub model: ModelKind,
    pub loss: LossKind,
    pub steps: usize,
    pub batch_size: usize,
    pub latent_dim: usize,
    /// The learning rate of both nets, unless `lr_g` or `lr_d` gives one its own.
    pub lr: f32,
    pub lr_g: Option<f32>,
    pub lr_d: Option<f32>,
    /// How the rates change over the iterations (`crate::lr`).
    pub lr_schedule: LrSchedule,
    pub beta1: f32,
    pub beta2: f32,
    pub adam_eps: f32,
    /// Seed schedule only: D steps and G steps per iteration.
    pub d_steps: usize,
    pub g_steps: usize,
    /// `dcgan64`: the image channels (1 or 3).
    pub channels: usize,
    /// The values of the family's own hyperparameters by flag name (`params`), every one of
    /// them for a config made by the CLI.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
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
            lr_g: None,
            lr_d: None,
            lr_schedule: LrSchedule::Constant,
            beta1: 0.5,
            beta2: 0.999,
            adam_eps: 1e-7,
            d_steps: 1,
            g_steps: 2,
            params: BTreeMap::new(),
            channels: 1,
            sample_every: 200,
            checkpoint_every: 1000,
            log_every: 50,
            seed: 0,
            data: DataSource::Embedded,
            device: DeviceKind::Auto,
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
    /// The recipe of `model`, as its family declares it.
    pub fn for_model(model: ModelKind) -> Self {
        super::families::family(model).defaults()
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
            ("--lr-g", self.lr_g()),
            ("--lr-d", self.lr_d()),
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
        if self.lr == 0.0 || self.lr_g() == 0.0 || self.lr_d() == 0.0 {
            return bad("--lr, --lr-g and --lr-d must be positive");
        }
        if self.beta1 >= 1.0 || self.beta2 >= 1.0 {
            return bad("--beta1 and --beta2 must be below 1");
        }
        match &self.lr_schedule {
            LrSchedule::Step { gamma, .. } if !(gamma.is_finite() && *gamma > 0.0) => {
                return bad("--lr-gamma must be a finite, positive number");
            }
            LrSchedule::Linear { iters: 0, .. } => {
                return bad("--lr-decay-iters must be at least 1");
            }
            _ => {}
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
        self.family().validate(self).map_err(TrainError::Config)
    }

    /// The model's name on the command line (`wgan-gp`, ...).
    pub fn model_name(&self) -> String {
        self.model.name()
    }

    /// G's and D's base learning rates (before the schedule).
    pub fn lr_g(&self) -> f32 {
        self.lr_g.unwrap_or(self.lr)
    }

    pub fn lr_d(&self) -> f32 {
        self.lr_d.unwrap_or(self.lr)
    }

    /// Adam for a net whose base rate is `lr`.
    pub fn adam(&self, lr: f32) -> AdamConfig {
        AdamConfig {
            lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.adam_eps,
        }
    }

    /// Every rate halved (a rollback after a non-finite loss or gradient).
    pub fn halve_learning_rates(&mut self) {
        self.lr /= 2.0;
        self.lr_g = self.lr_g.map(|lr| lr / 2.0);
        self.lr_d = self.lr_d.map(|lr| lr / 2.0);
    }

    pub fn mlp(&self, image_len: usize) -> MlpConfig {
        MlpConfig {
            image_len,
            ..MlpConfig::seed(self.latent_dim)
        }
    }

    pub fn dcgan(&self) -> DcganConfig {
        // `validate` has parsed them; 0 makes DcganConfig::validate say so otherwise.
        let (g, d) = (
            self.param("g-width").unwrap_or(0),
            self.param("d-width").unwrap_or(0),
        );
        DcganConfig::mnist(self.latent_dim, g, d)
    }

    pub fn dcgan64(&self) -> Dcgan64Config {
        // `validate` has parsed them; 0 makes Dcgan64Config::validate say so otherwise.
        let (ngf, ndf) = (
            self.param("ngf").unwrap_or(0),
            self.param("ndf").unwrap_or(0),
        );
        Dcgan64Config::new(self.latent_dim, self.channels, ngf, ndf)
    }
}

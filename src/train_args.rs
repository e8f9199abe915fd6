//! `wgpu-gan train` flags (part of the binary, next to main.rs): parsing, per-model defaults
//! for the flags not given, and the checks that a flag applies to the chosen model.

use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use wgpu_gan::train::{DataSource, DeviceKind, LossKind, ModelKind, OnNan, TrainConfig};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetName {
    /// The 10,000 MNIST digits embedded in the binary.
    Embedded,
    /// Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
    Fashion,
}

#[derive(Args, Clone)]
pub struct TrainArgs {
    /// Which GAN to train.
    #[arg(long, value_enum, default_value_t = ModelKind::Mlp)]
    pub model: ModelKind,
    /// The GAN loss: binary cross-entropy, or least squares (LSGAN: MSE to targets 1 and 0).
    /// wgan-gp has its own (Wasserstein) loss [default: bce].
    #[arg(long, value_enum)]
    loss: Option<LossKind>,
    /// Iterations [default: 12000 for mlp, cgan, acgan and infogan; 2000 for dcgan and
    /// dcgan64; 4000 for wgan-gp].
    #[arg(long)]
    steps: Option<usize>,
    /// [default: 32 for mlp, cgan, acgan and infogan; 64 for dcgan, dcgan64 and wgan-gp]
    #[arg(long)]
    batch_size: Option<usize>,
    /// Length of z [default: 100; 62 for infogan, whose G also reads 10 + 2 codes].
    #[arg(long)]
    latent_dim: Option<usize>,
    /// [default: 0.0002; 0.0001 for wgan-gp]
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f32>,
    /// [default: 0.5; 0 for wgan-gp]
    #[arg(long)]
    beta1: Option<f32>,
    /// [default: 0.999; 0.9 for wgan-gp]
    #[arg(long)]
    beta2: Option<f32>,
    /// Adam's epsilon [default: 1e-7 for mlp, cgan, acgan and infogan (Keras), 1e-8 for dcgan,
    /// dcgan64 and wgan-gp].
    #[arg(long)]
    adam_eps: Option<f32>,
    /// mlp, cgan, acgan, infogan: D steps (a real batch and a fake batch each) per iteration
    /// [default: 1]; wgan-gp: critic steps per G step [default: 5].
    #[arg(long)]
    d_steps: Option<usize>,
    /// mlp, cgan, acgan, infogan: G steps per iteration [default: 2].
    #[arg(long)]
    g_steps: Option<usize>,
    /// Decay of the moving average of G's weights that samples use; 0 samples G itself
    /// [default: 0.999 for cgan, acgan, infogan and wgan-gp; 0 for mlp, dcgan and dcgan64].
    #[arg(long)]
    g_ema: Option<f32>,
    /// cgan: D also sees each real batch with random labels as fakes (a matching-aware
    /// discriminator, so the label matters early) [default: true].
    #[arg(long, action = clap::ArgAction::Set)]
    mismatch: Option<bool>,
    /// dcgan: channels of G's first (7x7) feature map; its second has half [default: 128].
    #[arg(long)]
    g_width: Option<usize>,
    /// dcgan: channels of D's first convolution; its second has twice [default: 64].
    #[arg(long)]
    d_width: Option<usize>,
    /// dcgan64: G feature maps (pytorch/examples' ngf) [default: 64].
    #[arg(long)]
    ngf: Option<usize>,
    /// dcgan64: D feature maps (pytorch/examples' ndf) [default: 64].
    #[arg(long)]
    ndf: Option<usize>,
    /// dcgan64: image channels, 1 (grayscale) or 3 (RGB) [default: 3].
    #[arg(long)]
    channels: Option<usize>,
    /// Write samples/step_NNNNNN.png every N iterations.
    #[arg(long, default_value_t = 200)]
    sample_every: usize,
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: usize,
    /// Append to losses.csv every N iterations.
    #[arg(long, default_value_t = 50)]
    log_every: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A directory with MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte; .gz ok).
    #[arg(long, conflicts_with = "dataset")]
    data: Option<PathBuf>,
    /// A directory of PNG and JPEG images (searched recursively), resized and center-cropped to
    /// the model's size; unreadable files are skipped with a warning.
    #[arg(long, conflicts_with_all = ["data", "dataset"])]
    data_folder: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DatasetName::Embedded)]
    dataset: DatasetName,
    #[arg(long, value_enum, default_value_t = DeviceKind::Gpu)]
    device: DeviceKind,
    /// Run directory (default runs/<model>-<timestamp>); must not hold a run already.
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its latest good checkpoint, with its flags;
    /// only --steps, --sample-every, --checkpoint-every, --log-every, --keep-checkpoints,
    /// --on-nan, --device and --tensorboard may change.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Keep this many checkpoints (the newest).
    #[arg(long, default_value_t = 3)]
    keep_checkpoints: usize,
    /// On a NaN or infinite loss or gradient: stop, or roll back to the last good checkpoint
    /// with the learning rate halved (at most 3 times).
    #[arg(long, value_enum, default_value_t = OnNan::Stop)]
    on_nan: OnNan,
    /// Wrap these iterations (1-based, comma-separated) in RenderDoc captures; run under
    /// `renderdoccmd capture` (see README).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..))]
    pub renderdoc_capture: Vec<u64>,
    /// Score the generator every N iterations (Fréchet classifier distance, class entropy,
    /// confidence): extra losses.csv columns and progress, a warning on mode collapse.
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Generated (and real) images per score.
    #[arg(long, default_value_t = 2000)]
    eval_count: usize,
    /// The classifier for --eval-every [default: classifiers/<dataset>.safetensors, trained
    /// first when missing].
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Write TensorBoard event files (losses, scores, speed, sample grids, the config) into
    /// RUN/tb/; view them with `tensorboard --logdir runs`.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    tensorboard: bool,
}

/// Flags that may differ from the saved run on --resume.
const MAY_CHANGE: &[&str] = &[
    "steps",
    "sample_every",
    "checkpoint_every",
    "log_every",
    "keep_checkpoints",
    "on_nan",
    "device",
    "resume",
    "renderdoc_capture",
    "tensorboard",
];

pub fn model_name(model: ModelKind) -> String {
    use clap::ValueEnum;
    model
        .to_possible_value()
        .map_or_else(|| format!("{model:?}"), |v| v.get_name().to_string())
}

impl TrainArgs {
    /// Fails on a model-specific flag given for another model.
    fn check_model_flags(&self) -> Result<()> {
        use ModelKind::{Acgan, Cgan, Dcgan, Dcgan64, Infogan, Mlp, WganGp};
        let flags: [(&str, bool, &[ModelKind]); 9] = [
            ("--mismatch", self.mismatch.is_some(), &[Cgan]),
            (
                "--loss",
                self.loss.is_some(),
                &[Mlp, Cgan, Acgan, Infogan, Dcgan, Dcgan64],
            ),
            (
                "--d-steps",
                self.d_steps.is_some(),
                &[Mlp, Cgan, Acgan, Infogan, WganGp],
            ),
            (
                "--g-steps",
                self.g_steps.is_some(),
                &[Mlp, Cgan, Acgan, Infogan],
            ),
            ("--g-width", self.g_width.is_some(), &[Dcgan]),
            ("--d-width", self.d_width.is_some(), &[Dcgan]),
            ("--ngf", self.ngf.is_some(), &[Dcgan64]),
            ("--ndf", self.ndf.is_some(), &[Dcgan64]),
            ("--channels", self.channels.is_some(), &[Dcgan64]),
        ];
        for (flag, given, models) in flags {
            if given && !models.contains(&self.model) {
                let names: Vec<String> = models.iter().map(|m| model_name(*m)).collect();
                bail!(
                    "{flag} applies to --model {}, not {}",
                    names.join(", "),
                    model_name(self.model)
                );
            }
        }
        Ok(())
    }

    /// The saved run's config with the flags that may change applied; any other flag given
    /// must agree with the saved run.
    pub fn resume_config(&self, saved: &TrainConfig, given: &[String]) -> Result<TrainConfig> {
        let mut args = self.clone();
        if !given.iter().any(|g| g == "model") {
            args.model = saved.model;
        }
        let fresh = args.config()?;
        let (old, new) = (serde_json::to_value(saved)?, serde_json::to_value(&fresh)?);
        for id in given.iter().filter(|id| !MAY_CHANGE.contains(&id.as_str())) {
            let field = match id.as_str() {
                "data" | "data_folder" | "dataset" => "data",
                other => other,
            };
            if old.get(field) != new.get(field) {
                let shown = |v: Option<&serde_json::Value>| v.map_or("?".into(), |v| v.to_string());
                bail!(
                    "--{} {} conflicts with the run's {}; on --resume only --steps, --sample-every, \
                     --checkpoint-every, --log-every, --keep-checkpoints, --on-nan, --device and \
                     --tensorboard may change",
                    id.replace('_', "-"),
                    shown(new.get(field)),
                    shown(old.get(field))
                );
            }
        }
        let pick = |id: &str| given.iter().any(|g| g == id);
        let mut cfg = saved.clone();
        if pick("steps") {
            cfg.steps = fresh.steps;
        }
        if pick("sample_every") {
            cfg.sample_every = fresh.sample_every;
        }
        if pick("checkpoint_every") {
            cfg.checkpoint_every = fresh.checkpoint_every;
        }
        if pick("log_every") {
            cfg.log_every = fresh.log_every;
        }
        if pick("keep_checkpoints") {
            cfg.keep_checkpoints = fresh.keep_checkpoints;
        }
        if pick("on_nan") {
            cfg.on_nan = fresh.on_nan;
        }
        if pick("device") {
            cfg.device = fresh.device;
        }
        if pick("tensorboard") {
            cfg.tensorboard = fresh.tensorboard;
        }
        Ok(cfg)
    }

    /// The run's config: the model's recipe, with every flag given applied.
    pub fn config(&self) -> Result<TrainConfig> {
        self.check_model_flags()?;
        let base = TrainConfig::for_model(self.model);
        let mut cfg = TrainConfig {
            model: self.model,
            loss: self.loss.unwrap_or(base.loss),
            steps: self.steps.unwrap_or(base.steps),
            batch_size: self.batch_size.unwrap_or(base.batch_size),
            latent_dim: self.latent_dim.unwrap_or(base.latent_dim),
            lr: self.lr.unwrap_or(base.lr),
            beta1: self.beta1.unwrap_or(base.beta1),
            beta2: self.beta2.unwrap_or(base.beta2),
            adam_eps: self.adam_eps.unwrap_or(base.adam_eps),
            d_steps: self.d_steps.unwrap_or(base.d_steps),
            g_steps: self.g_steps.unwrap_or(base.g_steps),
            g_ema: self.g_ema.unwrap_or(base.g_ema),
            mismatch: self.mismatch.unwrap_or(base.mismatch),
            g_width: self.g_width.unwrap_or(base.g_width),
            d_width: self.d_width.unwrap_or(base.d_width),
            ngf: self.ngf.unwrap_or(base.ngf),
            ndf: self.ndf.unwrap_or(base.ndf),
            channels: self.channels.unwrap_or(base.channels),
            sample_every: self.sample_every,
            checkpoint_every: self.checkpoint_every,
            log_every: self.log_every,
            seed: self.seed,
            device: self.device,
            keep_checkpoints: self.keep_checkpoints,
            on_nan: self.on_nan,
            eval_every: self.eval_every,
            eval_count: self.eval_count,
            classifier: self.classifier.clone(),
            tensorboard: self.tensorboard,
            ..base
        };
        let (channels, size, _) = cfg.image_shape();
        cfg.data = match (&self.data_folder, &self.data, self.dataset) {
            (Some(dir), _, _) => DataSource::Folder {
                dir: dir.clone(),
                channels,
                size,
            },
            (None, Some(dir), _) => DataSource::IdxDir(dir.clone()),
            (None, None, DatasetName::Fashion) => DataSource::Fashion,
            (None, None, DatasetName::Embedded) => DataSource::Embedded,
        };
        Ok(cfg)
    }
}

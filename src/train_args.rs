//! `wgpu-gan train` flags (part of the binary, next to main.rs): parsing, per-model defaults
//! for the flags not given, and the checks that a flag applies to the chosen model.

use crate::param_args::ParamArgs;
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use wgpu_gan::data::DataSource;
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::lr::LrSchedule;
use wgpu_gan::train::families::family;
use wgpu_gan::train::params;
use wgpu_gan::train::{LossKind, ModelKind, OnNan, TrainConfig};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetName {
    /// The 10,000 MNIST digits embedded in the binary.
    Embedded,
    /// Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
    Fashion,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScheduleName {
    Constant,
    Step,
    Linear,
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
    /// The learning rate of both nets [default: 0.0002; 0.0001 for wgan-gp].
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f32>,
    /// G's own learning rate (the two time-scale update rule, TTUR) [default: --lr].
    #[arg(long, allow_negative_numbers = true)]
    lr_g: Option<f32>,
    /// D's own learning rate [default: --lr].
    #[arg(long, allow_negative_numbers = true)]
    lr_d: Option<f32>,
    /// How the learning rates change over the run: constant; step (multiplied by --lr-gamma at
    /// each --lr-decay-at iteration, PyTorch's MultiStepLR); linear (constant, then down to 0
    /// over the last --lr-decay-iters iterations, CycleGAN's LambdaLR rule) [default: step for
    /// srgan, linear for cyclegan, constant for the others].
    #[arg(long, value_enum)]
    lr_schedule: Option<ScheduleName>,
    /// step: the iterations at which the rates are multiplied by --lr-gamma, comma-separated
    /// [default: half of --steps].
    #[arg(long, value_delimiter = ',')]
    lr_decay_at: Vec<usize>,
    /// step: the factor at each --lr-decay-at iteration.
    #[arg(long, default_value_t = 0.1)]
    lr_gamma: f32,
    /// linear: the iterations at the end of the run over which the rates fall to 0 [default:
    /// half of --steps].
    #[arg(long)]
    lr_decay_iters: Option<usize>,
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
    /// dcgan64: image channels, 1 (grayscale) or 3 (RGB) [default: 3].
    #[arg(long)]
    channels: Option<usize>,
    /// Write samples/step_NNNNNN.png every N iterations.
    #[arg(long, default_value_t = 200)]
    sample_every: usize,
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: usize,
    /// Append to losses.csv every N iterations [default: 50; 200 for srgan, whose rows score
    /// the held-out images].
    #[arg(long)]
    log_every: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A directory with MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte; .gz ok).
    #[arg(long, conflicts_with = "dataset")]
    data: Option<PathBuf>,
    /// A directory of PNG and JPEG images (searched recursively), resized and center-cropped to
    /// the model's size; unreadable files are skipped with a warning. Symbolic links to
    /// directories are followed, each real directory (device and inode) once, so a link loop
    /// reads every image once.
    #[arg(long, conflicts_with_all = ["data", "dataset"])]
    data_folder: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DatasetName::Embedded)]
    dataset: DatasetName,
    #[arg(long, value_enum, default_value_t = DeviceKind::Auto)]
    device: DeviceKind,
    /// Run directory (default runs/<model>-<timestamp>); must not hold a run already.
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its latest good checkpoint, with its flags;
    /// only --steps, --sample-every, --checkpoint-every, --log-every, --keep-checkpoints,
    /// --on-nan, --device and --tensorboard may change.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// With --resume: load a checkpoint holding NaN or infinite values instead of skipping it
    /// for an earlier one (debugging).
    #[arg(long, requires = "resume")]
    pub allow_nonfinite: bool,
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
    /// The families' own hyperparameters (`Family::params`).
    #[command(flatten)]
    params: ParamArgs,
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
    "allow_nonfinite",
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
    /// Fails on a model-specific flag given for another model (each family lists the ones it
    /// takes).
    fn check_model_flags(&self) -> Result<()> {
        use clap::ValueEnum;
        let given: [(&str, bool); 5] = [
            ("--mismatch", self.mismatch.is_some()),
            ("--loss", self.loss.is_some()),
            ("--d-steps", self.d_steps.is_some()),
            ("--g-steps", self.g_steps.is_some()),
            ("--channels", self.channels.is_some()),
        ];
        for (flag, _) in given.iter().filter(|(_, given)| *given) {
            if family(self.model).flags().contains(flag) {
                continue;
            }
            let names: Vec<String> = ModelKind::value_variants()
                .iter()
                .filter(|m| family(**m).flags().contains(flag))
                .map(|m| model_name(*m))
                .collect();
            bail!(
                "{flag} applies to --model {}, not {}",
                names.join(", "),
                model_name(self.model)
            );
        }
        Ok(())
    }

    /// The learning-rate schedule the flags ask for, over a run of `steps` iterations.
    fn lr_schedule(&self, steps: usize, base: &LrSchedule) -> Result<LrSchedule> {
        let kind = self.lr_schedule.unwrap_or(match base {
            LrSchedule::Constant => ScheduleName::Constant,
            LrSchedule::Step { .. } => ScheduleName::Step,
            LrSchedule::Linear { .. } => ScheduleName::Linear,
        });
        let step = kind == ScheduleName::Step;
        if !step && !self.lr_decay_at.is_empty() {
            bail!("--lr-decay-at applies to --lr-schedule step");
        }
        let linear = kind == ScheduleName::Linear;
        if !linear && self.lr_decay_iters.is_some() {
            bail!("--lr-decay-iters applies to --lr-schedule linear");
        }
        Ok(match kind {
            ScheduleName::Constant => LrSchedule::Constant,
            ScheduleName::Step if self.lr_decay_at.is_empty() => LrSchedule::Step {
                at: vec![steps / 2],
                gamma: self.lr_gamma,
            },
            ScheduleName::Step => LrSchedule::Step {
                at: self.lr_decay_at.clone(),
                gamma: self.lr_gamma,
            },
            ScheduleName::Linear => {
                // A family's default schedule fits any run, one iteration long included.
                let least = usize::from(self.lr_schedule.is_none());
                let iters = self.lr_decay_iters.unwrap_or((steps / 2).max(least));
                if iters > steps {
                    bail!("--lr-decay-iters {iters} is longer than the run (--steps {steps})");
                }
                LrSchedule::Linear {
                    start: steps - iters,
                    iters,
                }
            }
        })
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
            if let Some(new_value) = fresh.params.get(id) {
                let old_value = saved.param::<String>(id).unwrap_or_default();
                if *new_value != old_value {
                    bail!("--{id} {new_value} conflicts with the run's {old_value}; on --resume a hyperparameter of the model may not change");
                }
                continue;
            }
            let field = match id.as_str() {
                "data" | "data_folder" | "dataset" => "data",
                "lr_decay_at" | "lr_gamma" | "lr_decay_iters" => "lr_schedule",
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
        let base_schedule = base.lr_schedule.clone();
        let mut cfg = TrainConfig {
            model: self.model,
            loss: self.loss.unwrap_or(base.loss),
            steps: self.steps.unwrap_or(base.steps),
            batch_size: self.batch_size.unwrap_or(base.batch_size),
            latent_dim: self.latent_dim.unwrap_or(base.latent_dim),
            lr: self.lr.unwrap_or(base.lr),
            lr_g: self.lr_g.or(base.lr_g),
            lr_d: self.lr_d.or(base.lr_d),
            beta1: self.beta1.unwrap_or(base.beta1),
            beta2: self.beta2.unwrap_or(base.beta2),
            adam_eps: self.adam_eps.unwrap_or(base.adam_eps),
            d_steps: self.d_steps.unwrap_or(base.d_steps),
            g_steps: self.g_steps.unwrap_or(base.g_steps),
            g_ema: self.g_ema.unwrap_or(base.g_ema),
            mismatch: self.mismatch.unwrap_or(base.mismatch),
            params: params::resolve(self.model, &self.params.given)?,
            channels: self.channels.unwrap_or(base.channels),
            sample_every: self.sample_every,
            checkpoint_every: self.checkpoint_every,
            log_every: self.log_every.unwrap_or(base.log_every),
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
        cfg.lr_schedule = self.lr_schedule(cfg.steps, &base_schedule)?;
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

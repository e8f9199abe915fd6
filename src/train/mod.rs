//! Training: the schedule as a program, the loop, checkpoints and outputs.

mod board;
mod config;
pub mod families;
mod outputs;
pub mod params;
mod recipe;
pub mod resume;
pub mod schedule;
mod setup;
pub mod speed;
mod state;
pub mod stream;

use crate::checkpoint;
use crate::eval::classifier::Classifier;
use crate::eval::monitor::{Monitor, MonitorOps};
use crate::exec::{executor, Executor};
use crate::gpu::{GpuError, GpuOptions};
use crate::lr;
use schedule::GanProgram;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use config::{LossKind, ModelKind, OnNan, TrainConfig, FAMILY_EMA};
pub use outputs::{csv_header, resolve_checkpoint, LossRow, CSV_HEADER};
use setup::{check_dataset, split_held_out};
pub use setup::{upload_extra_datasets, upload_initial_state};
pub use state::checkpoint_config;

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
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    #[error(
        "step {step}: {what} went NaN or infinite; stopped, keeping the last good checkpoint. \
         Resume with `wgpu-gan train --resume <run dir>` (perhaps with a lower --lr), or train \
         with --on-nan rollback"
    )]
    NonFinite { step: usize, what: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How many times `--on-nan rollback` may roll a run back.
pub const MAX_ROLLBACKS: usize = 3;

/// A trainer in the state of `ckpt`, with losses.csv rewound to its step.
pub fn resume_from(
    cfg: TrainConfig,
    out: &Path,
    ckpt: &checkpoint::Checkpoint,
    gpu: &GpuOptions,
) -> Result<Trainer, TrainError> {
    let gpu = &crate::gpu::tune::resume_options(gpu, &ckpt.metadata);
    let mut t = Trainer::new(cfg, out, gpu)?;
    t.restore(ckpt)?;
    let csv = out.join("losses.csv");
    resume::rewind_csv(&csv, t.step).map_err(|source| TrainError::Io { path: csv, source })?;
    Ok(t)
}

/// Trains to the end; with `--on-nan rollback`, a non-finite loss or gradient reloads the last
/// good checkpoint into the same trainer and goes on with the learning rates halved (the
/// optimizers read them from the device, so nothing is planned or uploaded again), at most
/// MAX_ROLLBACKS times.
pub fn run(mut t: Trainer) -> Result<Option<LossRow>, TrainError> {
    let mut rollbacks = 0;
    loop {
        match t.train() {
            Err(TrainError::NonFinite { step, what })
                if t.cfg.on_nan == OnNan::Rollback && rollbacks < MAX_ROLLBACKS =>
            {
                rollbacks += 1;
                let ckpt = resume::latest_good(&t.out, |w| eprintln!("{w}"))?;
                t.cfg.halve_learning_rates();
                eprintln!(
                    "warning: step {step}: {what} went NaN or infinite; rolling back to {} with \
                     --lr {} ({rollbacks} of {MAX_ROLLBACKS})",
                    ckpt.path.display(),
                    t.cfg.lr
                );
                t.restore(&ckpt)?;
                let csv = t.out.join("losses.csv");
                resume::rewind_csv(&csv, t.step)
                    .map_err(|source| TrainError::Io { path: csv, source })?;
            }
            other => return other,
        }
    }
}

/// Trainers planned by this process (a program, an executor, a dataset upload each): a test
/// hook showing that a rollback plans nothing again.
static TRAINERS_PLANNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn trainers_planned() -> usize {
    TRAINERS_PLANNED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Side length of the fixed sample grid.
pub const GRID: usize = 5;

/// Writes the sample program's inputs the family gives (for `sweep`, InfoGAN's code sweep).
pub(super) fn write_sample_inputs(
    exec: &mut dyn Executor,
    gan: &GanProgram,
    cfg: &TrainConfig,
    sweep: Option<usize>,
) {
    for (name, values) in cfg.family().sample_inputs(cfg, sweep) {
        if let Some(v) = gan.sample_input(name) {
            exec.write_f32(v, &values);
        }
    }
}

pub struct Trainer {
    pub cfg: TrainConfig,
    pub gan: GanProgram,
    pub exec: Box<dyn Executor>,
    pub out: PathBuf,
    pub step: usize,
    /// Iterations to wrap in a RenderDoc capture (1-based, as the progress bar counts).
    pub capture: Vec<usize>,
    /// Seconds of training before this process (from the checkpoint resumed).
    pub seconds_before: f64,
    dataset_name: String,
    /// The scores' ops and real statistics, with `--eval-every`.
    pub monitor: Option<Monitor>,
    /// The host side of a dataset too large for one binding (`stream`).
    stream: Option<crate::train::stream::Streamer>,
    /// The images kept out of training (`Family::held_out`), if the family keeps any.
    pub held_out: Option<crate::data::Dataset>,
}

/// With `--eval-every`, the classifier (loaded, or trained when missing) and the eval ops
/// appended to the training program.
fn eval_ops(
    cfg: &TrainConfig,
    gan: &mut GanProgram,
    gpu: &GpuOptions,
) -> Result<Option<(MonitorOps, Classifier)>, TrainError> {
    if cfg.eval_every == 0 {
        return Ok(None);
    }
    let mut log = |line: &str| eprintln!("{line}");
    let explicit = cfg.classifier.as_deref();
    let (c, path) = crate::eval::load_or_train(&cfg.data, explicit, cfg.device, gpu, &mut log)?;
    crate::eval::check_classifier(&c, &path, cfg.image_shape())?;
    let inputs = crate::eval::GeneratorInputs {
        classes: cfg.classes(),
        codes: cfg.aux().codes(),
        categorical: cfg.classes() > 0 && !cfg.labels_are_classes(),
    };
    let sizes = (cfg.eval_count, inputs);
    let sampler = gan.sampler().clone();
    let ops = MonitorOps::record(&mut gan.prog, &sampler, &c, sizes, cfg.seed)?;
    Ok(Some((ops, c)))
}

impl Trainer {
    /// Builds the program, uploads the dataset and the initial weights.
    pub fn new(cfg: TrainConfig, out: &Path, gpu: &GpuOptions) -> Result<Self, TrainError> {
        cfg.validate()?;
        let mut sets = cfg.datasets()?;
        check_dataset(&cfg, &sets[0])?;
        let held_out = split_held_out(&cfg, &mut sets[0])?;
        let ds = &sets[0];
        if cfg.batch_size > ds.count {
            return Err(TrainError::Config(format!(
                "--batch-size {} is larger than the dataset ({} images)",
                cfg.batch_size, ds.count
            )));
        }
        let mut gan = cfg.program_for(&sets)?;
        let eval = eval_ops(&cfg, &mut gan, gpu)?;
        let mut exec = executor(cfg.device, gpu, &gan.prog)?;
        upload_initial_state(exec.as_mut(), &gan, ds, &cfg);
        upload_extra_datasets(exec.as_mut(), &gan, &sets);
        let monitor = match eval {
            Some((ops, c)) => Some(ops.start(exec.as_mut(), &c, ds)?),
            None => None,
        };
        TRAINERS_PLANNED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ds = sets.swap_remove(0);
        let (images, labels) = (ds.images, ds.labels);
        let stream = crate::train::stream::Streamer::new(&gan.prog, gan.dataset, images, labels)
            .map_err(|e| TrainError::Config(e.to_string()))?;
        Ok(Self {
            cfg,
            gan,
            exec,
            out: out.to_path_buf(),
            step: 0,
            capture: Vec::new(),
            seconds_before: 0.0,
            dataset_name: ds.name,
            monitor,
            stream,
            held_out,
        })
    }

    /// Iterations of the whole run: the family's stages, then `--steps`.
    pub fn total_steps(&self) -> usize {
        self.stage_steps() + self.cfg.steps
    }

    /// Iterations of the family's stages before the main ones.
    pub fn stage_steps(&self) -> usize {
        let stages = self.cfg.family().stages(&self.cfg);
        stages.iter().map(|(_, n)| n).sum()
    }

    /// The ops of the iteration after `step` and how many iterations in a row run them: a
    /// stage's (until its end), else the main iteration's.
    fn segment(&self, step: usize) -> (std::ops::Range<usize>, usize) {
        let mut end = 0;
        for ((_, n), (_, ops)) in self
            .cfg
            .family()
            .stages(&self.cfg)
            .iter()
            .zip(&self.gan.stages)
        {
            end += n;
            if step < end {
                return (ops.clone(), end - step);
            }
        }
        (self.gan.iteration.clone(), usize::MAX)
    }

    /// The quality scores of the generator as it is now (`--eval-every`).
    pub fn evaluate(&mut self) -> Result<Option<crate::eval::Scores>, TrainError> {
        match &self.monitor {
            Some(m) => Ok(Some(m.run(self.exec.as_mut())?)),
            None => Ok(None),
        }
    }

    pub fn describe(&self) -> String {
        let nets: Vec<String> = self
            .gan
            .nets
            .iter()
            .map(|e| format!("{} {} params", e.name().to_uppercase(), e.net.param_count()))
            .collect();
        format!(
            "{} ({}) on {} | {} | {}",
            self.cfg.model.title(),
            self.cfg.family().loss_label(&self.cfg),
            self.dataset_name,
            nets.join(", "),
            self.exec.describe()
        )
    }

    /// Runs `n` iterations (at most `lr::LR_TABLE`) in one submission, after writing their
    /// learning rates; a streamed dataset's ring may split them into several.
    pub fn run_iterations(&mut self, n: usize) -> Result<(), TrainError> {
        let most = self.stream.as_ref().map_or(n, |s| s.capacity()).max(1);
        let mut left = n;
        while left > 0 {
            // A submission never straddles the end of a stage.
            let (ops, in_segment) = self.segment(self.step);
            let k = left.min(most).min(in_segment);
            self.submit(ops, k)?;
            left -= k;
        }
        Ok(())
    }

    fn submit(&mut self, ops: std::ops::Range<usize>, n: usize) -> Result<(), TrainError> {
        // The schedule counts the main iterations: it starts after the stages.
        let schedule = self.cfg.lr_schedule.shifted(self.stage_steps());
        let (cfg, exec) = (&self.cfg, self.exec.as_mut());
        for o in &self.gan.optimizers {
            let (base, iterations) = (cfg.rate(o.rate), (self.step, n));
            lr::write_rates(exec, self.gan.lrs, o.row, &schedule, base, iterations);
        }
        if let Some(s) = self.stream.as_mut() {
            s.before(exec, n);
        }
        self.exec.run(ops, n)?;
        if let Some(s) = self.stream.as_mut() {
            s.prefetch(self.exec.as_mut(), n);
        }
        self.exec.wait()?;
        self.step += n;
        Ok(())
    }

    /// Fails with `NonFinite` when a loss sum or Adam's gradient flag shows a NaN or infinity
    /// since the last log point (the sums are sticky: NaN + x is NaN).
    pub fn check_finite(&self) -> Result<(), TrainError> {
        let m = self.exec.read_f32(self.gan.metrics)?;
        let losses = self
            .cfg
            .family()
            .loss_columns()
            .iter()
            .filter(|c| c.is_loss());
        let mut bad: Vec<String> = losses
            .filter(|c| !c.value(&m).is_finite())
            .map(|c| format!("{} ({})", c.name, c.value(&m)))
            .collect();
        if m[self.gan.nonfinite] != 0.0 {
            bad.push("a gradient".into());
        }
        if bad.is_empty() {
            return Ok(());
        }
        Err(TrainError::NonFinite {
            step: self.step,
            what: bad.join(", "),
        })
    }

    /// Reads the loss averages since the last call and resets the accumulators.
    pub fn take_losses(&mut self, seconds: f64) -> Result<LossRow, TrainError> {
        let m = self.exec.read_f32(self.gan.metrics)?;
        self.exec.write_f32(self.gan.metrics, &vec![0.0; m.len()]);
        Ok(LossRow::from_metrics(&self.cfg, self.step, &m, seconds))
    }

    /// Generates the fixed-noise grid images, (grid², C, H, W) in [-1, 1].
    pub fn sample_grid(&mut self) -> Result<Vec<f32>, TrainError> {
        self.exec.run(self.gan.sample.clone(), 1)?;
        Ok(self.exec.read_f32(self.gan.sample_out)?)
    }

    /// InfoGAN: the grid sweeping continuous code `k` (columns, -2 to 2) for every category
    /// (rows), one z throughout; the fixed grid's inputs are put back after.
    pub fn sweep_grid(&mut self, k: usize) -> Result<Vec<f32>, TrainError> {
        let exec = self.exec.as_mut();
        write_sample_inputs(exec, &self.gan, &self.cfg, Some(k));
        let images = self.sample_grid();
        // The fixed grid's noise is the config's (checkpoints store the same).
        write_sample_inputs(self.exec.as_mut(), &self.gan, &self.cfg, None);
        images
    }

    /// The full loop with progress bar and outputs; returns the last logged losses.
    pub fn train(&mut self) -> Result<Option<LossRow>, TrainError> {
        outputs::train_loop(self)
    }
}

pub fn now_seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

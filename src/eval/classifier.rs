//! The classifier behind the quality scores: its inference pass recorded into any program
//! (`ClassifierForward`), its training as a recorded program (gather a labelled batch on the
//! device, forward, softmax cross-entropy, backward, Adam), and its safetensors file.

use super::EvalError;
use super::Outputs;
use crate::data::Dataset;
use crate::exec::Executor;
use crate::exec::{executor, DeviceKind};
use crate::gpu::{GpuError, GpuOptions};
use crate::lr::{self, LrSchedule, LR_TABLE};
use crate::models::{classifier_init, ClassifierConfig, FEATURE_LAYER};
use crate::nn::{Net, NetActs};
use crate::ops::{self, AdamConfig, RandomStream};
use crate::program::{Program, View};
use std::ops::Range;
use std::time::Instant;

pub use super::classifier_file::{default_path, Classifier, FORMAT};

/// Images per inference run.
pub const EVAL_BATCH: usize = 250;

/// The classifier's inference pass on `batch` images, recorded into a program.
#[derive(Clone, Debug)]
pub struct ClassifierForward {
    pub net: Net,
    pub batch: usize,
    /// (batch, C, H, W) in [-1, 1]; the host writes it, or another op (a generator) does.
    pub input: View,
    /// (batch, features): the penultimate layer's output.
    pub features: View,
    /// (batch, classes).
    pub logits: View,
    pub range: Range<usize>,
}

impl ClassifierForward {
    /// Records the pass on `input`, or on a new input tensor when None.
    pub fn record(
        prog: &mut Program,
        net: &Net,
        batch: usize,
        input: Option<View>,
    ) -> ops::Result<Self> {
        let acts = net.acts(prog, batch, "eval");
        let input = input.unwrap_or_else(|| prog.tensor("c.eval.input", batch * net.in_features));
        prog.set_phase("classifier");
        let start = prog.ops.len();
        let logits = net.forward(prog, &acts, input, false)?;
        Ok(Self {
            net: net.clone(),
            batch,
            input,
            features: acts.outs[FEATURE_LAYER],
            logits,
            range: start..prog.ops.len(),
        })
    }

    /// Appends the first `rows` results of the pass that last ran to `out`.
    pub fn read_into(
        &self,
        exec: &dyn Executor,
        rows: usize,
        out: &mut Outputs,
    ) -> Result<(), GpuError> {
        let f = exec.read_f32(self.features)?;
        let l = exec.read_f32(self.logits)?;
        out.features.extend_from_slice(&f[..rows * out.feature_len]);
        out.logits.extend_from_slice(&l[..rows * out.classes]);
        Ok(())
    }

    pub fn empty_outputs(&self) -> Outputs {
        Outputs {
            features: Vec::new(),
            logits: Vec::new(),
            feature_len: self.features.len / self.batch,
            classes: self.logits.len / self.batch,
        }
    }

    /// Features and logits of host images (N, C, H, W) in [-1, 1], a batch at a time.
    pub fn classify(&self, exec: &mut dyn Executor, images: &[f32]) -> Result<Outputs, GpuError> {
        let len = self.net.in_features;
        let mut out = self.empty_outputs();
        let mut x = vec![0.0f32; self.batch * len];
        for chunk in images.chunks(self.batch * len) {
            x[..chunk.len()].copy_from_slice(chunk);
            x[chunk.len()..].fill(0.0);
            exec.write_f32(self.input, &x);
            exec.run(self.range.clone(), 1)?;
            self.read_into(exec, chunk.len() / len, &mut out)?;
        }
        Ok(out)
    }
}

/// Dataset bytes scaled to [-1, 1] as `gather_batch` scales them.
pub fn to_unit(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| (b as f32 - 127.5) / 127.5).collect()
}

/// How `wgpu-gan classifier train` trains.
#[derive(Clone, Debug)]
pub struct ClassifierTraining {
    pub steps: usize,
    pub batch: usize,
    pub adam: AdamConfig,
    /// After this fraction of the steps the learning rate drops to `lr * decay`.
    pub decay_at: f64,
    pub decay: f32,
    /// Each training image moves by up to this many pixels each way (0: no augmentation).
    pub max_shift: usize,
    pub seed: u64,
    /// The last this-many images are held out for the accuracy (capped at a tenth of the data).
    pub held_out: usize,
    pub log_every: usize,
    pub device: DeviceKind,
    pub config: ClassifierConfig,
}

impl Default for ClassifierTraining {
    fn default() -> Self {
        Self {
            steps: 6000,
            batch: 64,
            adam: AdamConfig {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            decay_at: 2.0 / 3.0,
            decay: 0.1,
            max_shift: 2,
            seed: 0,
            held_out: 1000,
            log_every: 250,
            device: DeviceKind::Auto,
            config: ClassifierConfig::default(),
        }
    }
}

/// Metric words of the training program: (loss, accuracy, count), then Adam's non-finite flag.
const METRICS: usize = 4;
const NONFINITE: usize = 3;

/// One training iteration over a packed training split; its learning rate is read from `lrs`
/// (`crate::lr`), which the host writes before each submission.
struct TrainOps {
    iteration: Range<usize>,
    lrs: View,
    metrics: View,
    images: View,
    labels: View,
}

/// The buffers of the training program besides the network's.
struct TrainBuffers {
    acts: NetActs,
    counters: View,
    metrics: View,
    /// The packed training split: bytes and labels, 4 to a word.
    images: View,
    labels: View,
    count: usize,
    /// The drawn batch (batch, C, H, W), the batch shifted, and its labels (batch).
    drawn: View,
    x: View,
    y: View,
    grad_logits: View,
}

fn record_training(
    prog: &mut Program,
    net: &Net,
    t: &ClassifierTraining,
    count: usize,
) -> ops::Result<TrainOps> {
    let (batch, len, classes) = (t.batch, net.in_features, net.out_features());
    let b = TrainBuffers {
        acts: net.acts(prog, batch, "train"),
        counters: prog.tensor("c.counters", 2),
        metrics: prog.tensor("c.metrics", METRICS),
        images: prog.tensor("dataset.images", (count * len).div_ceil(4)),
        labels: prog.tensor("dataset.labels", count.div_ceil(4)),
        count,
        drawn: prog.tensor("input.drawn", batch * len),
        x: prog.tensor("input.images", batch * len),
        y: prog.tensor("input.labels", batch),
        grad_logits: prog.tensor("c.grad_logits", batch * classes),
    };
    let lrs = prog.constant("c.lrs", &[t.adam.lr.to_bits(); LR_TABLE]);
    Ok(TrainOps {
        iteration: record_iteration(prog, net, &b, t, lrs)?,
        lrs,
        metrics: b.metrics,
        images: b.images,
        labels: b.labels,
    })
}

/// Draw a labelled batch, forward, softmax cross-entropy, backward, Adam.
fn record_iteration(
    prog: &mut Program,
    net: &Net,
    b: &TrainBuffers,
    t: &ClassifierTraining,
    lrs: View,
) -> ops::Result<Range<usize>> {
    let start = prog.ops.len();
    prog.set_phase("inputs");
    ops::counter_increment(prog, b.counters, 0, "iteration");
    let rs = |stream| RandomStream {
        seed: t.seed,
        stream,
        slot: 0,
    };
    let (data, geometry) = ((b.images, b.labels), (b.count, net.in_features));
    let (x, y) = (b.x, b.y);
    let drawn = if t.max_shift > 0 { b.drawn } else { x };
    let label = "draw batch";
    ops::gather_batch(
        prog,
        rs(0),
        b.counters,
        data.0,
        data.1,
        geometry,
        drawn,
        y,
        label,
    )?;
    if t.max_shift > 0 {
        let c = &t.config;
        let shape = (c.channels, c.image_size);
        let label = "random shift";
        ops::augment::random_shift(prog, rs(1), b.counters, drawn, x, shape, t.max_shift, label)?;
    }
    prog.set_phase("classifier step");
    let logits = net.forward(prog, &b.acts, x, true)?;
    let (classes, grad) = (net.out_features(), b.grad_logits);
    let ce = "cross entropy";
    ops::softmax_cross_entropy(prog, logits, y, classes, grad, b.metrics, 0, 1.0, ce)?;
    net.backward(prog, &b.acts, x, grad, true, false, false)?;
    let lr = ops::LrSource {
        table: lrs,
        iteration_slot: 0,
    };
    net.adam_step(
        prog,
        (t.adam, Some(lr)),
        b.counters,
        1,
        (b.metrics, NONFINITE),
    )?;
    Ok(start..prog.ops.len())
}

/// The number of held-out images for a dataset of `count`.
pub fn held_out_count(t: &ClassifierTraining, count: usize) -> usize {
    t.held_out.min(count / 10)
}

/// Trains a classifier on all but the last `held_out` images of `ds` and measures its accuracy
/// on those. `log` receives one progress line per `log_every` steps.
pub fn train(
    ds: &Dataset,
    t: &ClassifierTraining,
    gpu: &GpuOptions,
    mut log: impl FnMut(&str),
) -> Result<Classifier, EvalError> {
    let config = ClassifierConfig {
        channels: ds.channels,
        image_size: ds.height,
        ..t.config.clone()
    };
    config.validate().map_err(EvalError::Config)?;
    crate::data::check_shape(ds, config.image_size, config.image_size)?;
    let t = &ClassifierTraining {
        config: config.clone(),
        ..t.clone()
    };
    if t.steps == 0 || t.batch == 0 || t.log_every == 0 {
        return Err(EvalError::Config(
            "--steps and --batch-size must be at least 1".into(),
        ));
    }
    let len = ds.image_len();
    let held = held_out_count(t, ds.count);
    let count = ds.count - held;
    if held == 0 || count < t.batch {
        return Err(EvalError::Config(format!(
            "{}: {} images are too few to train and hold out a classifier's test split",
            ds.name, ds.count
        )));
    }
    let mut prog = Program::new();
    let net = Net::new(&mut prog, "c", len, config.layers());
    let train_ops = record_training(&mut prog, &net, t, count)?;
    let fwd = ClassifierForward::record(&mut prog, &net, EVAL_BATCH.min(held), None)?;
    let mut exec = executor(t.device, gpu, &prog)?;
    log(&format!(
        "classifier: {} params, training on {} images of {}, testing on the last {held} | {}",
        net.param_count(),
        count,
        ds.name,
        exec.describe()
    ));
    let pack = crate::cpu::random::pack_bytes;
    exec.write(train_ops.images, &pack(&ds.images[..count * len]));
    exec.write(train_ops.labels, &pack(&ds.labels[..count]));
    exec.write_f32(net.params, &classifier_init(&net, t.seed));
    run_steps(exec.as_mut(), &train_ops, t, &mut log)?;
    let test = fwd.classify(exec.as_mut(), &to_unit(&ds.images[count * len..]))?;
    let accuracy = test.accuracy(&ds.labels[count..]);
    Ok(Classifier {
        config,
        params: exec.read_f32(net.params)?,
        dataset: ds.name.clone(),
        accuracy,
        held_out: held,
        steps: t.steps,
    })
}

/// Runs the training iterations, logging the running loss and accuracy.
fn run_steps(
    exec: &mut dyn Executor,
    ops: &TrainOps,
    t: &ClassifierTraining,
    log: &mut impl FnMut(&str),
) -> Result<(), EvalError> {
    let start = Instant::now();
    let schedule = LrSchedule::Step {
        at: vec![(t.steps as f64 * t.decay_at).round() as usize],
        gamma: t.decay,
    };
    let mut step = 0;
    while step < t.steps {
        let n = (t.log_every - step % t.log_every)
            .min(t.steps - step)
            .min(LR_TABLE);
        lr::write_rates(exec, ops.lrs, 0, &schedule, t.adam.lr, (step, n));
        exec.run(ops.iteration.clone(), n)?;
        step += n;
        if step.is_multiple_of(t.log_every) || step == t.steps {
            let m = exec.read_f32(ops.metrics)?;
            exec.write_f32(ops.metrics, &[0.0; METRICS]);
            let (loss, acc) = (m[0] / m[2].max(1.0), m[1] / m[2].max(1.0));
            if !loss.is_finite() || m[NONFINITE] != 0.0 {
                return Err(EvalError::Config(format!(
                    "classifier step {step}: the loss or a gradient went NaN or infinite"
                )));
            }
            let secs = start.elapsed().as_secs_f64();
            log(&format!(
                "classifier step {step:>5}/{}  loss {loss:.4}  batch accuracy {:.2}%  {:.1} steps/s",
                t.steps,
                100.0 * acc,
                step as f64 / secs.max(1e-9)
            ));
        }
    }
    Ok(())
}

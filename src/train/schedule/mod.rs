//! The training iteration as one recorded program: inputs drawn on the device, then the
//! family's phases, then the sample grid's program. The golden tests run the same program with
//! the inputs supplied instead of drawn. `planner` records any family's nets, optimizer groups
//! and inputs; `gan` is the schedule of the seven first recipes on top of it.

mod config;
mod fills;
pub mod gan;
mod heads;
pub mod planner;
mod recipes;
mod spec;

pub use config::{DatasetViews, ScheduleConfig, ScheduleKind};
pub use fills::{Input, InputKind};
pub use heads::Aux;
pub use planner::{MetricLayout, NetEntry, Optimizer, Planner};
pub use spec::{NetSpec, OptimizerSpec, Rate};

use crate::nn::Net;
use crate::ops;
use crate::program::{OpCall, Program, View};
use std::ops::Range;

/// counters[ITERATION] advances the random streams; the others are the nets' Adam step counts
/// (`planner`): D's and G's for the GAN recipes.
pub const ITERATION: usize = 0;
pub const D_STEP: usize = 1;
pub const G_STEP: usize = 2;
pub const COUNTERS: usize = 4;

/// Metric slots: (loss, accuracy, count) each for D on real, D on fake, and G.
pub const D_REAL: usize = 0;
pub const D_FAKE: usize = 3;
pub const G_LOSS: usize = 6;
/// Set to 1 by Adam when a gradient is NaN or infinite; reset with the loss sums.
pub const NONFINITE: usize = 9;
/// (loss, accuracy, count) of D's class head (ACGAN) or Q's categorical code (InfoGAN).
pub const AUX: usize = 10;
/// (loss, share within 0.5, count) of Q's continuous codes (InfoGAN).
pub const CODES: usize = 13;
/// (penalty, share of |g| within 0.1 of 1, count) of WGAN-GP's gradient penalty.
pub const PENALTY: usize = 16;
pub const METRICS: usize = 19;

/// The recorded training program and the views the trainer, checkpoints and tests need.
pub struct GanProgram {
    pub prog: Program,
    /// Every trained net by name, in the family's order.
    pub nets: Vec<NetEntry>,
    pub optimizers: Vec<Optimizer>,
    pub counters: View,
    pub metrics: View,
    /// The metric slot Adam flags a non-finite gradient in.
    pub nonfinite: usize,
    /// The optimizers' learning rates (`crate::lr`): one row of LR_TABLE entries per
    /// optimizer group, each entry the configured rate at plan time.
    pub lrs: View,
    pub inputs: Vec<Input>,
    pub dataset: Option<DatasetViews>,
    /// Datasets beyond `dataset` (a second domain), uploaded whole, in the order of the
    /// family's `datasets` after the first.
    pub extra_datasets: Vec<DatasetViews>,
    /// Device state besides the nets that checkpoints keep, by name (CycleGAN's image pools).
    pub state: Vec<(String, View)>,
    /// Fills plus step: one training iteration.
    pub iteration: Range<usize>,
    /// The iteration of each stage that runs before the main ones (`Family::stages`), by
    /// name, in order; empty for most families.
    pub stages: Vec<(String, Range<usize>)>,
    /// The step alone, on inputs already in place.
    pub step: Range<usize>,
    /// Each phase of the step by name, in order.
    pub phases: Vec<(String, Range<usize>)>,
    pub sample: Range<usize>,
    /// The sample program's inputs, which the host writes (`sample.noise`, ...).
    pub sample_inputs: Vec<(String, View)>,
    pub sample_out: View,
    /// Intermediate values worth checking (`step.fake_for_d`, `step.d_logit_real`, ...).
    pub records: Vec<(String, View)>,
}

/// The GAN schedule `cfg.kind` for G's `g_layers` (noise, codes and label -> image) and D's
/// `d_layers` (image and label -> logit and heads), with D's and G's optimizers `cfg.adam_d`
/// and `cfg.adam_g` (`gan::build` with the default nets and groups of a GAN family).
pub fn build(
    cfg: &ScheduleConfig,
    latent: usize,
    g_layers: Vec<crate::nn::Layer>,
    d_layers: Vec<crate::nn::Layer>,
    dataset: Option<(usize, usize)>,
) -> ops::Result<GanProgram> {
    let g_in = latent + cfg.g_classes() + cfg.aux.codes();
    let g = NetSpec::new("g", g_in, g_layers).with_ema(cfg.g_ema);
    let image_len = g.out_shape()?.len();
    let d = NetSpec::new("d", image_len + cfg.classes, d_layers);
    let group = |name: &str, rate, adam| OptimizerSpec {
        name: name.into(),
        nets: vec![name.into()],
        rate,
        adam,
    };
    let groups = vec![
        group("d", Rate::D, cfg.adam_d),
        group("g", Rate::G, cfg.adam_g),
    ];
    gan::build(cfg, latent, vec![g, d], groups, dataset)
}

/// The program of planner `p`: the input draws `fills` (recorded by `Planner::fills`) go
/// first, then the step (its first `step_len` ops), then the sample program that ends in
/// `sample_out`, reading `sample_inputs`.
pub fn finish(
    p: Planner,
    fills: Vec<OpCall>,
    dataset: Option<DatasetViews>,
    step_len: usize,
    (sample_out, sample_inputs): (View, Vec<(String, View)>),
) -> ops::Result<GanProgram> {
    let mut p = p;
    let nfill = fills.len();
    let end = p.prog.ops.len();
    p.prog.ops.splice(0..0, fills);
    for (_, r) in p.phases.iter_mut() {
        *r = r.start + nfill..r.end + nfill;
    }
    Ok(GanProgram {
        prog: p.prog,
        nets: p.nets,
        optimizers: p.optimizers,
        counters: p.counters,
        metrics: p.metrics,
        nonfinite: p.nonfinite,
        lrs: p.lrs,
        inputs: p.inputs,
        dataset,
        extra_datasets: Vec::new(),
        state: Vec::new(),
        iteration: 0..nfill + step_len,
        stages: Vec::new(),
        step: nfill..nfill + step_len,
        phases: p.phases,
        sample: nfill + step_len..nfill + end,
        sample_inputs,
        sample_out,
        records: p.records,
    })
}

impl GanProgram {
    /// Every trained net, whose tensors checkpoints hold under the net's prefix.
    pub fn nets(&self) -> Vec<&Net> {
        self.nets.iter().map(|e| &e.net).collect()
    }

    /// The net named `name` (`g`, `d`, `g_ab`, ...).
    pub fn net(&self, name: &str) -> Option<&Net> {
        self.entry(name).map(|e| &e.net)
    }

    pub fn entry(&self, name: &str) -> Option<&NetEntry> {
        self.nets.iter().find(|e| e.name() == name)
    }

    /// The net that makes the samples: the first net's moving average, or the net.
    pub fn sampler(&self) -> &Net {
        self.nets[0].sampler()
    }

    pub fn sample_input(&self, name: &str) -> Option<View> {
        self.sample_inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    pub fn input(&self, name: &str) -> Option<View> {
        self.inputs.iter().find(|i| i.name == name).map(|i| i.view)
    }

    pub fn record(&self, name: &str) -> Option<View> {
        self.records
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    pub fn phase(&self, name: &str) -> Option<Range<usize>> {
        self.phases
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
    }
}

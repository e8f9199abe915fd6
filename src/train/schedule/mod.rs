//! The training iteration as one recorded program: inputs drawn on the GPU, then the D-then-G
//! phases. The golden tests run the same program with the inputs supplied instead of drawn.
//! `heads` adds ACGAN's and InfoGAN's extra outputs of D and the WGAN-GP critic step;
//! `fills` records the on-device draws of the inputs.

mod config;
mod fills;
mod heads;
mod recipes;

pub use config::{DatasetViews, ScheduleConfig, ScheduleKind};
pub use heads::Aux;

use crate::lr::{self, D_LR, G_LR, LR_ROWS, LR_TABLE};
use crate::nn::{Layer, Net, NetActs};
use crate::ops;
use crate::program::{Program, View};
use std::ops::Range;

/// counters[ITERATION] advances the random streams; the other two are the Adam step counts.
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
    pub g: Net,
    /// The generator the samples use: G itself, or G with its moving averages as weights and
    /// running statistics (`g_ema`).
    pub g_sample: Net,
    /// The moving averages of G's parameter and state arenas, when the schedule keeps them.
    pub g_ema: Option<(View, View)>,
    pub d: Net,
    pub counters: View,
    pub metrics: View,
    /// The optimizers' learning rates (`crate::lr`): rows D_LR and G_LR of LR_TABLE entries,
    /// each entry the configured rate at plan time.
    pub lrs: View,
    pub inputs: Vec<fills::Input>,
    pub dataset: Option<DatasetViews>,
    /// Fills plus step: one training iteration.
    pub iteration: Range<usize>,
    /// The step alone, on inputs already in place.
    pub step: Range<usize>,
    /// Each phase of the step by name, in order.
    pub phases: Vec<(String, Range<usize>)>,
    pub sample: Range<usize>,
    pub sample_noise: View,
    /// The class of each sample (conditioned models), written by the host.
    pub sample_labels: Option<View>,
    /// InfoGAN: the continuous codes of each sample, written by the host.
    pub sample_codes: Option<View>,
    pub sample_out: View,
    /// Intermediate values worth checking (`step.fake_for_d`, `step.d_logit_real`, ...).
    pub records: Vec<(String, View)>,
}

struct Builder<'a> {
    cfg: &'a ScheduleConfig,
    prog: Program,
    g: Net,
    d: Net,
    g_acts: NetActs,
    d_acts: NetActs,
    counters: View,
    metrics: View,
    lrs: View,
    inputs: Vec<fills::Input>,
    phases: Vec<(String, Range<usize>)>,
    records: Vec<(String, View)>,
    dlogit: View,
    latent: usize,
    image_len: usize,
    /// WGAN-GP: the critic's activations' tangents for the double backward.
    tangents: Option<NetActs>,
    g_ema: Option<(View, View)>,
}

/// One batch D sees: its labels (reals' or the fakes' drawn ones) and, for fakes of a model
/// with codes, the codes they were made from.
#[derive(Clone, Copy, Debug)]
struct Batch {
    x: View,
    y: Option<View>,
    codes: Option<View>,
}

/// G's inputs: noise, and the label and codes drawn with it.
#[derive(Clone, Copy, Debug)]
struct Draw {
    /// How many samples: z is (rows, latent).
    rows: usize,
    z: View,
    y: Option<View>,
    codes: Option<View>,
}

impl Builder<'_> {
    /// D's input for images `x` with labels `y`: [x, one_hot(y)] for cgan, else x.
    fn condition(&mut self, name: &str, x: View, y: Option<View>) -> ops::Result<View> {
        let labels = y.map(|y| (y, self.cfg.classes));
        ops::condition::append_one_hot(&mut self.prog, name, x, labels)
    }

    /// G's input for a draw: z, then the codes (InfoGAN), then the one-hot label (cgan, ACGAN,
    /// InfoGAN's categorical code).
    fn g_input(&mut self, name: &str, d: Draw) -> ops::Result<View> {
        let rows = d.rows;
        let labels = d.y.map(|y| (y, self.cfg.g_classes()));
        ops::condition::generator_input(&mut self.prog, name, rows, d.z, d.codes, labels)
    }

    /// The gradient of D's image input `dx`, without the label columns when conditioned.
    fn image_grad(&mut self, dx: View, tag: &str) -> ops::Result<View> {
        let c = self.cfg.classes;
        if c == 0 {
            return Ok(dx);
        }
        let name = format!("d.grad_image_{tag}");
        let out = self.prog.tensor(&name, self.cfg.batch * self.image_len);
        let b = self.cfg.batch;
        ops::condition::concat_one_hot_backward(&mut self.prog, dx, c, out, b, &name)?;
        Ok(out)
    }

    fn phase(&mut self, name: &str, f: impl FnOnce(&mut Self) -> ops::Result) -> ops::Result {
        let start = self.prog.ops.len();
        self.prog.set_phase(name);
        f(self)?;
        self.phases
            .push((name.to_string(), start..self.prog.ops.len()));
        Ok(())
    }

    /// D forward on `batch` (with its labels for cgan), the loss of its real/fake column
    /// against `target` and of the extra heads, D backward; returns the input gradient when
    /// `input_grad` (the G step), else accumulates D's parameter gradients.
    fn d_pass(
        &mut self,
        batch: Batch,
        target: f32,
        slot: usize,
        input_grad: bool,
        accumulate: bool,
    ) -> ops::Result<Option<View>> {
        let x = batch.x;
        let logit = self.d.forward(&mut self.prog, &self.d_acts, x, true)?;
        let label = format!("loss (target {target})");
        let head = ops::Head {
            stride: 1 + self.cfg.aux.width(),
            offset: 0,
        };
        let (dlogit, m) = (self.dlogit, self.metrics);
        let (loss, scale) = (self.cfg.loss, 1.0);
        ops::head_loss(
            &mut self.prog,
            loss,
            head,
            logit,
            dlogit,
            (m, slot),
            target,
            scale,
            &label,
        )?;
        self.aux_losses(logit, batch, target < 0.5 || input_grad)?;
        self.d.backward(
            &mut self.prog,
            &self.d_acts,
            x,
            self.dlogit,
            !input_grad,
            input_grad,
            accumulate,
        )
    }

    fn g_step(&mut self, draw: Draw, tag: &str) -> ops::Result {
        let g_in = self.g_input(&format!("g.input_g{tag}"), draw)?;
        let fake = self.g.forward(&mut self.prog, &self.g_acts, g_in, true)?;
        self.records.push((format!("step.g_image_{tag}"), fake));
        let d_in = self.condition(&format!("d.input_g{tag}"), fake, draw.y)?;
        self.g_update(g_in, d_in, draw, &format!("g{tag}"))
    }

    /// G's update from its image `d_in` (conditioned as D reads it) made from `g_in`: G's loss
    /// through D, the image gradient (named `name`) back through G, G's Adam step.
    fn g_update(&mut self, g_in: View, d_in: View, draw: Draw, name: &str) -> ops::Result {
        let batch = Batch {
            x: d_in,
            y: draw.y,
            codes: draw.codes,
        };
        let dx = self
            .d_pass(batch, 1.0, G_LOSS, true, false)?
            .ok_or_else(|| no_grad("D"))?;
        let dfake = self.image_grad(dx, name)?;
        self.g.backward(
            &mut self.prog,
            &self.g_acts,
            g_in,
            dfake,
            true,
            false,
            false,
        )?;
        self.g_adam()
    }

    /// G's Adam step, then its moving averages.
    /// Where the optimizer of table row `row` reads its rate (`crate::lr`).
    fn lr_source(&self, row: usize) -> ops::LrSource {
        ops::LrSource {
            table: lr::row(self.lrs, row),
            iteration_slot: ITERATION,
        }
    }

    fn g_adam(&mut self) -> ops::Result {
        let lr = self.lr_source(G_LR);
        let (p, g) = (&mut self.prog, &self.g);
        g.adam_step(
            p,
            (self.cfg.adam_g, Some(lr)),
            self.counters,
            G_STEP,
            (self.metrics, NONFINITE),
        )?;
        let Some((ema_params, ema_state)) = self.g_ema else {
            return Ok(());
        };
        let (decay, c) = (self.cfg.g_ema, (self.counters, G_STEP));
        ops::ema_update(p, g.params, ema_params, decay, c, "g.ema params")?;
        if g.state.len > 0 {
            ops::ema_update(p, g.state, ema_state, decay, c, "g.ema running statistics")?;
        }
        Ok(())
    }

    fn d_adam(&mut self) -> ops::Result {
        let lr = self.lr_source(D_LR);
        self.d.adam_step(
            &mut self.prog,
            (self.cfg.adam_d, Some(lr)),
            self.counters,
            D_STEP,
            (self.metrics, NONFINITE),
        )
    }
}

fn no_grad(what: &str) -> ops::ShapeError {
    ops::ShapeError {
        op: "schedule".into(),
        tensor: what.into(),
        got: 0,
        expected: 1,
    }
}

/// Builds the whole training program for networks `g_layers` (latent -> image) and `d_layers`
/// (image -> logit), with `dataset` images of `image_len` bytes when `cfg.generated`. With
/// `cfg.classes`, each network's input is `classes` wider (the one-hot label).
pub fn build(
    cfg: &ScheduleConfig,
    latent: usize,
    g_layers: Vec<Layer>,
    d_layers: Vec<Layer>,
    dataset: Option<(usize, usize)>,
) -> ops::Result<GanProgram> {
    let mut prog = Program::new();
    let g_in = latent + cfg.g_classes() + cfg.aux.codes();
    let g = Net::new(&mut prog, "g", g_in, g_layers);
    let image_len = g.out_features();
    let d = Net::new(&mut prog, "d", image_len + cfg.classes, d_layers);
    let g_acts = g.acts(&mut prog, cfg.batch, "train");
    let d_acts = d.acts(&mut prog, cfg.batch, "train");
    let counters = prog.tensor("counters", COUNTERS);
    let metrics = prog.tensor("metrics", METRICS);
    let mut rates = vec![cfg.adam_d.lr.to_bits(); LR_ROWS * LR_TABLE];
    rates[G_LR * LR_TABLE..(G_LR + 1) * LR_TABLE].fill(cfg.adam_g.lr.to_bits());
    let lrs = prog.constant("lrs", &rates);
    let dlogit = prog.tensor("d.grad_logit", cfg.batch * d.out_features());
    let g_ema = (cfg.g_ema > 0.0).then(|| {
        let params = prog.tensor("g_ema.params", g.params.len);
        let state = prog.tensor("g_ema.state", g.state.len.max(1));
        (params, state)
    });
    let dataset = dataset
        .map(|(count, len)| crate::train::stream::dataset_views(&mut prog, count, len, cfg.batch));
    let mut b = Builder {
        cfg,
        prog,
        g,
        d,
        g_acts,
        d_acts,
        counters,
        metrics,
        lrs,
        inputs: Vec::new(),
        phases: Vec::new(),
        records: Vec::new(),
        dlogit,
        latent,
        image_len,
        tangents: None,
        g_ema,
    };
    match cfg.kind {
        ScheduleKind::Seed => b.seed_schedule()?,
        ScheduleKind::Dcgan => b.dcgan_schedule()?,
        ScheduleKind::Wgan => b.wgan_schedule()?,
    }
    // Inputs first: the iteration is fills then step.
    let fills = if cfg.generated {
        b.fills(dataset)?.ops
    } else {
        Vec::new()
    };
    let nfill = fills.len();
    let step_len = b.prog.ops.len();
    b.prog.ops.splice(0..0, fills);
    for (_, r) in b.phases.iter_mut() {
        *r = r.start + nfill..r.end + nfill;
    }
    if let Some(&logit) = b.d_acts.outs.last() {
        b.records.push(("d.logit".into(), logit));
    }
    let mut g_sample = b.g.clone();
    if let Some((params, state)) = g_ema {
        g_sample.params = params;
        g_sample.state = View {
            len: b.g.state.len,
            ..state
        };
    }
    let sample_acts = b.g.acts(&mut b.prog, cfg.sample_count, "sample");
    let sample_noise = b.prog.tensor("sample.noise", cfg.sample_count * latent);
    let sample_labels =
        (cfg.g_classes() > 0).then(|| b.prog.tensor("sample.labels", cfg.sample_count));
    let codes = cfg.aux.codes();
    let sample_codes = (codes > 0).then(|| b.prog.tensor("sample.codes", cfg.sample_count * codes));
    b.prog.set_phase("sample");
    let start = b.prog.ops.len();
    let draw = Draw {
        rows: cfg.sample_count,
        z: sample_noise,
        y: sample_labels,
        codes: sample_codes,
    };
    let sample_in = b.g_input("sample.g_input", draw)?;
    let sample_out = g_sample.forward(&mut b.prog, &sample_acts, sample_in, false)?;
    let sample = start..b.prog.ops.len();
    Ok(GanProgram {
        prog: b.prog,
        g: b.g,
        g_sample,
        g_ema,
        d: b.d,
        counters,
        metrics,
        lrs,
        inputs: b.inputs,
        dataset,
        iteration: 0..nfill + step_len,
        step: nfill..nfill + step_len,
        phases: b.phases,
        sample,
        sample_noise,
        sample_labels,
        sample_codes,
        sample_out,
        records: b.records,
    })
}

impl GanProgram {
    /// Every trained net, whose tensors checkpoints hold under the net's prefix.
    pub fn nets(&self) -> [&Net; 2] {
        [&self.g, &self.d]
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

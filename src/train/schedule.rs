//! The training iteration as one recorded program: inputs drawn on the GPU, then the D-then-G
//! phases. The golden tests run the same program with the inputs supplied instead of drawn.

use crate::nn::{Layer, Net, NetActs};
use crate::ops::{self, AdamConfig, Loss, RandomStream};
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
pub const METRICS: usize = 10;

/// How D and G alternate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScheduleKind {
    /// The seed's Keras loop: fakes from G in inference mode; a D step on reals, a D step on
    /// fakes; then G steps through the frozen D with G's batch norm in training mode.
    Seed,
    /// pytorch/examples DCGAN: one D step on the summed real and detached-fake losses, then one
    /// G step on the same fakes through the updated D.
    Dcgan,
}

#[derive(Clone, Debug)]
pub struct ScheduleConfig {
    pub kind: ScheduleKind,
    pub batch: usize,
    pub d_steps: usize,
    pub g_steps: usize,
    pub adam_d: AdamConfig,
    pub adam_g: AdamConfig,
    pub loss: Loss,
    /// Conditioning (cgan): G reads [z, one_hot(y)] and D [x, one_hot(y)], with `classes`
    /// classes; 0 for none. Reals bring their labels; fakes get labels drawn on the device.
    pub classes: usize,
    pub seed: u64,
    /// Draw noise and real batches on the device (training) or leave the input buffers to
    /// the caller (golden tests).
    pub generated: bool,
    /// Rows of the fixed sample grid.
    pub sample_count: usize,
}

/// Where a dataset lives in the program: packed bytes, labels, and their geometry.
#[derive(Clone, Copy, Debug)]
pub struct DatasetViews {
    pub images: View,
    pub labels: View,
    pub count: usize,
    pub image_len: usize,
}

#[derive(Clone, Debug)]
enum InputKind {
    Noise,
    Real,
    /// Class labels for fakes, uniform over the classes.
    Labels,
}

#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub view: View,
    kind: InputKind,
    labels: Option<View>,
}

/// The recorded training program and the views the trainer, checkpoints and tests need.
pub struct GanProgram {
    pub prog: Program,
    pub g: Net,
    pub d: Net,
    pub counters: View,
    pub metrics: View,
    pub inputs: Vec<Input>,
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
    inputs: Vec<Input>,
    phases: Vec<(String, Range<usize>)>,
    records: Vec<(String, View)>,
    dlogit: View,
    latent: usize,
    image_len: usize,
}

impl Builder<'_> {
    fn input(&mut self, name: &str, kind: InputKind, len: usize) -> View {
        let view = self.prog.tensor(name, len);
        let labels = matches!(kind, InputKind::Real)
            .then(|| self.prog.tensor(&format!("{name}.labels"), self.cfg.batch));
        self.inputs.push(Input {
            name: name.into(),
            view,
            kind,
            labels,
        });
        view
    }

    /// A noise input and, when conditioned, the labels drawn for its fakes.
    fn noise(&mut self, z_name: &str, y_name: &str) -> (View, Option<View>) {
        let z = self.input(z_name, InputKind::Noise, self.cfg.batch * self.latent);
        let y =
            (self.cfg.classes > 0).then(|| self.input(y_name, InputKind::Labels, self.cfg.batch));
        (z, y)
    }

    /// A real-batch input and its labels.
    fn real(&mut self, name: &str) -> (View, Option<View>) {
        let x = self.input(name, InputKind::Real, self.cfg.batch * self.image_len);
        (x, self.inputs.last().and_then(|i| i.labels))
    }

    /// `x` (rows, F) with one_hot(y) appended, in a new buffer `name`: a conditioned input of G
    /// or D. `x` itself when the schedule is not conditioned.
    fn condition(&mut self, name: &str, x: View, y: Option<View>) -> ops::Result<View> {
        let c = self.cfg.classes;
        let Some(y) = y.filter(|_| c > 0) else {
            return Ok(x);
        };
        let out = self.prog.tensor(name, x.len + y.len * c);
        let label = format!("{name} = [x, one_hot(y)]");
        ops::condition::concat_one_hot_forward(&mut self.prog, x, y, c, out, &label)?;
        Ok(out)
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

    /// D forward on `x`, loss against `target`, D backward; returns the input gradient when
    /// `input_grad` (the G step), else accumulates D's parameter gradients.
    fn d_pass(
        &mut self,
        x: View,
        target: f32,
        slot: usize,
        input_grad: bool,
        accumulate: bool,
    ) -> ops::Result<Option<View>> {
        let logit = self.d.forward(&mut self.prog, &self.d_acts, x, true)?;
        let label = format!("loss (target {target})");
        ops::loss(
            &mut self.prog,
            self.cfg.loss,
            logit,
            self.dlogit,
            self.metrics,
            slot,
            target,
            1.0,
            &label,
        )?;
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

    fn g_step(&mut self, z: View, y: Option<View>, tag: &str) -> ops::Result {
        let g_in = self.condition(&format!("g.input_g{tag}"), z, y)?;
        let fake = self.g.forward(&mut self.prog, &self.g_acts, g_in, true)?;
        self.records.push((format!("step.g_image_{tag}"), fake));
        let d_in = self.condition(&format!("d.input_g{tag}"), fake, y)?;
        let dx = self
            .d_pass(d_in, 1.0, G_LOSS, true, false)?
            .ok_or_else(|| no_grad("D"))?;
        let dfake = self.image_grad(dx, &format!("g{tag}"))?;
        self.g.backward(
            &mut self.prog,
            &self.g_acts,
            g_in,
            dfake,
            true,
            false,
            false,
        )?;
        self.g.adam_step(
            &mut self.prog,
            self.cfg.adam_g,
            self.counters,
            G_STEP,
            (self.metrics, NONFINITE),
        )
    }

    fn seed_schedule(&mut self) -> ops::Result {
        for i in 0..self.cfg.d_steps {
            let sfx = if self.cfg.d_steps > 1 {
                format!("_{}", i + 1)
            } else {
                String::new()
            };
            let (z, y) = self.noise(&format!("input.z_fake{sfx}"), &format!("input.y_fake{sfx}"));
            let (real, real_y) = self.real(&format!("input.real{sfx}"));
            let mut fake = z;
            self.phase("G predict", |s| {
                let g_in = s.condition(&format!("g.input_fake{sfx}"), z, y)?;
                fake = s.g.forward(&mut s.prog, &s.g_acts, g_in, false)?;
                Ok(())
            })?;
            // G's output buffer is rewritten by the G steps; D reads it before then.
            self.records.push(("step.fake_for_d".into(), fake));
            let d_batches = [
                ("real", real, real_y, 1.0, D_REAL),
                ("fake", fake, y, 0.0, D_FAKE),
            ];
            for (tag, x, y, target, slot) in d_batches {
                self.phase(&format!("D {tag}"), |s| {
                    let d_in = s.condition(&format!("d.input_{tag}{sfx}"), x, y)?;
                    s.d_pass(d_in, target, slot, false, false)?;
                    s.d.adam_step(
                        &mut s.prog,
                        s.cfg.adam_d,
                        s.counters,
                        D_STEP,
                        (s.metrics, NONFINITE),
                    )
                })?;
            }
        }
        for j in 1..=self.cfg.g_steps {
            let (z, y) = self.noise(&format!("input.z_g{j}"), &format!("input.y_g{j}"));
            self.phase(&format!("G {j}"), |s| s.g_step(z, y, &j.to_string()))?;
        }
        Ok(())
    }

    fn dcgan_schedule(&mut self) -> ops::Result {
        let (z, y) = self.noise("input.z", "input.y");
        let (real, real_y) = self.real("input.real");
        let (mut g_in, mut fake, mut d_fake) = (z, z, z);
        self.phase("D", |s| {
            g_in = s.condition("g.input", z, y)?;
            fake = s.g.forward(&mut s.prog, &s.g_acts, g_in, true)?;
            let d_real = s.condition("d.input_real", real, real_y)?;
            s.d_pass(d_real, 1.0, D_REAL, false, false)?;
            d_fake = s.condition("d.input_fake", fake, y)?;
            s.d_pass(d_fake, 0.0, D_FAKE, false, true)?;
            s.d.adam_step(
                &mut s.prog,
                s.cfg.adam_d,
                s.counters,
                D_STEP,
                (s.metrics, NONFINITE),
            )
        })?;
        self.records.push(("step.fake".into(), fake));
        self.phase("G", |s| {
            let dx = s
                .d_pass(d_fake, 1.0, G_LOSS, true, false)?
                .ok_or_else(|| no_grad("D"))?;
            let dfake = s.image_grad(dx, "g")?;
            s.g.backward(&mut s.prog, &s.g_acts, g_in, dfake, true, false, false)?;
            s.g.adam_step(
                &mut s.prog,
                s.cfg.adam_g,
                s.counters,
                G_STEP,
                (s.metrics, NONFINITE),
            )
        })
    }

    /// Records the on-device draws of every input, to run before the step.
    fn fills(&self, dataset: Option<DatasetViews>) -> ops::Result<Program> {
        let mut p = self.prog.clone();
        p.ops.clear();
        p.set_phase("inputs");
        ops::counter_increment(&mut p, self.counters, ITERATION, "iteration");
        for (stream, input) in self.inputs.iter().enumerate() {
            let rs = RandomStream {
                seed: self.cfg.seed,
                stream: stream as u32,
                slot: ITERATION,
            };
            let label = format!("draw {}", input.name);
            match (&input.kind, dataset, input.labels) {
                (InputKind::Noise, _, _) => {
                    ops::normal_fill(&mut p, rs, self.counters, input.view, 0.0, 1.0, &label)
                }
                (InputKind::Real, Some(ds), Some(labels)) => {
                    let geometry = (ds.count, ds.image_len);
                    ops::gather_batch(
                        &mut p,
                        rs,
                        self.counters,
                        ds.images,
                        ds.labels,
                        geometry,
                        input.view,
                        labels,
                        &label,
                    )?
                }
                (InputKind::Real, _, _) => return Err(no_grad("dataset")),
                (InputKind::Labels, _, _) => ops::condition::uniform_labels(
                    &mut p,
                    rs,
                    self.counters,
                    input.view,
                    self.cfg.classes,
                    &label,
                ),
            }
        }
        Ok(p)
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
    let g = Net::new(&mut prog, "g", latent + cfg.classes, g_layers);
    let image_len = g.out_features();
    let d = Net::new(&mut prog, "d", image_len + cfg.classes, d_layers);
    let g_acts = g.acts(&mut prog, cfg.batch, "train");
    let d_acts = d.acts(&mut prog, cfg.batch, "train");
    let counters = prog.tensor("counters", COUNTERS);
    let metrics = prog.tensor("metrics", METRICS);
    let dlogit = prog.tensor("d.grad_logit", cfg.batch * d.out_features());
    let dataset = dataset.map(|(count, len)| DatasetViews {
        images: prog.tensor("dataset.images", (count * len).div_ceil(4)),
        labels: prog.tensor("dataset.labels", count.div_ceil(4)),
        count,
        image_len: len,
    });
    let mut b = Builder {
        cfg,
        prog,
        g,
        d,
        g_acts,
        d_acts,
        counters,
        metrics,
        inputs: Vec::new(),
        phases: Vec::new(),
        records: Vec::new(),
        dlogit,
        latent,
        image_len,
    };
    match cfg.kind {
        ScheduleKind::Seed => b.seed_schedule()?,
        ScheduleKind::Dcgan => b.dcgan_schedule()?,
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
    let sample_acts = b.g.acts(&mut b.prog, cfg.sample_count, "sample");
    let sample_noise = b.prog.tensor("sample.noise", cfg.sample_count * latent);
    let sample_labels = (cfg.classes > 0).then(|| b.prog.tensor("sample.labels", cfg.sample_count));
    b.prog.set_phase("sample");
    let start = b.prog.ops.len();
    let sample_in = b.condition("sample.g_input", sample_noise, sample_labels)?;
    let sample_out = b.g.forward(&mut b.prog, &sample_acts, sample_in, false)?;
    let sample = start..b.prog.ops.len();
    Ok(GanProgram {
        prog: b.prog,
        g: b.g,
        d: b.d,
        counters,
        metrics,
        inputs: b.inputs,
        dataset,
        iteration: 0..nfill + step_len,
        step: nfill..nfill + step_len,
        phases: b.phases,
        sample,
        sample_noise,
        sample_labels,
        sample_out,
        records: b.records,
    })
}

impl GanProgram {
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

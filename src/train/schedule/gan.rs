//! The GAN schedules of the seven first recipes, recorded through the planner: one generator
//! `g` and one discriminator `d`, optimizer groups `d` and `g`. `recipes` holds the seed's and
//! DCGAN's loops, `heads` ACGAN's and InfoGAN's extra outputs of D and the WGAN-GP critic step,
//! `fills` the inputs they draw.

use super::planner::{ActsId, MetricLayout, NetId, OptId, Planner};
use super::spec::{NetSpec, OptimizerSpec};
use super::{finish, GanProgram, ScheduleConfig, ScheduleKind, G_LOSS, METRICS, NONFINITE};
use crate::ops;
use crate::program::{Program, View};

pub(super) struct Builder<'a> {
    pub(super) cfg: &'a ScheduleConfig,
    pub(super) p: Planner,
    pub(super) g: NetId,
    pub(super) d: NetId,
    pub(super) g_acts: ActsId,
    pub(super) d_acts: ActsId,
    g_opt: OptId,
    d_opt: OptId,
    pub(super) dlogit: View,
    pub(super) latent: usize,
    pub(super) image_len: usize,
    /// WGAN-GP: the critic's activations' tangents for the double backward.
    pub(super) tangents: Option<ActsId>,
}

/// One batch D sees: its labels (reals' or the fakes' drawn ones) and, for fakes of a model
/// with codes, the codes they were made from.
#[derive(Clone, Copy, Debug)]
pub(super) struct Batch {
    pub(super) x: View,
    pub(super) y: Option<View>,
    pub(super) codes: Option<View>,
}

/// G's inputs: noise, and the label and codes drawn with it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Draw {
    /// How many samples: z is (rows, latent).
    pub(super) rows: usize,
    pub(super) z: View,
    pub(super) y: Option<View>,
    pub(super) codes: Option<View>,
}

impl Builder<'_> {
    /// D's input for images `x` with labels `y`: [x, one_hot(y)] for cgan, else x.
    pub(super) fn condition(&mut self, name: &str, x: View, y: Option<View>) -> ops::Result<View> {
        let labels = y.map(|y| (y, self.cfg.classes));
        ops::condition::append_one_hot(&mut self.p.prog, name, x, labels)
    }

    /// G's input for a draw: z, then the codes (InfoGAN), then the one-hot label (cgan, ACGAN,
    /// InfoGAN's categorical code).
    pub(super) fn g_input(&mut self, name: &str, d: Draw) -> ops::Result<View> {
        let rows = d.rows;
        let labels = d.y.map(|y| (y, self.cfg.g_classes()));
        ops::condition::generator_input(&mut self.p.prog, name, rows, d.z, d.codes, labels)
    }

    /// The gradient of D's image input `dx`, without the label columns when conditioned.
    fn image_grad(&mut self, dx: View, tag: &str) -> ops::Result<View> {
        let c = self.cfg.classes;
        if c == 0 {
            return Ok(dx);
        }
        let name = format!("d.grad_image_{tag}");
        let out = self.p.prog.tensor(&name, self.cfg.batch * self.image_len);
        let b = self.cfg.batch;
        ops::condition::concat_one_hot_backward(&mut self.p.prog, dx, c, out, b, &name)?;
        Ok(out)
    }

    pub(super) fn phase(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Self) -> ops::Result,
    ) -> ops::Result {
        let i = self.p.start_phase(name);
        f(self)?;
        self.p.end_phase(i);
        Ok(())
    }

    /// D forward on `batch` (with its labels for cgan), the loss of its real/fake column
    /// against `target` and of the extra heads, D backward; returns the input gradient when
    /// `input_grad` (the G step), else accumulates D's parameter gradients.
    pub(super) fn d_pass(
        &mut self,
        batch: Batch,
        target: f32,
        slot: usize,
        input_grad: bool,
        accumulate: bool,
    ) -> ops::Result<Option<View>> {
        let x = batch.x;
        let logit = self.p.forward(self.d, self.d_acts, x, true)?;
        let label = format!("loss (target {target})");
        let head = ops::Head {
            stride: 1 + self.cfg.aux.width(),
            offset: 0,
        };
        let (dlogit, m) = (self.dlogit, self.p.metrics);
        let (loss, scale) = (self.cfg.loss, 1.0);
        ops::head_loss(
            &mut self.p.prog,
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
        self.p.backward(
            self.d,
            self.d_acts,
            x,
            self.dlogit,
            !input_grad,
            input_grad,
            accumulate,
        )
    }

    pub(super) fn g_step(&mut self, draw: Draw, tag: &str) -> ops::Result {
        let g_in = self.g_input(&format!("g.input_g{tag}"), draw)?;
        let fake = self.p.forward(self.g, self.g_acts, g_in, true)?;
        self.p.records.push((format!("step.g_image_{tag}"), fake));
        let d_in = self.condition(&format!("d.input_g{tag}"), fake, draw.y)?;
        self.g_update(g_in, d_in, draw, &format!("g{tag}"))
    }

    /// G's update from its image `d_in` (conditioned as D reads it) made from `g_in`: G's loss
    /// through D, the image gradient (named `name`) back through G, G's Adam step.
    pub(super) fn g_update(
        &mut self,
        g_in: View,
        d_in: View,
        draw: Draw,
        name: &str,
    ) -> ops::Result {
        let batch = Batch {
            x: d_in,
            y: draw.y,
            codes: draw.codes,
        };
        let dx = self
            .d_pass(batch, 1.0, G_LOSS, true, false)?
            .ok_or_else(|| no_grad("D"))?;
        let dfake = self.image_grad(dx, name)?;
        self.p
            .backward(self.g, self.g_acts, g_in, dfake, true, false, false)?;
        self.g_adam()
    }

    /// G's Adam step, then its moving averages.
    pub(super) fn g_adam(&mut self) -> ops::Result {
        self.p.step(self.g_opt)
    }

    pub(super) fn d_adam(&mut self) -> ops::Result {
        self.p.step(self.d_opt)
    }
}

pub(super) fn no_grad(what: &str) -> ops::ShapeError {
    ops::ShapeError {
        op: "schedule".into(),
        tensor: what.into(),
        got: 0,
        expected: 1,
    }
}

/// Builds the whole training program of a GAN whose nets `g` (noise, codes and label ->
/// image) and `d` (image and label -> logit and heads) are among `nets`, with `dataset`
/// images of `image_len` bytes when `cfg.generated`.
pub fn build(
    cfg: &ScheduleConfig,
    latent: usize,
    nets: Vec<NetSpec>,
    optimizers: Vec<OptimizerSpec>,
    dataset: Option<(usize, usize)>,
) -> ops::Result<GanProgram> {
    let layout = MetricLayout {
        len: METRICS,
        nonfinite: NONFINITE,
    };
    let mut p = Planner::new(Program::new(), nets, optimizers, layout, cfg.seed)?;
    let (g, d) = (p.id("g")?, p.id("d")?);
    let (g_opt, d_opt) = (p.optimizer("g")?, p.optimizer("d")?);
    let g_acts = p.acts(g, cfg.batch, "train");
    let d_acts = p.acts(d, cfg.batch, "train");
    let image_len = p.net(g).out_features();
    let dlogit = p
        .prog
        .tensor("d.grad_logit", cfg.batch * p.net(d).out_features());
    let mut b = Builder {
        cfg,
        p,
        g,
        d,
        g_acts,
        d_acts,
        g_opt,
        d_opt,
        dlogit,
        latent,
        image_len,
        tangents: None,
    };
    let dataset = dataset.map(|(count, len)| b.p.dataset(count, len, cfg.batch));
    match cfg.kind {
        ScheduleKind::Seed => b.seed_schedule()?,
        ScheduleKind::Dcgan => b.dcgan_schedule()?,
        ScheduleKind::Wgan => b.wgan_schedule()?,
    }
    if let Some(&logit) = b.p.activations(b.d_acts).outs.last() {
        b.p.record("d.logit", logit);
    }
    let fills = if cfg.generated {
        b.p.fills(dataset)?.ops
    } else {
        Vec::new()
    };
    let step_len = b.p.prog.ops.len();
    let (out, inputs) = b.sample_program()?;
    finish(b.p, fills, dataset, step_len, (out, inputs))
}

impl Builder<'_> {
    /// The sample grid's program, after the step: G's moving average (or G) on the grid's
    /// noise, labels and codes, which the host writes.
    fn sample_program(&mut self) -> ops::Result<(View, Vec<(String, View)>)> {
        let (cfg, n) = (self.cfg, self.cfg.sample_count);
        let acts = self.p.acts(self.g, n, "sample");
        let mut inputs = vec![("sample.noise".to_string(), n * self.latent)];
        if cfg.g_classes() > 0 {
            inputs.push(("sample.labels".into(), n));
        }
        if cfg.aux.codes() > 0 {
            inputs.push(("sample.codes".into(), n * cfg.aux.codes()));
        }
        let inputs: Vec<(String, View)> = inputs
            .into_iter()
            .map(|(name, len)| {
                let v = self.p.prog.tensor(&name, len);
                (name, v)
            })
            .collect();
        self.p.prog.set_phase("sample");
        let find = |name: &str| inputs.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        let draw = Draw {
            rows: n,
            z: inputs[0].1,
            y: find("sample.labels"),
            codes: find("sample.codes"),
        };
        let x = self.g_input("sample.g_input", draw)?;
        let sampler = self.p.nets[self.g.0].sampler().clone();
        let out = self.p.forward_net(&sampler, acts, x, false)?;
        Ok((out, inputs))
    }
}

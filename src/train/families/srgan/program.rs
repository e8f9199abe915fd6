//! SRGAN's training program, recorded through the planner (golden semantics:
//! shared/golden/README.md, "srgan_step"). Every iteration draws one real HR batch on the
//! device and makes its LR batch with `avg_pool2d(HR, scale)`. Two iterations share the nets:
//! - `pretrain` (SRResNet): G alone on the pixel MSE, then G's Adam step;
//! - the GAN iteration: `G forward` (SR = G(LR), kept for both steps), `D real` and `D fake`
//!   (BCE over the logit map against 1 and 0, each times 1/2, then D's Adam step), and `G`
//!   (MSE(SR, HR) + 1e-3·BCE(D(SR), 1) through the updated D, whose running statistics
//!   update, back through G; G's Adam step).
//!
//! G's Adam step count runs on across the two, as one PyTorch optimizer would. The program is
//! [fills][pretrain][fills][GAN step][sample]: each iteration is one contiguous range.

use crate::cpu::pool::PoolGeometry;
use crate::ops::{self, AdamConfig, Head, Loss};
use crate::program::{Program, View};
use crate::train::schedule::planner::{NetId, OptId};
use crate::train::schedule::{
    finish, GanProgram, InputKind, MetricLayout, NetSpec, OptimizerSpec, Planner,
};
use crate::train::schedule::{D_FAKE, D_REAL, G_LOSS, NONFINITE};

/// (loss, share within 0.5, count) of the content MSE, in both iterations.
pub const CONTENT: usize = 10;
pub const METRICS: usize = 13;
/// The weight of G's adversarial loss.
pub const ADVERSARIAL_WEIGHT: f32 = 1e-3;

/// The sizes an SRGAN program is recorded for.
#[derive(Clone, Copy, Debug)]
pub struct SrganSizes {
    pub batch: usize,
    pub channels: usize,
    pub hr: usize,
    pub scale: usize,
    /// HR images of the sample program (a chunk of the held-out set).
    pub sample_count: usize,
    pub seed: u64,
    /// Draw the inputs on the device (training); false: the caller writes `input.hr` (golden).
    pub generated: bool,
}

impl SrganSizes {
    fn hr_len(&self) -> usize {
        self.channels * self.hr * self.hr
    }

    fn lr_len(&self) -> usize {
        self.hr_len() / (self.scale * self.scale)
    }

    fn pool(&self, rows: usize) -> PoolGeometry {
        PoolGeometry::pool2d(rows, self.channels, (self.hr, self.hr), self.scale)
    }
}

/// Adam on both nets (one group each, `d` then `g`).
pub fn optimizers(adam_d: AdamConfig, adam_g: AdamConfig) -> Vec<OptimizerSpec> {
    use crate::train::schedule::Rate;
    let group = |name: &str, rate, adam| OptimizerSpec {
        name: name.into(),
        nets: vec![name.into()],
        rate,
        adam,
    };
    vec![group("d", Rate::D, adam_d), group("g", Rate::G, adam_g)]
}

struct Rec {
    p: Planner,
    s: SrganSizes,
    g: NetId,
    d: NetId,
    g_opt: OptId,
    d_opt: OptId,
    g_acts: crate::train::schedule::planner::ActsId,
    d_acts: crate::train::schedule::planner::ActsId,
    hr: View,
    lr: View,
    dlogit: View,
    grad_content: View,
}

impl Rec {
    fn content(&mut self, sr: View) -> ops::Result {
        let head = Head {
            stride: self.s.hr_len(),
            offset: 0,
        };
        let (m, dc) = (self.p.metrics, self.grad_content);
        let prog = &mut self.p.prog;
        ops::code_head_loss(
            prog,
            sr,
            self.hr,
            head,
            dc,
            (m, CONTENT),
            1.0,
            "content MSE",
        )
    }

    /// LR = avg_pool2d(HR), then SR = G(LR) in training mode.
    fn super_resolve(&mut self) -> ops::Result<View> {
        let pool = self.s.pool(self.s.batch);
        ops::avg_pool_forward(
            &mut self.p.prog,
            pool,
            self.hr,
            self.lr,
            "LR = avg_pool2d(HR)",
        )?;
        self.p.forward(self.g, self.g_acts, self.lr, true)
    }

    fn pretrain(&mut self) -> ops::Result {
        let i = self.p.start_phase("pretrain");
        let sr = self.super_resolve()?;
        self.content(sr)?;
        let (g, acts, lr, dc) = (self.g, self.g_acts, self.lr, self.grad_content);
        self.p.backward(g, acts, lr, dc, true, false, false)?;
        self.p.step(self.g_opt)?;
        self.p.end_phase(i);
        Ok(())
    }

    /// D on `x` against `target`, its loss times `scale` into metric `slot`.
    fn d_loss(&mut self, x: View, target: f32, scale: f32, slot: usize) -> ops::Result {
        let logit = self.p.forward(self.d, self.d_acts, x, true)?;
        let (m, dl) = (self.p.metrics, self.dlogit);
        let label = format!("BCE (target {target})");
        let kind = Loss::BceWithLogits;
        ops::loss(
            &mut self.p.prog,
            kind,
            logit,
            dl,
            m,
            slot,
            target,
            scale,
            &label,
        )
    }

    fn gan_step(&mut self) -> ops::Result {
        let i = self.p.start_phase("G forward");
        let sr = self.super_resolve()?;
        self.p.record("step.sr", sr);
        self.p.end_phase(i);
        let (d, acts, dl, hr) = (self.d, self.d_acts, self.dlogit, self.hr);
        let i = self.p.start_phase("D real");
        self.d_loss(hr, 1.0, 0.5, D_REAL)?;
        self.p.backward(d, acts, hr, dl, true, false, false)?;
        self.p.end_phase(i);
        let i = self.p.start_phase("D fake");
        self.d_loss(sr, 0.0, 0.5, D_FAKE)?;
        self.p.backward(d, acts, sr, dl, true, false, true)?;
        self.p.step(self.d_opt)?;
        self.p.end_phase(i);
        let i = self.p.start_phase("G");
        self.d_loss(sr, 1.0, ADVERSARIAL_WEIGHT, G_LOSS)?;
        let adversarial = self.p.backward(d, acts, sr, dl, false, true, false)?;
        let adversarial = adversarial.ok_or_else(|| missing("D's input gradient"))?;
        self.content(sr)?;
        let grad_sr = self.p.sum("g.grad_sr", &[self.grad_content, adversarial])?;
        let (g, g_acts, lr) = (self.g, self.g_acts, self.lr);
        self.p
            .backward(g, g_acts, lr, grad_sr, true, false, false)?;
        self.p.step(self.g_opt)?;
        self.p.end_phase(i);
        Ok(())
    }

    /// G (its running statistics, eval mode) on avg_pool2d of `sample.hr`.
    fn sample_program(&mut self) -> ops::Result<(View, Vec<(String, View)>)> {
        let n = self.s.sample_count;
        let acts = self.p.acts(self.g, n, "sample");
        let hr = self.p.prog.tensor("sample.hr", n * self.s.hr_len());
        let lr = self.p.prog.tensor("sample.lr", n * self.s.lr_len());
        self.p.prog.set_phase("sample");
        ops::avg_pool_forward(&mut self.p.prog, self.s.pool(n), hr, lr, "sample LR")?;
        self.p.record("sample.lr", lr);
        let sampler = self.p.nets[self.g.0].sampler().clone();
        let out = self.p.forward_net(&sampler, acts, lr, false)?;
        Ok((out, vec![("sample.hr".into(), hr)]))
    }
}

fn missing(what: &str) -> ops::ShapeError {
    ops::ShapeError {
        op: "srgan schedule".into(),
        tensor: what.into(),
        got: 0,
        expected: 1,
    }
}

/// The whole program for nets `g` (LR -> SR) and `d` (HR -> logit map) among `nets`, on a
/// dataset of (count, image bytes) when `s.generated`.
pub fn build(
    s: SrganSizes,
    nets: Vec<NetSpec>,
    optimizers: Vec<OptimizerSpec>,
    dataset: Option<(usize, usize)>,
) -> ops::Result<GanProgram> {
    let layout = MetricLayout {
        len: METRICS,
        nonfinite: NONFINITE,
    };
    let mut p = Planner::new(Program::new(), nets, optimizers, layout, s.seed)?;
    let (g, d) = (p.id("g")?, p.id("d")?);
    let (g_opt, d_opt) = (p.optimizer("g")?, p.optimizer("d")?);
    let g_acts = p.acts(g, s.batch, "train");
    let d_acts = p.acts(d, s.batch, "train");
    let dataset = dataset.map(|(count, len)| p.dataset(count, len, s.batch));
    let hr = p.input("input.hr", InputKind::Real, s.batch * s.hr_len(), s.batch);
    let lr = p.prog.tensor("step.lr", s.batch * s.lr_len());
    let dlogit = p
        .prog
        .tensor("d.grad_logit", s.batch * p.net(d).out_features());
    let grad_content = p.prog.tensor("g.grad_content", s.batch * s.hr_len());
    let mut r = Rec {
        p,
        s,
        g,
        d,
        g_opt,
        d_opt,
        g_acts,
        d_acts,
        hr,
        lr,
        dlogit,
        grad_content,
    };
    r.p.record("step.lr", lr);
    r.pretrain()?;
    let pretrain_len = r.p.prog.ops.len();
    r.gan_step()?;
    if let Some(&logit) = r.p.activations(d_acts).outs.last() {
        r.p.record("d.logit", logit);
    }
    let fills = if s.generated {
        r.p.fills(dataset)?.ops
    } else {
        Vec::new()
    };
    let step_len = r.p.prog.ops.len();
    let sample = r.sample_program()?;
    let mut gan = finish(r.p, fills.clone(), dataset, step_len, sample)?;
    split_stages(&mut gan, fills, pretrain_len);
    Ok(gan)
}

/// [fills][pretrain, GAN step][sample] -> [fills][pretrain][fills][GAN step][sample]: the
/// pretraining iteration is the stage `pretrain`, the GAN iteration the main one.
fn split_stages(gan: &mut GanProgram, fills: Vec<crate::program::OpCall>, pretrain_len: usize) {
    let nfill = fills.len();
    let at = nfill + pretrain_len;
    gan.prog.ops.splice(at..at, fills);
    for (_, r) in gan.phases.iter_mut().filter(|(_, r)| r.start >= at) {
        *r = r.start + nfill..r.end + nfill;
    }
    let end = gan.iteration.end + nfill;
    gan.stages = vec![("pretrain".into(), 0..at)];
    gan.iteration = at..end;
    gan.step = at + nfill..end;
    gan.sample = gan.sample.start + nfill..gan.sample.end + nfill;
}

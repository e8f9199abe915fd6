//! The schedule's variants beyond a single real/fake logit: ACGAN's class head and InfoGAN's
//! Q head (extra columns of D's output, sharing D's body), and the WGAN-GP critic step.

use super::fills::InputKind;
use super::gan::{no_grad, Batch, Builder};
use super::{AUX, CODES, D_FAKE, D_REAL, PENALTY};
use crate::ops::{self, columns, Head};
use crate::program::View;

/// What D's output carries besides the real/fake column, and what G reads besides z.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Aux {
    None,
    /// ACGAN: G reads [z, one_hot(y)]; D outputs [logit, class logits]; the class head's
    /// cross-entropy, times `weight`, trains D on reals and fakes and G on its fakes.
    Classes {
        classes: usize,
        weight: f32,
    },
    /// InfoGAN: G reads [z, c (continuous codes, uniform in [-1, 1]), one_hot(k)]; D outputs
    /// [logit, Q's categorical logits, Q's code means]. The information loss (cross-entropy on
    /// k times `cat_weight`, MSE on c times `cont_weight`) trains Q (D's body and its head
    /// columns) on fakes, and G.
    Info {
        categories: usize,
        continuous: usize,
        cat_weight: f32,
        cont_weight: f32,
    },
}

impl Aux {
    /// Columns of D's output after the real/fake one.
    pub fn width(self) -> usize {
        match self {
            Self::None => 0,
            Self::Classes { classes, .. } => classes,
            Self::Info {
                categories,
                continuous,
                ..
            } => categories + continuous,
        }
    }

    /// Classes of the one-hot code G reads.
    pub fn g_classes(self) -> usize {
        match self {
            Self::None => 0,
            Self::Classes { classes, .. } => classes,
            Self::Info { categories, .. } => categories,
        }
    }

    /// Continuous codes G reads.
    pub fn codes(self) -> usize {
        match self {
            Self::Info { continuous, .. } => continuous,
            _ => 0,
        }
    }
}

impl Builder<'_> {
    /// The extra heads' losses on D's output `logit` for `batch`, into the columns of
    /// `dlogit` after the real/fake one. `fake`: the batch came from G, so its labels and codes
    /// are G's (InfoGAN's information loss applies to fakes only).
    pub(super) fn aux_losses(&mut self, logit: View, batch: Batch, fake: bool) -> ops::Result {
        let stride = 1 + self.cfg.aux.width();
        let head = |offset| Head { stride, offset };
        let (dlogit, m) = (self.dlogit, self.p.metrics);
        let p = &mut self.p.prog;
        match self.cfg.aux {
            Aux::None => Ok(()),
            Aux::Classes { classes, weight } => {
                let y = batch.y.ok_or_else(|| no_grad("class labels"))?;
                let label = "class head loss";
                ops::class_head_loss(
                    p,
                    logit,
                    y,
                    classes,
                    head(1),
                    dlogit,
                    (m, AUX),
                    weight,
                    label,
                )
            }
            Aux::Info {
                categories,
                continuous,
                cat_weight,
                cont_weight,
            } => {
                if !fake {
                    let width = categories + continuous;
                    let label = "Q head: reals have no codes";
                    return columns::fill_columns(p, dlogit, head(1), width, 0.0, label);
                }
                let y = batch.y.ok_or_else(|| no_grad("categorical code"))?;
                let codes = batch.codes.ok_or_else(|| no_grad("continuous codes"))?;
                let (h, label) = (head(1), "Q categorical code loss");
                ops::class_head_loss(
                    p,
                    logit,
                    y,
                    categories,
                    h,
                    dlogit,
                    (m, AUX),
                    cat_weight,
                    label,
                )?;
                let (h, label) = (head(1 + categories), "Q continuous code loss");
                ops::code_head_loss(p, logit, codes, h, dlogit, (m, CODES), cont_weight, label)
            }
        }
    }

    /// WGAN-GP (Gulrajani et al., algorithm 1): `d_steps` critic steps, each with its own
    /// noise, real batch and interpolation weights, then one G step.
    pub(super) fn wgan_schedule(&mut self) -> ops::Result {
        let b = self.cfg.batch;
        let ones = self
            .p
            .prog
            .tensor("d.grad_sum", b * self.p.net(self.d).out_features());
        let mix = self.p.prog.tensor("d.input_mix", b * self.image_len);
        let gg = self.p.prog.tensor("d.grad_penalty", b * self.image_len);
        self.tangents = Some(self.p.acts(self.d, b, "penalty"));
        for k in 1..=self.cfg.d_steps {
            let draw = self.noise(
                &format!("input.z_critic_{k}"),
                &format!("input.y_critic_{k}"),
            );
            let (real, real_y) = self.real(&format!("input.real_{k}"));
            let t = self.input(&format!("input.mix_{k}"), InputKind::Uniform(0.0, 1.0), b);
            self.phase(&format!("D {k}"), |s| {
                if k == 1 {
                    columns::fill_columns(&mut s.p.prog, ones, Head::SINGLE, 1, 1.0, "ones")?;
                }
                let g_in = s.g_input(&format!("g.input_critic_{k}"), draw)?;
                let fake = s.p.forward(s.g, s.g_acts, g_in, true)?;
                s.p.records.push((format!("step.fake_critic_{k}"), fake));
                let batch = Batch {
                    x: real,
                    y: real_y,
                    codes: None,
                };
                s.d_pass(batch, 1.0, D_REAL, false, false)?;
                let batch = Batch {
                    x: fake,
                    y: draw.y,
                    codes: draw.codes,
                };
                s.d_pass(batch, 0.0, D_FAKE, false, true)?;
                let label = "interpolates t·real + (1 - t)·fake";
                columns::interpolate(&mut s.p.prog, real, t, fake, mix, label)?;
                s.penalty(mix, ones, gg, k)?;
                s.d_adam()
            })?;
        }
        let draw = self.noise("input.z_g1", "input.y_g1");
        self.phase("G 1", |s| s.g_step(draw, "1"))
    }

    /// Adds the gradient penalty's parameter gradients at interpolates `mix`: the critic's
    /// input gradient g (backward of `ones`), the penalty's gradient gg with respect to g,
    /// then the double backward of gg.
    fn penalty(&mut self, mix: View, ones: View, gg: View, k: usize) -> ops::Result {
        let tangents = self.tangents.ok_or_else(|| no_grad("tangents"))?;
        let (d, acts) = (self.d, self.d_acts);
        self.p.forward(d, acts, mix, true)?;
        let g = self
            .p
            .backward(d, acts, mix, ones, false, true, false)?
            .ok_or_else(|| no_grad("critic input"))?;
        if k == 1 {
            self.p.record("step.critic_input_grad", g);
        }
        let (m, lambda, f) = (self.p.metrics, self.cfg.gp_weight, self.image_len);
        let p = &mut self.p.prog;
        ops::gradient_penalty(p, g, gg, f, (m, PENALTY), lambda, "gradient penalty")?;
        self.p
            .input_grad_backward(d, acts, tangents, (mix, ones), gg)
    }
}

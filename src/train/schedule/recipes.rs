//! The two schedules of the plain GANs: the seed's Keras loop (also cgan's, acgan's and
//! infogan's) and pytorch/examples' DCGAN loop.

use super::fills::InputKind;
use super::gan::{Batch, Builder};
use super::{AUX, D_FAKE, D_REAL};
use crate::ops;

impl Builder<'_> {
    pub(super) fn seed_schedule(&mut self) -> ops::Result {
        let b = self.cfg.batch;
        for i in 0..self.cfg.d_steps {
            let sfx = if self.cfg.d_steps > 1 {
                format!("_{}", i + 1)
            } else {
                String::new()
            };
            let draw = self.noise(&format!("input.z_fake{sfx}"), &format!("input.y_fake{sfx}"));
            let (real, real_y) = self.real(&format!("input.real{sfx}"));
            let mut fake = draw.z;
            self.phase("G predict", |s| {
                let g_in = s.g_input(&format!("g.input_fake{sfx}"), draw)?;
                fake = s.p.forward(s.g, s.g_acts, g_in, false)?;
                Ok(())
            })?;
            // G's output buffer is rewritten by the G steps; D reads it before then.
            self.p.records.push(("step.fake_for_d".into(), fake));
            let d_batches = [
                ("real", real, real_y, None, 1.0, D_REAL),
                ("fake", fake, draw.y, draw.codes, 0.0, D_FAKE),
            ];
            for (tag, x, y, codes, target, slot) in d_batches {
                self.phase(&format!("D {tag}"), |s| {
                    let x = s.condition(&format!("d.input_{tag}{sfx}"), x, y)?;
                    s.d_pass(Batch { x, y, codes }, target, slot, false, false)?;
                    s.d_adam()
                })?;
                if tag == "real" && self.cfg.mismatch && self.cfg.classes > 0 {
                    let y = self.input(
                        &format!("input.y_wrong{sfx}"),
                        InputKind::Labels(self.cfg.g_classes()),
                        b,
                    );
                    self.phase("D mismatch", |s| {
                        let x = s.condition(&format!("d.input_wrong{sfx}"), real, Some(y))?;
                        let batch = Batch {
                            x,
                            y: Some(y),
                            codes: None,
                        };
                        s.d_pass(batch, 0.0, AUX, false, false)?;
                        s.d_adam()
                    })?;
                }
            }
        }
        for j in 1..=self.cfg.g_steps {
            let draw = self.noise(&format!("input.z_g{j}"), &format!("input.y_g{j}"));
            self.phase(&format!("G {j}"), |s| s.g_step(draw, &j.to_string()))?;
        }
        Ok(())
    }

    pub(super) fn dcgan_schedule(&mut self) -> ops::Result {
        let draw = self.noise("input.z", "input.y");
        let (real, real_y) = self.real("input.real");
        let (mut g_in, mut fake, mut d_fake) = (draw.z, draw.z, draw.z);
        self.phase("D", |s| {
            g_in = s.g_input("g.input", draw)?;
            fake = s.p.forward(s.g, s.g_acts, g_in, true)?;
            let x = s.condition("d.input_real", real, real_y)?;
            let batch = Batch {
                x,
                y: real_y,
                codes: None,
            };
            s.d_pass(batch, 1.0, D_REAL, false, false)?;
            d_fake = s.condition("d.input_fake", fake, draw.y)?;
            let batch = Batch {
                x: d_fake,
                y: draw.y,
                codes: draw.codes,
            };
            s.d_pass(batch, 0.0, D_FAKE, false, true)?;
            s.d_adam()
        })?;
        self.p.records.push(("step.fake".into(), fake));
        self.phase("G", |s| s.g_update(g_in, d_fake, draw, "g"))
    }
}

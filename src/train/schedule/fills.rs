//! The inputs of the training step and their on-device draws: noise, real batches with their
//! labels, labels and codes for the fakes, and WGAN-GP's interpolation weights.

use super::{no_grad, Builder, DatasetViews, Draw, ITERATION};
use crate::ops::{self, RandomStream};
use crate::program::{Program, View};

#[derive(Clone, Debug)]
pub(super) enum InputKind {
    /// Standard normal noise.
    Noise,
    /// A batch of dataset images, with their labels.
    Real,
    /// Class labels for fakes, uniform over the classes G reads.
    Labels,
    /// Uniform in [lo, hi): InfoGAN's continuous codes, WGAN-GP's interpolation weights.
    Uniform(f32, f32),
}

#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub view: View,
    pub(super) kind: InputKind,
    pub(super) labels: Option<View>,
}

impl Builder<'_> {
    pub(super) fn input(&mut self, name: &str, kind: InputKind, len: usize) -> View {
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

    /// A noise input and, for models whose G reads them, the labels and codes drawn with it.
    pub(super) fn noise(&mut self, z_name: &str, y_name: &str) -> Draw {
        let b = self.cfg.batch;
        let z = self.input(z_name, InputKind::Noise, b * self.latent);
        let y = (self.cfg.g_classes() > 0).then(|| self.input(y_name, InputKind::Labels, b));
        let n = self.cfg.aux.codes();
        let codes = (n > 0).then(|| {
            let name = format!("{z_name}.codes");
            self.input(&name, InputKind::Uniform(-1.0, 1.0), b * n)
        });
        Draw {
            rows: b,
            z,
            y,
            codes,
        }
    }

    /// A real-batch input and its labels.
    pub(super) fn real(&mut self, name: &str) -> (View, Option<View>) {
        let x = self.input(name, InputKind::Real, self.cfg.batch * self.image_len);
        (x, self.inputs.last().and_then(|i| i.labels))
    }

    /// Records the on-device draws of every input, to run before the step.
    pub(super) fn fills(&self, dataset: Option<DatasetViews>) -> ops::Result<Program> {
        let mut p = self.prog.clone();
        p.ops.clear();
        p.set_phase("inputs");
        ops::counter_increment(&mut p, self.counters, ITERATION, "iteration");
        let classes = self.cfg.g_classes();
        for (stream, input) in self.inputs.iter().enumerate() {
            let rs = RandomStream {
                seed: self.cfg.seed,
                stream: stream as u32,
                slot: ITERATION,
            };
            let (c, v) = (self.counters, input.view);
            let label = format!("draw {}", input.name);
            match (&input.kind, dataset, input.labels) {
                (InputKind::Noise, _, _) => ops::normal_fill(&mut p, rs, c, v, 0.0, 1.0, &label),
                (InputKind::Real, Some(ds), Some(labels)) => {
                    crate::train::stream::record_gather(&mut p, (rs, c), ds, (v, labels), &label)?
                }
                (InputKind::Real, _, _) => return Err(no_grad("dataset")),
                (InputKind::Labels, _, _) => {
                    ops::condition::uniform_labels(&mut p, rs, c, v, classes, &label)
                }
                (&InputKind::Uniform(lo, hi), _, _) => {
                    ops::uniform_fill(&mut p, rs, c, v, lo, hi, &label)
                }
            }
        }
        Ok(p)
    }
}

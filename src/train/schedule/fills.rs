//! The inputs of the training step and their on-device draws: noise, real batches with their
//! labels, labels and codes for the fakes, and WGAN-GP's interpolation weights.

use super::gan::{no_grad, Builder, Draw};
use super::planner::Planner;
use super::{DatasetViews, ITERATION};
use crate::ops::{self, RandomStream};
use crate::program::Program;

#[derive(Clone, Debug)]
pub enum InputKind {
    /// Standard normal noise.
    Noise,
    /// A batch of dataset images, with their labels.
    Real,
    /// Class labels, uniform over this many classes.
    Labels(usize),
    /// Uniform in [lo, hi): InfoGAN's continuous codes, WGAN-GP's interpolation weights.
    Uniform(f32, f32),
}

#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub view: crate::program::View,
    pub kind: InputKind,
    pub labels: Option<crate::program::View>,
}

impl Planner {
    /// The dataset's place in the program: packed bytes and labels of `count` images of `len`
    /// bytes, whole or, when too large for one binding, a ring of the batches of `batch` rows
    /// the next submissions need (`train::stream`).
    pub fn dataset(&mut self, count: usize, len: usize, batch: usize) -> DatasetViews {
        crate::train::stream::dataset_views(&mut self.prog, count, len, batch)
    }

    /// Records the on-device draws of every input, to run before the step: input i draws
    /// from random stream i at the iteration counter.
    pub fn fills(&self, dataset: Option<DatasetViews>) -> ops::Result<Program> {
        let mut p = self.prog.clone();
        p.ops.clear();
        p.set_phase("inputs");
        ops::counter_increment(&mut p, self.counters, ITERATION, "iteration");
        for (stream, input) in self.inputs.iter().enumerate() {
            let rs = RandomStream {
                seed: self.seed,
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
                (&InputKind::Labels(classes), _, _) => {
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

impl Builder<'_> {
    pub(super) fn input(
        &mut self,
        name: &str,
        kind: InputKind,
        len: usize,
    ) -> crate::program::View {
        self.p.input(name, kind, len, self.cfg.batch)
    }

    /// A noise input and, for models whose G reads them, the labels and codes drawn with it.
    pub(super) fn noise(&mut self, z_name: &str, y_name: &str) -> Draw {
        let b = self.cfg.batch;
        let z = self.input(z_name, InputKind::Noise, b * self.latent);
        let classes = self.cfg.g_classes();
        let y = (classes > 0).then(|| self.input(y_name, InputKind::Labels(classes), b));
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
    pub(super) fn real(
        &mut self,
        name: &str,
    ) -> (crate::program::View, Option<crate::program::View>) {
        let x = self.input(name, InputKind::Real, self.cfg.batch * self.image_len);
        (x, self.p.inputs.last().and_then(|i| i.labels))
    }
}

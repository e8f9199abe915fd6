//! `--eval-every`: the scores during training. The generator's inference pass on fixed eval
//! noise and the classifier on its output are appended to the training program (after the
//! iteration and the sample grid, so training itself is unchanged), and run on the same
//! executor: generated images never leave the device, only features and logits come back.

use super::classifier::{to_unit, Classifier, ClassifierForward, EVAL_BATCH};
use super::{score, RealStats, Requested, Scores};
use crate::data::Dataset;
use crate::exec::Executor;
use crate::gpu::GpuError;
use crate::nn::Net;
use crate::ops::{self, RandomStream};
use crate::program::{Program, View};
use std::ops::Range;

/// Random stream of the eval noise: apart from the training streams, which count from 0.
const EVAL_STREAM: u32 = 0xE7A1;

/// The eval ops inside a training program, before an executor exists.
#[derive(Clone, Debug)]
pub struct MonitorOps {
    fwd: ClassifierForward,
    /// Next eval noise, then the generator on it.
    generate: Range<usize>,
    /// The eval noise counter: reset before every eval so each one sees the same noise.
    counters: View,
    /// Conditioned generators: the requested classes (host-written once) and their count.
    labels: Option<(View, usize)>,
    /// Whether those are categories of the generator's own (InfoGAN), not given classes.
    categorical: bool,
    count: usize,
}

/// What a generator reads besides z: `classes` one-hot classes (0: none), `codes` continuous
/// codes uniform in [-1, 1] (InfoGAN), and whether the classes are categories of its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeneratorInputs {
    pub classes: usize,
    pub codes: usize,
    pub categorical: bool,
}

impl MonitorOps {
    /// Appends the generator `g` on `count` noise vectors (a batch at a time) and the
    /// classifier on its output to `prog`. G reads [z, codes, one_hot(y)] (`inputs`); row r of
    /// every batch asks for class r mod `classes`.
    pub fn record(
        prog: &mut Program,
        g: &Net,
        classifier: &Classifier,
        (count, inputs): (usize, GeneratorInputs),
        seed: u64,
    ) -> ops::Result<Self> {
        let (classes, codes) = (inputs.classes, inputs.codes);
        let batch = EVAL_BATCH.min(count).max(1);
        let g_acts = g.acts(prog, batch, "eval");
        let counters = prog.tensor("eval.counters", 1);
        let z = prog.tensor("eval.noise", batch * (g.in_features - classes - codes));
        let labels = (classes > 0).then(|| prog.tensor("eval.labels", batch));
        prog.set_phase("eval");
        let start = prog.ops.len();
        ops::counter_increment(prog, counters, 0, "eval batch");
        let rs = RandomStream {
            seed,
            stream: EVAL_STREAM,
            slot: 0,
        };
        ops::normal_fill(prog, rs, counters, z, 0.0, 1.0, "eval noise");
        let code_view = (codes > 0).then(|| {
            let c = prog.tensor("eval.codes", batch * codes);
            let rs = RandomStream {
                stream: EVAL_STREAM + 1,
                ..rs
            };
            ops::uniform_fill(prog, rs, counters, c, -1.0, 1.0, "eval codes");
            c
        });
        let y = labels.map(|y| (y, classes));
        let g_in = ops::condition::generator_input(prog, "eval.g_input", batch, z, code_view, y)?;
        let images = g.forward(prog, &g_acts, g_in, false)?;
        let generate = start..prog.ops.len();
        let net = classifier.net(prog);
        let fwd = ClassifierForward::record(prog, &net, batch, Some(images))?;
        Ok(Self {
            fwd,
            generate,
            counters,
            labels: labels.map(|v| (v, classes)),
            categorical: inputs.categorical,
            count,
        })
    }

    /// The class row r of every batch asks for.
    fn requested(&self, rows: usize) -> Vec<u8> {
        let classes = self.labels.map_or(1, |(_, c)| c);
        (0..rows).map(|r| (r % classes) as u8).collect()
    }

    /// Uploads the classifier and scores the first `count` images of `ds` as the real set.
    /// The classifier reads the generator's eval output buffer, so the real images go there.
    pub fn start(
        self,
        exec: &mut dyn Executor,
        classifier: &Classifier,
        ds: &Dataset,
    ) -> Result<Monitor, GpuError> {
        exec.write_f32(self.fwd.net.params, &classifier.params);
        if let Some((v, _)) = self.labels {
            let y: Vec<f32> = self.requested(v.len).iter().map(|&c| c as f32).collect();
            exec.write_f32(v, &y);
        }
        let n = self.count.min(ds.count) * ds.image_len();
        let real = self.fwd.classify(exec, &to_unit(&ds.images[..n]))?;
        Ok(Monitor {
            ops: self,
            real: RealStats::new(&real),
            warned: false,
        })
    }
}

/// The eval ops on an executor, with the real images' statistics.
pub struct Monitor {
    ops: MonitorOps,
    pub real: RealStats,
    /// Whether the mode-collapse warning was given.
    pub warned: bool,
}

impl Monitor {
    /// Scores `count` images of the generator as it is now, from the same noise every time.
    pub fn run(&self, exec: &mut dyn Executor) -> Result<Scores, GpuError> {
        let o = &self.ops;
        exec.write(o.counters, &[0]);
        let mut fake = o.fwd.empty_outputs();
        let mut requested = Vec::with_capacity(o.count);
        while requested.len() < o.count {
            let rows = (o.count - requested.len()).min(o.fwd.batch);
            exec.run(o.generate.clone(), 1)?;
            exec.run(o.fwd.range.clone(), 1)?;
            o.fwd.read_into(exec, rows, &mut fake)?;
            requested.extend(o.requested(rows));
        }
        let asked = match (o.labels, o.categorical) {
            (None, _) => Requested::Nothing,
            (Some(_), false) => Requested::Classes(&requested),
            (Some((_, classes)), true) => Requested::Categories(&requested, classes),
        };
        Ok(score(&self.real, &fake, asked))
    }
}

//! CycleGAN's generators from a checkpoint: `wgpu-gan translate` (images, folders, `.npy`
//! arrays, brought to the trained size and channels) and the translation scores of `eval`
//! (does a translated digit keep its class, and how close do its classifier features come to
//! the target domain's).

use crate::checkpoint::Checkpoint;
use crate::data::domain::conform;
use crate::data::Dataset;
use crate::eval::classifier::to_unit;
use crate::eval::{frechet, Outputs};
use crate::exec::{executor, DeviceKind, Executor};
use crate::gpu::GpuOptions;
use crate::nn::{Net, Shape};
use crate::program::{Program, View};
use crate::sample::checkpoint_config;
use crate::train::families::cyclegan::{self, data};
use crate::train::{ModelKind, TrainConfig, TrainError};

/// Images per run of the generator.
const CHUNK: usize = 32;

/// Which generator: A to B (`g_ab`) or B to A (`g_ba`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    A2b,
    B2a,
}

impl Direction {
    pub fn parse(text: &str) -> Result<Self, TrainError> {
        match text {
            "a2b" => Ok(Self::A2b),
            "b2a" => Ok(Self::B2a),
            other => Err(TrainError::Config(format!(
                "--direction {other}: give a2b (domain A to B, g_ab) or b2a (B to A, g_ba)"
            ))),
        }
    }

    pub fn net(self) -> &'static str {
        match self {
            Self::A2b => "g_ab",
            Self::B2a => "g_ba",
        }
    }
}

/// A checkpoint's generator of one direction, planned for batches of [`CHUNK`].
pub struct Translator {
    exec: Box<dyn Executor>,
    ops: usize,
    x: View,
    out: View,
    pub cfg: TrainConfig,
    /// (channels, height, width) of the images it reads and makes.
    pub shape: (usize, usize, usize),
}

/// The run config of a CycleGAN checkpoint; another model's is refused.
pub fn cyclegan_config(ckpt: &Checkpoint) -> Result<TrainConfig, TrainError> {
    let cfg = checkpoint_config(ckpt)?;
    if cfg.model != ModelKind::Cyclegan {
        return Err(TrainError::Config(format!(
            "{} is a --model {} checkpoint; translate needs a cyclegan one",
            ckpt.path.display(),
            cfg.model_name()
        )));
    }
    Ok(cfg)
}

impl Translator {
    pub fn new(
        ckpt: &Checkpoint,
        direction: Direction,
        device: DeviceKind,
        gpu: &GpuOptions,
    ) -> Result<Self, TrainError> {
        let cfg = cyclegan_config(ckpt)?;
        let model = cyclegan::model(&cfg);
        let shape = (model.channels, model.size, model.size);
        let mut prog = Program::new();
        let image = Shape::image(shape.0, shape.1, shape.2);
        let net = Net::shaped(&mut prog, direction.net(), image, model.generator())
            .map_err(TrainError::Config)?;
        let acts = net.acts(&mut prog, CHUNK, "translate");
        let x = prog.tensor("translate.input", CHUNK * image.len());
        let out = net.forward(&mut prog, &acts, x, false)?;
        let mut exec = executor(device, gpu, &prog)?;
        ckpt.restore_net(exec.as_mut(), &net, false)?;
        Ok(Self {
            exec,
            ops: prog.ops.len(),
            x,
            out,
            cfg,
            shape,
        })
    }

    pub fn image_len(&self) -> usize {
        self.shape.0 * self.shape.1 * self.shape.2
    }

    /// The translations of `images` (N, C, H, W) in [-1, 1], of the trained shape.
    pub fn run(&mut self, images: &[f32]) -> Result<Vec<f32>, TrainError> {
        let len = self.image_len();
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(CHUNK * len) {
            let mut padded = chunk.to_vec();
            padded.resize(CHUNK * len, 0.0);
            self.exec.write_f32(self.x, &padded);
            self.exec.run(0..self.ops, 1)?;
            let y = self.exec.read_f32(self.out)?;
            out.extend_from_slice(&y[..chunk.len()]);
        }
        Ok(out)
    }

    /// [`Self::run`] on a dataset of any size and channels, brought to the trained ones.
    pub fn dataset(&mut self, ds: Dataset) -> Result<Vec<f32>, TrainError> {
        let ds = conform(ds, self.shape.0, self.shape.1);
        self.run(&to_unit(&ds.images))
    }
}

/// What `eval` reports for a pair of labelled digit domains, translating B's held-out images
/// to A (whose classifier decides the class).
#[derive(Clone, Debug)]
pub struct TranslationScores {
    /// Held-out images of B translated.
    pub count: usize,
    /// Share of G_BA(b) classified as b's label, and of b itself.
    pub kept: f64,
    pub untranslated: f64,
    /// Fréchet classifier distance to A's images of G_BA(b), and of b.
    pub fcd: f64,
    pub fcd_untranslated: f64,
    /// Held-out mean |G_BA(G_AB(a)) - a| and mean |G_AB(G_BA(b)) - b|.
    pub cycle_error: [f64; 2],
    /// Per class of b: (held-out images, how many G_BA(b) keep it).
    pub kept_by_class: KeptByClass,
    /// The most common changes of class, (b's class, G_BA(b)'s, count), most first (at most 3).
    pub flips: Flips,
}

/// Per class: (images, kept).
pub type KeptByClass = Vec<(usize, usize)>;
/// Changes of class: (from, to, count).
pub type Flips = Vec<(usize, usize, usize)>;

/// (per class: images, kept) and the three most common (from, to, count) of `predicted`
/// against `labels`, over `classes` classes.
pub fn class_changes(predicted: &[usize], labels: &[u8], classes: usize) -> (KeptByClass, Flips) {
    let mut by_class = vec![(0, 0); classes];
    let mut pairs = vec![0usize; classes * classes];
    for (&p, &l) in predicted.iter().zip(labels) {
        let l = l as usize;
        if l >= classes || p >= classes {
            continue;
        }
        by_class[l].0 += 1;
        if p == l {
            by_class[l].1 += 1;
        } else {
            pairs[l * classes + p] += 1;
        }
    }
    let mut flips: Flips = pairs
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| (i / classes, i % classes, c))
        .collect();
    // Most first; ties in (from, to) order, so the report is stable.
    flips.sort_by_key(|&(f, t, c)| (std::cmp::Reverse(c), f, t));
    flips.truncate(3);
    (by_class, flips)
}

fn fcd(real: &Outputs, fake: &Outputs) -> f64 {
    let (m1, s1) = frechet::gaussian(&real.features, real.feature_len);
    let (m2, s2) = frechet::gaussian(&fake.features, fake.feature_len);
    frechet::frechet_distance(&m1, &s1, &m2, &s2)
}

fn mean_abs(a: &[f32], b: &[f32]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(x, y)| (x - y).abs() as f64).sum();
    sum / a.len().max(1) as f64
}

/// The translation scores of a CycleGAN checkpoint on its run's held-out images, with
/// `classify` (A's classifier: images in [-1, 1] to outputs); the real statistics are those of
/// A's training images (at most 2,000).
pub fn evaluate(
    ckpt: &Checkpoint,
    device: DeviceKind,
    gpu: &GpuOptions,
    classify: &mut dyn FnMut(&[f32]) -> Result<Outputs, TrainError>,
) -> Result<TranslationScores, TrainError> {
    let mut ab = Translator::new(ckpt, Direction::A2b, device, gpu)?;
    let mut ba = Translator::new(ckpt, Direction::B2a, device, gpu)?;
    let [a, b] = data::split(&ab.cfg)?;
    let (held_a, held_b) = (to_unit(&a.held.images), to_unit(&b.held.images));
    let fake_b = ab.run(&held_a)?;
    let rec_a = ba.run(&fake_b)?;
    let fake_a = ba.run(&held_b)?;
    let rec_b = ab.run(&fake_a)?;
    let n = 2000.min(a.train.count) * a.train.image_len();
    let real = classify(&to_unit(&a.train.images[..n]))?;
    let (translated, original) = (classify(&fake_a)?, classify(&held_b)?);
    let predicted: Vec<usize> = translated.predictions().iter().map(|p| p.0).collect();
    let (kept_by_class, flips) =
        class_changes(&predicted, &b.held.labels, translated.classes.max(1));
    Ok(TranslationScores {
        count: b.held.count,
        kept: translated.accuracy(&b.held.labels),
        untranslated: original.accuracy(&b.held.labels),
        fcd: fcd(&real, &translated),
        fcd_untranslated: fcd(&real, &original),
        cycle_error: [mean_abs(&rec_a, &held_a), mean_abs(&rec_b, &held_b)],
        kept_by_class,
        flips,
    })
}

impl TranslationScores {
    pub fn report(&self) -> String {
        let by_class: Vec<String> = self
            .kept_by_class
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(c, &(n, k))| format!("{c} {:.0}%", 100.0 * k as f64 / n as f64))
            .collect();
        let flips: Vec<String> = self
            .flips
            .iter()
            .map(|&(f, t, c)| format!("{f} -> {t} ({c})"))
            .collect();
        let flips = if flips.is_empty() {
            "none".to_string()
        } else {
            flips.join(", ")
        };
        format!(
            "translated B -> A ({} held-out images of B):\n\
             class kept:      {:.2}% (untranslated, read as A: {:.2}%)\n\
             kept by class:   {}\n\
             most changed:    {}\n\
             FCD to A:        {:.2} (untranslated: {:.2})\n\
             cycle error:     A {:.4}, B {:.4} (mean |x - G(F(x))|, images in [-1, 1])\n",
            self.count,
            100.0 * self.kept,
            100.0 * self.untranslated,
            by_class.join(" | "),
            flips,
            self.fcd,
            self.fcd_untranslated,
            self.cycle_error[0],
            self.cycle_error[1]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::class_changes;

    #[test]
    fn class_changes_counts_each_class_and_ranks_the_flips() {
        // Labels 0,0,0,1,1,2; predicted 0,1,1,1,2,0: class 0 keeps 1 of 3, class 1 keeps 1 of
        // 2, class 2 keeps none; flips 0 -> 1 twice, then 1 -> 2 and 2 -> 0 once each.
        let (by_class, flips) = class_changes(&[0, 1, 1, 1, 2, 0], &[0, 0, 0, 1, 1, 2], 3);
        assert_eq!(by_class, vec![(3, 1), (2, 1), (1, 0)]);
        assert_eq!(flips, vec![(0, 1, 2), (1, 2, 1), (2, 0, 1)]);
        // A label outside the classes is skipped; no flips is an empty list.
        let (by_class, flips) = class_changes(&[0, 1], &[0, 7], 2);
        assert_eq!(by_class, vec![(1, 1), (0, 0)]);
        assert!(flips.is_empty());
    }
}

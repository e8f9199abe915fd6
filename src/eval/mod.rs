//! Quality scores for generated images (issue 8), from a small classifier trained on the
//! dataset's labels: the Fréchet classifier distance between real and generated images in the
//! classifier's penultimate features, the entropy of the predicted-class histogram (low entropy
//! means mode collapse), the mean classifier confidence and, for conditional generators, the
//! accuracy on the requested classes.

pub mod classifier;
mod classifier_file;
pub mod frechet;
pub mod image_quality;
pub mod monitor;
mod run;

pub use monitor::GeneratorInputs;
pub use run::{check_classifier, load_or_train, Classify};

use nalgebra::{DMatrix, DVector};

/// What can go wrong loading, training or running the eval classifier.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Device(#[from] crate::gpu::GpuError),
    #[error(transparent)]
    Shape(#[from] crate::ops::ShapeError),
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
}

/// Below this class entropy (nats; the maximum for 10 classes is ln 10 = 2.30) a generator
/// makes few kinds of image: `--eval-every` warns of mode collapse.
pub const ENTROPY_WARNING: f64 = 1.5;

/// Classifier outputs for a set of images: row-major (N, feature_len) and (N, classes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs {
    pub features: Vec<f32>,
    pub logits: Vec<f32>,
    pub feature_len: usize,
    pub classes: usize,
}

impl Outputs {
    pub fn count(&self) -> usize {
        self.logits.len() / self.classes.max(1)
    }

    /// Each image's predicted class and its softmax probability.
    pub fn predictions(&self) -> Vec<(usize, f64)> {
        self.logits
            .chunks_exact(self.classes.max(1))
            .map(|row| {
                let (arg, top) =
                    row.iter()
                        .enumerate()
                        .fold(
                            (0, f32::NEG_INFINITY),
                            |a, (i, &v)| if v > a.1 { (i, v) } else { a },
                        );
                let sum: f64 = row.iter().map(|&v| ((v - top) as f64).exp()).sum();
                (arg, 1.0 / sum)
            })
            .collect()
    }

    /// The fraction of images whose predicted class is `labels[i]`.
    pub fn accuracy(&self, labels: &[u8]) -> f64 {
        let p = self.predictions();
        let hits = p
            .iter()
            .zip(labels)
            .filter(|((c, _), &l)| *c == l as usize)
            .count();
        hits as f64 / p.len().max(1) as f64
    }
}

/// The Gaussian fitted to the real images' features, computed once.
#[derive(Clone, Debug)]
pub struct RealStats {
    pub mean: DVector<f64>,
    pub cov: DMatrix<f64>,
    pub count: usize,
}

impl RealStats {
    pub fn new(real: &Outputs) -> Self {
        let (mean, cov) = frechet::gaussian(&real.features, real.feature_len);
        Self {
            mean,
            cov,
            count: real.count(),
        }
    }
}

/// The scores of one set of generated images.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Squared Fréchet distance between real and generated penultimate features.
    pub fcd: f64,
    /// Entropy (nats) of the predicted-class histogram; at most ln(classes).
    pub class_entropy: f64,
    /// Mean softmax probability of the predicted class.
    pub confidence: f64,
    /// Conditional generators: the fraction classified as the class they were asked for.
    pub class_accuracy: Option<f64>,
    /// Images per predicted class.
    pub histogram: Vec<usize>,
    pub count: usize,
    /// Generators with categories that are not given classes (InfoGAN): for each category,
    /// the class its images are most often classified as, and the share of them that are.
    pub categories: Vec<(usize, f64)>,
}

/// What each generated image was asked for.
#[derive(Clone, Copy, Debug)]
pub enum Requested<'a> {
    /// Nothing: an unconditional generator.
    Nothing,
    /// A given class (cgan, acgan): scored by the share classified as that class.
    Classes(&'a [u8]),
    /// One of the generator's own `n` categories (InfoGAN): scored by each category's most
    /// frequent class.
    Categories(&'a [u8], usize),
}

/// Scores `fake` against `real`, with what each image was asked for.
pub fn score(real: &RealStats, fake: &Outputs, requested: Requested) -> Scores {
    let (mean, cov) = frechet::gaussian(&fake.features, fake.feature_len);
    let fcd = frechet::frechet_distance(&real.mean, &real.cov, &mean, &cov);
    let predictions = fake.predictions();
    let mut histogram = vec![0usize; fake.classes];
    for (c, _) in &predictions {
        histogram[*c] += 1;
    }
    let n = predictions.len().max(1) as f64;
    Scores {
        fcd,
        class_entropy: entropy(&histogram),
        confidence: predictions.iter().map(|(_, p)| p).sum::<f64>() / n,
        class_accuracy: match requested {
            Requested::Classes(labels) => Some(fake.accuracy(labels)),
            _ => None,
        },
        histogram,
        count: predictions.len(),
        categories: match requested {
            Requested::Categories(asked, n) => category_classes(fake, asked, n),
            _ => Vec::new(),
        },
    }
}

/// For each of the `n` categories (image i asked for category `categories[i]`), the class its
/// images are most often classified as, and the share of them that are.
pub fn category_classes(fake: &Outputs, categories: &[u8], n: usize) -> Vec<(usize, f64)> {
    let mut counts = vec![vec![0usize; fake.classes]; n];
    for ((c, _), &k) in fake.predictions().iter().zip(categories) {
        counts[k as usize][*c] += 1;
    }
    counts
        .iter()
        .map(|row| {
            let total = row.iter().sum::<usize>().max(1);
            // The first of equal counts (max_by_key keeps the last, hence rev).
            let (class, &top) = (row.iter().enumerate().rev())
                .max_by_key(|(_, &n)| n)
                .unwrap_or((0, &0));
            (class, top as f64 / total as f64)
        })
        .collect()
}

/// Shannon entropy (nats) of a histogram's normalised counts.
pub fn entropy(histogram: &[usize]) -> f64 {
    let total: usize = histogram.iter().sum();
    histogram
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            -p * p.ln()
        })
        .sum()
}

impl Scores {
    /// The scores as the lines `wgpu-gan eval` prints.
    pub fn report(&self) -> String {
        let max = (self.histogram.len() as f64).ln();
        let accuracy = match self.class_accuracy {
            Some(a) => format!("{:.2}%", 100.0 * a),
            None if !self.categories.is_empty() => "n/a (categories, not given classes)".into(),
            None => "n/a (unconditional generator)".into(),
        };
        let mut text = format!(
            "Fréchet classifier distance: {:.3}\n\
             class entropy:               {:.3} nats (max ln {} = {max:.3})\n\
             mean classifier confidence:  {:.3}\n\
             accuracy on requested class: {accuracy}\n\
             predicted-class histogram:   {:?}\n",
            self.fcd,
            self.class_entropy,
            self.histogram.len(),
            self.confidence,
            self.histogram
        );
        if !self.categories.is_empty() {
            let each: Vec<String> = (self.categories.iter().enumerate())
                .map(|(k, (c, share))| format!("{k}→{c} {:.0}%", 100.0 * share))
                .collect();
            let mut digits: Vec<usize> = self.categories.iter().map(|(c, _)| *c).collect();
            digits.sort_unstable();
            digits.dedup();
            text += &format!(
                "category → class (share):   {} ({} distinct classes)\n",
                each.join(", "),
                digits.len()
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_histograms() {
        assert!((entropy(&[5; 10]) - 10f64.ln()).abs() < 1e-12);
        assert_eq!(entropy(&[0, 7, 0]), 0.0);
        assert!((entropy(&[1, 1, 0, 0]) - 2f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn predictions_are_argmax_and_softmax_probability() {
        let o = Outputs {
            logits: vec![0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 2.0, 0.0],
            classes: 4,
            ..Default::default()
        };
        let p = o.predictions();
        assert_eq!(p[0], (0, 0.25));
        let e = [1f64.exp(), 3f64.exp(), 2f64.exp(), 1.0];
        assert_eq!(p[1].0, 1);
        assert!((p[1].1 - e[1] / e.iter().sum::<f64>()).abs() < 1e-6);
        assert_eq!(o.accuracy(&[0, 2]), 0.5);
        // Both images asked for category 1, classified 0 and 1: 1 -> class 0 (ties: the
        // first), half of them; category 0 has no images.
        assert_eq!(category_classes(&o, &[1, 1], 2), vec![(0, 0.0), (0, 0.5)]);
    }
}

#[derive(Clone, Debug)]
/// What `eval` scores with (`score::evaluate`; a family's own `evaluate`).
pub struct EvalOptions {
    /// Generated images, and at most this many real ones.
    pub count: usize,
    /// Seed of the generator's noise.
    pub seed: u64,
    pub device: crate::exec::DeviceKind,
    /// The classifier file; None: the dataset's cached one (trained first when missing).
    pub classifier: Option<std::path::PathBuf>,
}

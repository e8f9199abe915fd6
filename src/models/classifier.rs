//! The small convolutional classifier behind the quality scores (issue 8): two strided
//! convolutions, a dense layer whose output is the feature vector the Fréchet classifier
//! distance compares, and a dense layer of class logits.

use crate::nn::{ConvSpec, Layer, Net, TensorKind};
use crate::ops::Activation;

/// Layer sizes of the classifier. The default is the MNIST one: Conv 1→32 (k4 s2 p1) + LeakyReLU,
/// Conv 32→64 (k4 s2 p1) + LeakyReLU, flatten, Linear 3136→128 + LeakyReLU (the features),
/// Linear 128→10.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ClassifierConfig {
    pub channels: usize,
    /// Side of the square images; a multiple of 4.
    pub image_size: usize,
    pub conv1: usize,
    pub conv2: usize,
    /// Length of the penultimate feature vector.
    pub features: usize,
    pub classes: usize,
    pub slope: f32,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            channels: 1,
            image_size: 28,
            conv1: 32,
            conv2: 64,
            features: 128,
            classes: 10,
            slope: 0.2,
        }
    }
}

/// Index of the layer whose output is the penultimate feature vector.
pub const FEATURE_LAYER: usize = 5;

impl ClassifierConfig {
    pub fn image_len(&self) -> usize {
        self.channels * self.image_size * self.image_size
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.image_size < 4 || !self.image_size.is_multiple_of(4) {
            return Err(format!(
                "classifier image size {} must be a positive multiple of 4",
                self.image_size
            ));
        }
        let sizes = [self.channels, self.conv1, self.conv2, self.features];
        if sizes.contains(&0) || self.classes < 2 {
            return Err("classifier layers need at least 1 channel and 2 classes".into());
        }
        Ok(())
    }

    /// The layers; output `FEATURE_LAYER` is the feature vector, the last one the logits.
    pub fn layers(&self) -> Vec<Layer> {
        let n = self.image_size;
        let spec = |c_in, c_out, side| ConvSpec {
            c_in,
            c_out,
            h: side,
            w: side,
            kernel: 4,
            stride: 2,
            pad: 1,
        };
        let lrelu = Layer::Act(Activation::LeakyRelu(self.slope));
        let flat = self.conv2 * (n / 4) * (n / 4);
        vec![
            Layer::conv2d("conv1", spec(self.channels, self.conv1, n), true),
            lrelu.clone(),
            Layer::conv2d("conv2", spec(self.conv1, self.conv2, n / 2), true),
            lrelu.clone(),
            Layer::linear("fc1", flat, self.features),
            lrelu,
            Layer::linear("fc2", self.features, self.classes),
        ]
    }
}

/// PyTorch's default initialisation for `nn.Conv2d` and `nn.Linear`: weight and bias both
/// uniform in ±1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)). Deterministic in `seed`.
pub fn classifier_init(net: &Net, seed: u64) -> Vec<f32> {
    let mut params = vec![0.0f32; net.params.len];
    let mut fan_in = 1;
    for (ti, t) in net.tensors.iter().enumerate() {
        if t.kind != TensorKind::Param {
            continue;
        }
        if t.name.ends_with(".weight") {
            fan_in = t.shape[1..].iter().product::<usize>().max(1);
        }
        let bound = 1.0 / (fan_in as f32).sqrt();
        for (i, p) in params[t.offset..t.offset + t.len].iter_mut().enumerate() {
            *p = bound * (2.0 * super::uniform(seed, ti as u32, i as u32) - 1.0);
        }
    }
    params
}

//! Model definitions: a model is a generator and a discriminator, each a list of layers, plus
//! how their parameters start.

mod classifier;
mod cyclegan;
mod dcgan;
mod dvdgan;
mod srgan;

pub use classifier::{classifier_init, ClassifierConfig, FEATURE_LAYER};
pub use cyclegan::CycleganConfig;
pub use dcgan::{dcgan_init, Dcgan64Config, DcganConfig, DCGAN64_SIZE};
pub use dvdgan::{dvdgan_init, halvings, DvdganConfig};
pub use srgan::SrganConfig;

use crate::nn::{Layer, Net, TensorKind};
use crate::ops::Activation;

/// Classes of the label-conditioned models (the MNIST digits), and InfoGAN's categories.
pub const CLASSES: usize = 10;
/// InfoGAN's continuous codes.
pub const INFO_CODES: usize = 2;

/// The seed article's MLP GAN (Keras): G = Dense+LeakyReLU+BatchNorm blocks then Dense+tanh;
/// D = Dense+LeakyReLU blocks then a Dense logit.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpConfig {
    pub latent: usize,
    pub g_hidden: Vec<usize>,
    pub d_hidden: Vec<usize>,
    pub image_len: usize,
    pub slope: f32,
    pub bn_eps: f32,
    pub bn_momentum: f32,
}

impl MlpConfig {
    /// The seed recipe: latent 100, G 256-512-1024, D 512-256, 28x28 images, Keras
    /// BatchNormalization(momentum=0.7) = PyTorch momentum 0.3, eps 1e-3.
    pub fn seed(latent: usize) -> Self {
        Self {
            latent,
            g_hidden: vec![256, 512, 1024],
            d_hidden: vec![512, 256],
            image_len: 784,
            slope: 0.2,
            bn_eps: 1e-3,
            bn_momentum: 0.3,
        }
    }

    pub fn generator(&self) -> Vec<Layer> {
        self.generator_from(self.latent)
    }

    pub fn discriminator(&self) -> Vec<Layer> {
        self.discriminator_from(self.image_len)
    }

    /// The conditional GAN (cgan): G reads [z, one_hot(y)] and D reads [x, one_hot(y)], so
    /// each first layer takes `classes` more inputs; the rest is the seed MLP.
    pub fn conditional(&self, classes: usize) -> (Vec<Layer>, Vec<Layer>) {
        (
            self.generator_from(self.latent + classes),
            self.discriminator_from(self.image_len + classes),
        )
    }

    /// G reading `inputs` values per sample (z and any codes).
    pub fn generator_from(&self, inputs: usize) -> Vec<Layer> {
        let mut layers = Vec::new();
        let mut inputs = inputs;
        for (i, &w) in self.g_hidden.iter().enumerate() {
            layers.push(Layer::linear(&format!("fc{}", i + 1), inputs, w));
            layers.push(Layer::Act(Activation::LeakyRelu(self.slope)));
            layers.push(Layer::batch_norm(
                &format!("bn{}", i + 1),
                w,
                self.bn_eps,
                self.bn_momentum,
            ));
            inputs = w;
        }
        let last = format!("fc{}", self.g_hidden.len() + 1);
        layers.push(Layer::linear(&last, inputs, self.image_len));
        layers.push(Layer::Act(Activation::Tanh));
        layers
    }

    fn discriminator_from(&self, inputs: usize) -> Vec<Layer> {
        self.discriminator_layers(inputs, 1)
    }

    /// D with `outputs` values per image: the real/fake logit (or critic value), then any
    /// extra heads (ACGAN's class logits, InfoGAN's Q), each a linear map of D's last hidden
    /// layer, which they share.
    pub fn discriminator_with(&self, outputs: usize) -> Vec<Layer> {
        self.discriminator_layers(self.image_len, outputs)
    }

    fn discriminator_layers(&self, inputs: usize, outputs: usize) -> Vec<Layer> {
        let mut layers = Vec::new();
        let mut inputs = inputs;
        for (i, &w) in self.d_hidden.iter().enumerate() {
            layers.push(Layer::linear(&format!("fc{}", i + 1), inputs, w));
            layers.push(Layer::Act(Activation::LeakyRelu(self.slope)));
            inputs = w;
        }
        layers.push(Layer::linear(
            &format!("fc{}", self.d_hidden.len() + 1),
            inputs,
            outputs,
        ));
        layers
    }
}

/// Initial parameter and state arenas of `net`: Glorot-uniform weights (Keras' default),
/// zero biases, batch-norm gamma 1, beta 0, running mean 0, running var 1. Deterministic in
/// `seed` through the same Philox generator as the GPU noise.
pub fn glorot_init(net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut params = vec![0.0f32; net.params.len];
    let mut state = vec![0.0f32; net.state.len];
    for (ti, t) in net.tensors.iter().enumerate() {
        match (t.kind, t.name.rsplit('.').next()) {
            (TensorKind::Param, Some("weight")) if t.shape.len() == 2 => {
                let limit = (6.0 / (t.shape[0] + t.shape[1]) as f32).sqrt();
                for (i, p) in params[t.offset..t.offset + t.len].iter_mut().enumerate() {
                    *p = limit * (2.0 * uniform(seed, ti as u32, i as u32) - 1.0);
                }
            }
            // Batch-norm gamma.
            (TensorKind::Param, Some("weight")) => params[t.offset..t.offset + t.len].fill(1.0),
            (TensorKind::Running, Some("running_var")) => {
                state[t.offset..t.offset + t.len].fill(1.0)
            }
            _ => {}
        }
    }
    (params, state)
}

/// A uniform draw in [0, 1) from Philox, keyed by seed, tensor and element.
pub fn uniform(seed: u64, tensor: u32, i: u32) -> f32 {
    let r = crate::cpu::random::philox([i, tensor, 0x1417, 0], [seed as u32, (seed >> 32) as u32]);
    (r[0] >> 8) as f32 / (1u32 << 24) as f32
}

/// Standard normal draws for host-side noise (the fixed sample grid), Box-Muller over Philox.
pub fn normal(seed: u64, stream: u32, n: usize) -> Vec<f32> {
    (0..n as u32)
        .map(|i| {
            let r = crate::cpu::random::philox(
                [i, stream, 0x5A3E, 0],
                [seed as u32, (seed >> 32) as u32],
            );
            let u1 = ((r[0] >> 8) + 1) as f32 / (1u32 << 24) as f32;
            let u2 = (r[1] >> 8) as f32 / (1u32 << 24) as f32;
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect()
}

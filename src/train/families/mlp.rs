//! The seed tutorial's MLP GAN (28x28 grayscale) and its Keras recipe.

use super::Family;
use crate::nn::Layer;
use crate::train::TrainConfig;

pub struct Mlp;

impl Family for Mlp {
    /// Keras MLP GAN, batch 32, 12,000 iterations, Adam(2e-4, 0.5, 0.999, 1e-7).
    fn defaults(&self) -> TrainConfig {
        TrainConfig::default()
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--loss", "--d-steps", "--g-steps"]
    }

    fn layers(&self, cfg: &TrainConfig, image_len: usize) -> (Vec<Layer>, Vec<Layer>) {
        let m = cfg.mlp(image_len);
        (m.generator(), m.discriminator())
    }
}

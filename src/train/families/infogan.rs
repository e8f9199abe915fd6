//! InfoGAN: G reads a 10-way categorical and 2 continuous codes; a Q head on D's body recovers
//! them (the mutual-information loss).

use super::{mlp_pair, Column, Family};
use crate::models::{CLASSES, INFO_CODES};
use crate::nn::Layer;
use crate::train::schedule::{Aux, AUX, CODES};
use crate::train::{ModelKind, TrainConfig, FAMILY_EMA};

pub struct Infogan;

impl Family for Infogan {
    fn defaults(&self) -> TrainConfig {
        TrainConfig {
            model: ModelKind::Infogan,
            latent_dim: 62,
            g_ema: FAMILY_EMA,
            ..TrainConfig::default()
        }
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--loss", "--d-steps", "--g-steps"]
    }

    /// The categorical code (weight 1) and 2 continuous codes (weight 0.1, as in
    /// PyTorch-GAN's infogan).
    fn aux(&self) -> Aux {
        Aux::Info {
            categories: CLASSES,
            continuous: INFO_CODES,
            cat_weight: 1.0,
            cont_weight: 0.1,
        }
    }

    fn layers(&self, cfg: &TrainConfig, image_len: usize) -> (Vec<Layer>, Vec<Layer>) {
        mlp_pair(cfg, image_len, 1 + self.aux().width())
    }

    /// The categorical code, whose categories are whatever the model made of them.
    fn classes(&self) -> usize {
        CLASSES
    }

    /// Q's categorical code (D on fakes and G) and the continuous codes' error.
    fn head_columns(&self, _cfg: &TrainConfig) -> &'static [Column] {
        &[
            Column {
                name: "q_cat_loss",
                parts: &[(AUX, 0)],
            },
            Column {
                name: "q_cat_acc",
                parts: &[(AUX, 1)],
            },
            Column {
                name: "q_code_mse",
                parts: &[(CODES, 0)],
            },
        ]
    }
}

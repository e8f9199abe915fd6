//! ACGAN: G conditioned on the digit; D also classifies it (a second head of 10 logits).

use super::{mlp_pair, needs_labels, Column, Family};
use crate::models::CLASSES;
use crate::nn::Layer;
use crate::train::schedule::{Aux, AUX};
use crate::train::{ModelKind, TrainConfig, FAMILY_EMA};

pub struct Acgan;

impl Family for Acgan {
    fn defaults(&self) -> TrainConfig {
        TrainConfig {
            model: ModelKind::Acgan,
            g_ema: FAMILY_EMA,
            ..TrainConfig::default()
        }
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--loss", "--d-steps", "--g-steps"]
    }

    /// The class head, weight 1 (the paper's sum of the source and class log-likelihoods).
    fn aux(&self) -> Aux {
        Aux::Classes {
            classes: CLASSES,
            weight: 1.0,
        }
    }

    fn layers(&self, cfg: &TrainConfig, image_len: usize) -> (Vec<Layer>, Vec<Layer>) {
        mlp_pair(cfg, image_len, 1 + self.aux().width())
    }

    fn classes(&self) -> usize {
        CLASSES
    }

    fn labels_are_classes(&self) -> bool {
        true
    }

    /// Over every pass that trains the class head: D on reals and fakes, G.
    fn head_columns(&self, _cfg: &TrainConfig) -> &'static [Column] {
        &[
            Column {
                name: "class_loss",
                parts: &[(AUX, 0)],
            },
            Column {
                name: "class_acc",
                parts: &[(AUX, 1)],
            },
        ]
    }

    fn validate(&self, cfg: &TrainConfig) -> Result<(), String> {
        needs_labels(cfg)
    }
}

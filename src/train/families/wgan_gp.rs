//! WGAN-GP: an MLP critic without sigmoid, 5 critic steps per G step, gradient penalty 10.

use super::{mlp_pair, Column, Family};
use crate::nn::Layer;
use crate::ops::Loss;
use crate::train::schedule::{ScheduleKind, PENALTY};
use crate::train::{ModelKind, TrainConfig, FAMILY_EMA};

pub struct WganGp;

impl Family for WganGp {
    /// Gulrajani et al.'s algorithm 1 defaults.
    fn defaults(&self) -> TrainConfig {
        TrainConfig {
            model: ModelKind::WganGp,
            steps: 4_000,
            batch_size: 64,
            lr: 1e-4,
            beta1: 0.0,
            beta2: 0.9,
            adam_eps: 1e-8,
            d_steps: 5,
            g_steps: 1,
            g_ema: FAMILY_EMA,
            ..TrainConfig::default()
        }
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--d-steps"]
    }

    fn schedule(&self) -> ScheduleKind {
        ScheduleKind::Wgan
    }

    fn loss_op(&self, _cfg: &TrainConfig) -> Loss {
        Loss::Wasserstein
    }

    fn layers(&self, cfg: &TrainConfig, image_len: usize) -> (Vec<Layer>, Vec<Layer>) {
        mlp_pair(cfg, image_len, 1)
    }

    fn head_columns(&self, _cfg: &TrainConfig) -> &'static [Column] {
        &[Column {
            name: "gradient_penalty",
            parts: &[(PENALTY, 0)],
        }]
    }
}

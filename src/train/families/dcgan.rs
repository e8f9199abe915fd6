//! DCGAN: for 28x28 grayscale (MNIST), and pytorch/examples' 64x64 (needs --data-folder).

use super::Family;
use crate::data::DataSource;
use crate::models::{dcgan_init, DCGAN64_SIZE};
use crate::nn::{Layer, Net};
use crate::train::params::Param;
use crate::train::schedule::ScheduleKind;
use crate::train::{ModelKind, TrainConfig};

pub struct Dcgan;
pub struct Dcgan64;

/// Both recipes: batch 64, Adam eps 1e-8 (PyTorch's default), one D and one G step per
/// iteration, 2,000 iterations.
fn recipe(model: ModelKind) -> TrainConfig {
    TrainConfig {
        model,
        steps: 2_000,
        batch_size: 64,
        adam_eps: 1e-8,
        d_steps: 1,
        g_steps: 1,
        ..TrainConfig::default()
    }
}

impl Family for Dcgan {
    fn defaults(&self) -> TrainConfig {
        recipe(ModelKind::Dcgan)
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--loss"]
    }

    fn params(&self) -> &'static [Param] {
        &[
            Param {
                name: "g-width",
                default: "128",
                help: "channels of G's first (7x7) feature map; its second has half",
            },
            Param {
                name: "d-width",
                default: "64",
                help: "channels of D's first convolution; its second has twice",
            },
        ]
    }

    fn schedule(&self) -> ScheduleKind {
        ScheduleKind::Dcgan
    }

    fn layers(&self, cfg: &TrainConfig, _image_len: usize) -> (Vec<Layer>, Vec<Layer>) {
        (cfg.dcgan().generator(), cfg.dcgan().discriminator())
    }

    fn fixed_size(&self) -> bool {
        true
    }

    /// The DCGAN paper's N(0, 0.02).
    fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        dcgan_init(net, seed)
    }

    fn validate(&self, cfg: &TrainConfig) -> Result<(), String> {
        cfg.check_params::<usize>(&["g-width", "d-width"])?;
        cfg.dcgan().validate()
    }
}

impl Family for Dcgan64 {
    /// RGB images.
    fn defaults(&self) -> TrainConfig {
        TrainConfig {
            channels: 3,
            ..recipe(ModelKind::Dcgan64)
        }
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--loss", "--channels"]
    }

    fn params(&self) -> &'static [Param] {
        &[
            Param {
                name: "ngf",
                default: "64",
                help: "G feature maps (pytorch/examples' ngf)",
            },
            Param {
                name: "ndf",
                default: "64",
                help: "D feature maps (pytorch/examples' ndf)",
            },
        ]
    }

    fn image_shape(&self, cfg: &TrainConfig) -> (usize, usize, usize) {
        (cfg.channels, DCGAN64_SIZE, DCGAN64_SIZE)
    }

    fn schedule(&self) -> ScheduleKind {
        ScheduleKind::Dcgan
    }

    fn layers(&self, cfg: &TrainConfig, _image_len: usize) -> (Vec<Layer>, Vec<Layer>) {
        (cfg.dcgan64().generator(), cfg.dcgan64().discriminator())
    }

    fn fixed_size(&self) -> bool {
        true
    }

    fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        dcgan_init(net, seed)
    }

    fn validate(&self, cfg: &TrainConfig) -> Result<(), String> {
        cfg.check_params::<usize>(&["ngf", "ndf"])?;
        cfg.dcgan64().validate()?;
        match cfg.data {
            DataSource::Folder { .. } => Ok(()),
            _ => Err("--model dcgan64 trains on 64x64 images: give --data-folder DIR".into()),
        }
    }
}

//! SRGAN (Ledig et al.): super-resolution x4 or x2. G is the SRResNet of `models::srgan`,
//! reading LR images made on the device as `avg_pool2d(HR, scale)`; D the strided-conv
//! discriminator with a map of logits. A `pretrain` stage (`--pretrain-steps`, G alone on the
//! pixel MSE) runs before the `--steps` GAN iterations (`program`). Adam(1e-4, 0.9, 0.999,
//! 1e-8) on both, the rates x0.1 at `--lr-decay-at` (default half of the GAN iterations).
//! 500 images (a fifth of a smaller set) stay out of training; at each log point PSNR and SSIM
//! on them go into losses.csv, with bicubic's for comparison (`quality`), and the sample grids
//! show them as LR, bicubic, SR and HR rows.

pub mod program;
mod quality;

use super::{Column, Family, Grid};
use crate::data::DataSource;
use crate::lr::LrSchedule;
use crate::models::SrganConfig;
use crate::nn::{Net, Shape, TensorKind};
use crate::train::params::Param;
use crate::train::schedule::{GanProgram, NetSpec, OptimizerSpec, Rate, D_FAKE, D_REAL, G_LOSS};
use crate::train::{ModelKind, TrainConfig, TrainError, Trainer};
use program::CONTENT;

pub struct Srgan;

/// Images kept out of training: the held-out batch.
pub const HELD_OUT: usize = 500;
/// Held-out images per run of the sample program.
pub const SAMPLE_CHUNK: usize = 100;
/// Examples (columns) of a sample grid; each has four rows: LR, bicubic, SR, HR.
pub const GRID_EXAMPLES: usize = 8;

pub const SRGAN_COLUMNS: &[Column] = &[
    Column {
        name: "d_loss_real",
        parts: &[(D_REAL, 0)],
    },
    Column {
        name: "d_loss_fake",
        parts: &[(D_FAKE, 0)],
    },
    Column {
        name: "d_acc",
        parts: &[(D_REAL, 1), (D_FAKE, 1)],
    },
    Column {
        name: "g_adv_loss",
        parts: &[(G_LOSS, 0)],
    },
    Column {
        name: "content_loss",
        parts: &[(CONTENT, 0)],
    },
];

const PARAMS: &[Param] = &[
    Param {
        name: "scale",
        default: "4",
        help: "the upscaling factor, 4 or 2 (LR = avg_pool2d(HR, scale))",
    },
    Param {
        name: "hr-size",
        default: "28",
        help: "side of the HR images (28 for MNIST; 64 or 96 crops of --data-folder images)",
    },
    Param {
        name: "g-width",
        default: "64",
        help: "channels of G's convolutions (SRResNet's C)",
    },
    Param {
        name: "res-blocks",
        default: "8",
        help: "G's residual blocks",
    },
    Param {
        name: "d-width",
        default: "64",
        help: "channels of D's first convolutions (doubling as the map halves)",
    },
    Param {
        name: "pretrain-steps",
        default: "2000",
        help: "iterations of G alone on the pixel MSE (SRResNet) before the --steps GAN iterations",
    },
];

/// The model's sizes from the run's config (`validate` has parsed them; 0 fails there).
pub fn srgan_config(cfg: &TrainConfig) -> SrganConfig {
    let get = |name| cfg.param::<usize>(name).unwrap_or(0);
    let (scale, hr) = (get("scale").max(1), get("hr-size"));
    SrganConfig {
        channels: cfg.channels,
        lr_size: hr / scale,
        scale,
        g_width: get("g-width"),
        res_blocks: get("res-blocks"),
        d_width: get("d-width"),
        bn_eps: 1e-5,
        bn_momentum: 0.1,
    }
}

impl Family for Srgan {
    /// Batch 16 (the paper's), 2,000 GAN iterations after 2,000 of pretraining, Adam(1e-4,
    /// 0.9, 0.999, 1e-8), the rates x0.1 after half of the GAN iterations.
    fn defaults(&self) -> TrainConfig {
        TrainConfig {
            model: ModelKind::Srgan,
            steps: 2_000,
            batch_size: 16,
            lr: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            adam_eps: 1e-8,
            lr_schedule: LrSchedule::Step {
                at: vec![1_000],
                gamma: 0.1,
            },
            d_steps: 1,
            g_steps: 1,
            log_every: 200,
            ..TrainConfig::default()
        }
    }

    fn loss_label(&self, _cfg: &TrainConfig) -> &'static str {
        "MSE content loss + 1e-3 BCE adversarial"
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--channels"]
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn image_shape(&self, cfg: &TrainConfig) -> (usize, usize, usize) {
        let hr = cfg.param::<usize>("hr-size").unwrap_or(0);
        (cfg.channels, hr, hr)
    }

    fn fixed_size(&self) -> bool {
        true
    }

    fn nets(&self, cfg: &TrainConfig, _image_len: usize) -> Result<Vec<NetSpec>, TrainError> {
        let m = srgan_config(cfg);
        let (c, lr, hr) = (m.channels, m.lr_size, m.hr_size());
        Ok(vec![
            NetSpec::shaped("g", Shape::image(c, lr, lr), m.generator()),
            NetSpec::shaped("d", Shape::image(c, hr, hr), m.discriminator()),
        ])
    }

    fn program(
        &self,
        cfg: &TrainConfig,
        count: usize,
        image_len: usize,
    ) -> Result<GanProgram, TrainError> {
        let m = srgan_config(cfg);
        let sizes = program::SrganSizes {
            batch: cfg.batch_size,
            channels: m.channels,
            hr: m.hr_size(),
            scale: m.scale,
            sample_count: SAMPLE_CHUNK,
            seed: cfg.seed,
            generated: true,
        };
        let nets = self.nets(cfg, image_len)?;
        let opt = self.optimizers(cfg);
        Ok(program::build(sizes, nets, opt, Some((count, image_len)))?)
    }

    fn optimizers(&self, cfg: &TrainConfig) -> Vec<OptimizerSpec> {
        program::optimizers(cfg.adam(cfg.rate(Rate::D)), cfg.adam(cfg.rate(Rate::G)))
    }

    /// PyTorch's defaults: conv weights and biases U(±1/√fan_in), batch norm 1 and 0, PReLU
    /// slopes 0.25.
    fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        pytorch_init(net, seed)
    }

    fn loss_columns(&self) -> &'static [Column] {
        SRGAN_COLUMNS
    }

    fn sample_inputs(&self, _: &TrainConfig, _: Option<usize>) -> Vec<(&'static str, Vec<f32>)> {
        Vec::new()
    }

    fn grids(&self, _cfg: &TrainConfig) -> Vec<Grid> {
        vec![Grid {
            suffix: String::new(),
            tag: "samples".into(),
            sweep: None,
            tiles: 4 * GRID_EXAMPLES,
            columns: GRID_EXAMPLES,
        }]
    }

    fn validate(&self, cfg: &TrainConfig) -> Result<(), String> {
        let names = ["scale", "hr-size", "g-width", "res-blocks", "d-width"];
        cfg.check_params::<usize>(&names)?;
        cfg.check_params::<usize>(&["pretrain-steps"])?;
        let m = srgan_config(cfg);
        let scale = cfg.param::<usize>("scale").unwrap_or(0);
        if scale != 2 && scale != 4 {
            return Err(format!("--scale {scale}: srgan upscales by 2 or 4"));
        }
        let hr = cfg.param::<usize>("hr-size").unwrap_or(0);
        if hr == 0 || !hr.is_multiple_of(scale) {
            return Err(format!(
                "--hr-size {hr} is not divisible by --scale {scale}: the LR image would not be whole"
            ));
        }
        if hr < 11 {
            return Err(format!("--hr-size {hr} is below 11, SSIM's window"));
        }
        if m.g_width == 0 || m.d_width == 0 {
            return Err("--g-width and --d-width must be at least 1".into());
        }
        if cfg.channels != 1 && cfg.channels != 3 {
            return Err(format!("--channels {}: 1 or 3", cfg.channels));
        }
        match cfg.data {
            DataSource::Folder { .. } => Ok(()),
            _ if hr != 28 || cfg.channels != 1 => Err(format!(
                "MNIST images are 1x28x28: --hr-size {hr} and --channels {} need --data-folder",
                cfg.channels
            )),
            _ => Ok(()),
        }
    }

    fn stages(&self, cfg: &TrainConfig) -> Vec<(String, usize)> {
        let n = cfg.param::<usize>("pretrain-steps").unwrap_or(0);
        vec![("pretrain".into(), n)]
    }

    fn held_out(&self, _cfg: &TrainConfig, count: usize) -> usize {
        HELD_OUT.min(count / 5).max(1)
    }

    fn host_columns(&self, _cfg: &TrainConfig) -> Vec<&'static str> {
        quality::COLUMNS.to_vec()
    }

    fn host_values(&self, t: &mut Trainer) -> Result<Vec<f32>, TrainError> {
        quality::held_out_scores(t)
    }

    fn grid_images(&self, t: &mut Trainer, _grid: &Grid) -> Option<Result<Vec<f32>, TrainError>> {
        Some(quality::grid(t))
    }
}

/// PyTorch's default initialisation of the layers SRGAN uses.
pub fn pytorch_init(net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut params = vec![0.0f32; net.params.len];
    let mut state = vec![0.0f32; net.state.len];
    let mut fan_in = 1;
    for (ti, t) in net.tensors.iter().enumerate() {
        let range = t.offset..t.offset + t.len;
        let last = t.name.rsplit('.').next();
        match (t.kind, last) {
            (TensorKind::Param, Some("weight")) if t.shape.len() >= 2 => {
                fan_in = t.shape[1..].iter().product::<usize>().max(1);
                uniform(&mut params[range], seed, ti, fan_in);
            }
            (TensorKind::Param, Some("bias")) if !t.name.contains("bn") => {
                uniform(&mut params[range], seed, ti, fan_in);
            }
            (TensorKind::Param, Some("weight")) if t.name.contains("prelu") => {
                params[range].fill(0.25)
            }
            (TensorKind::Param, Some("weight")) => params[range].fill(1.0),
            (TensorKind::Running, Some("running_var")) => state[range].fill(1.0),
            _ => {}
        }
    }
    (params, state)
}

fn uniform(out: &mut [f32], seed: u64, tensor: usize, fan_in: usize) {
    let bound = 1.0 / (fan_in as f32).sqrt();
    for (i, p) in out.iter_mut().enumerate() {
        let u = crate::models::uniform(seed, 0x5_26A0 + tensor as u32, i as u32);
        *p = bound * (2.0 * u - 1.0);
    }
}

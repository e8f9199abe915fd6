//! CycleGAN (Zhu et al., 2017): unpaired translation between two image domains A and B with
//! two ResNet generators (`g_ab`, `g_ba`) and two PatchGAN discriminators (`d_a`, `d_b`), LSGAN,
//! cycle and identity L1 terms, and a 50-image pool of past fakes per direction. The nets are
//! `models::CycleganConfig`'s; the iteration is `program`'s; the domains are `data`'s.

pub mod data;
pub mod program;
mod sample;

use super::{Column, Family, Grid};
use crate::data::Dataset;
use crate::lr::LrSchedule;
use crate::models::{dcgan_init, CycleganConfig};
use crate::nn::Net;
use crate::train::params::Param;
use crate::train::schedule::{GanProgram, NetSpec};
use crate::train::{ModelKind, TrainConfig, TrainError, Trainer};
use program::*;

pub struct Cyclegan;

/// Held-out images of each domain the sample grid shows (and whose cycle error losses.csv
/// reports), at most.
pub const GRID_COLUMNS: usize = 16;

const COLUMNS: &[Column] = &[
    Column {
        name: "g_adv_ab",
        parts: &[(G_ADV_AB, 0)],
    },
    Column {
        name: "g_adv_ba",
        parts: &[(G_ADV_BA, 0)],
    },
    Column {
        name: "cycle_a",
        parts: &[(CYCLE_A, 0)],
    },
    Column {
        name: "cycle_b",
        parts: &[(CYCLE_B, 0)],
    },
    Column {
        name: "idt_a",
        parts: &[(IDT_A, 0)],
    },
    Column {
        name: "idt_b",
        parts: &[(IDT_B, 0)],
    },
    Column {
        name: "d_a",
        parts: &[(D_A_REAL, 0), (D_A_FAKE, 0)],
    },
    Column {
        name: "d_b",
        parts: &[(D_B_REAL, 0), (D_B_FAKE, 0)],
    },
];

const PARAMS: &[Param] = &[
    Param {
        name: "data-a",
        default: "embedded",
        help: "domain A: embedded, fashion, optdigits, an IDX directory or an image folder",
    },
    Param {
        name: "data-b",
        default: "optdigits",
        help: "domain B: embedded, fashion, optdigits, an IDX directory or an image folder",
    },
    Param {
        name: "size",
        default: "28",
        help: "side the images of both domains are brought to (a multiple of 4)",
    },
    Param {
        name: "ngf",
        default: "32",
        help: "G feature maps (pytorch/examples' and CycleGAN's ngf)",
    },
    Param {
        name: "ndf",
        default: "32",
        help: "D feature maps (pytorch/examples' and CycleGAN's ndf)",
    },
    Param {
        name: "res-blocks",
        default: "6",
        help: "residual blocks of G",
    },
    Param {
        name: "d-layers",
        default: "2",
        help: "stride-2 convolutions of the PatchGAN D (more for larger images)",
    },
    Param {
        name: "lambda-cycle",
        default: "10",
        help: "weight of the cycle-consistency L1 terms",
    },
    Param {
        name: "lambda-identity",
        default: "0.5",
        help: "weight of the identity L1 terms, relative to --lambda-cycle (0: none)",
    },
];

/// The model of a config: every conv with a bias (the reference's), two downsamplings.
pub fn model(cfg: &TrainConfig) -> CycleganConfig {
    let (channels, size, _) = Cyclegan.image_shape(cfg);
    let get = |name| cfg.param::<usize>(name).unwrap_or(0);
    CycleganConfig {
        channels,
        size,
        ngf: get("ngf"),
        downs: 2,
        res_blocks: get("res-blocks"),
        ndf: get("ndf"),
        strided: get("d-layers"),
        biased: true,
    }
}

/// The program's settings for a config and held-out sets of `held` images each.
pub fn spec(cfg: &TrainConfig, data: Option<[(usize, usize); 2]>, held: usize) -> CycleSpec {
    let lambda = |name| cfg.param::<f32>(name).unwrap_or(0.0);
    CycleSpec {
        model: model(cfg),
        batch: cfg.batch_size,
        adam_g: cfg.adam(cfg.lr_g()),
        adam_d: cfg.adam(cfg.lr_d()),
        lambda_cycle: lambda("lambda-cycle"),
        lambda_identity: lambda("lambda-identity"),
        pool_size: crate::cpu::image_pool::POOL_SIZE,
        seed: cfg.seed,
        data,
        sample_count: held.min(GRID_COLUMNS),
    }
}

impl Family for Cyclegan {
    /// The reference's recipe: batch 1, Adam(2e-4, 0.5, 0.999), the rate constant for the
    /// first half of the run and then linear to 0.
    fn defaults(&self) -> TrainConfig {
        TrainConfig {
            model: ModelKind::Cyclegan,
            loss: crate::train::LossKind::Lsgan,
            steps: 5_000,
            batch_size: 1,
            adam_eps: 1e-8,
            channels: 0,
            lr_schedule: LrSchedule::Linear {
                start: 2_500,
                iters: 2_500,
            },
            ..TrainConfig::default()
        }
    }

    fn loss_label(&self, _cfg: &TrainConfig) -> &'static str {
        "LSGAN loss, cycle and identity L1"
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--channels"]
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    /// `--channels`, or (0) the channels of domain A's images.
    fn image_shape(&self, cfg: &TrainConfig) -> (usize, usize, usize) {
        let size = cfg.param::<usize>("size").unwrap_or(0);
        let channels = match cfg.channels {
            0 => data::domains(cfg)[0].native_channels().unwrap_or(1),
            c => c,
        };
        (channels, size, size)
    }

    fn fixed_size(&self) -> bool {
        true
    }

    /// N(0, 0.02) weights, zero biases (the reference's `init_type normal`).
    fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        dcgan_init(net, seed)
    }

    fn loss_columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn datasets(&self, cfg: &TrainConfig) -> Result<Vec<Dataset>, TrainError> {
        let [a, b] = data::split(cfg)?;
        Ok(vec![a.train, b.train, a.held, b.held])
    }

    /// Its nets are declared by `program::declaration`; none of them makes images from noise,
    /// which is what callers of `nets` (`sample`) want.
    fn nets(&self, _: &TrainConfig, _: usize) -> Result<Vec<NetSpec>, TrainError> {
        Err(TrainError::Config(
            "--model cyclegan makes no images from noise: translate images with \
             `wgpu-gan translate --checkpoint RUN --direction a2b|b2a --input ... --out ...`"
                .into(),
        ))
    }

    fn program(&self, _: &TrainConfig, _: usize, _: usize) -> Result<GanProgram, TrainError> {
        Err(TrainError::Config(
            "--model cyclegan reads two domains (Family::program_for)".into(),
        ))
    }

    fn program_for(&self, cfg: &TrainConfig, sets: &[Dataset]) -> Result<GanProgram, TrainError> {
        let [a, b, held_a, held_b] = sets else {
            return Err(TrainError::Config("cyclegan: expected two domains".into()));
        };
        let data = [(a.count, a.image_len()), (b.count, b.image_len())];
        let held = held_a.count.min(held_b.count);
        Ok(build(&spec(cfg, Some(data), held))?)
    }

    /// The held-out images of A and B the grid translates.
    fn sample_inputs(&self, cfg: &TrainConfig, _: Option<usize>) -> Vec<(&'static str, Vec<f32>)> {
        let Ok([a, b]) = data::split(cfg) else {
            return Vec::new();
        };
        let n = a.held.count.min(b.held.count).min(GRID_COLUMNS);
        let first =
            |ds: &Dataset| crate::eval::classifier::to_unit(&ds.images[..n * ds.image_len()]);
        vec![("sample.a", first(&a.held)), ("sample.b", first(&b.held))]
    }

    /// Rows A, G_AB(A), G_BA(G_AB(A)), B, G_BA(B), G_AB(G_BA(B)).
    fn grids(&self, cfg: &TrainConfig) -> Vec<Grid> {
        let n = self.sample_inputs(cfg, None).first().map_or(1, |(_, v)| {
            let (c, h, w) = cfg.image_shape();
            v.len() / (c * h * w).max(1)
        });
        vec![Grid {
            suffix: String::new(),
            tag: "samples".into(),
            sweep: None,
            tiles: 6 * n,
            columns: n,
        }]
    }

    fn host_columns(&self, _: &TrainConfig) -> Vec<&'static str> {
        vec!["cycle_error_a", "cycle_error_b"]
    }

    fn host_values(&self, t: &mut Trainer) -> Result<Vec<f32>, TrainError> {
        Ok(cycle_errors(&t.sample_grid()?))
    }

    fn validate(&self, cfg: &TrainConfig) -> Result<(), String> {
        cfg.check_params::<usize>(&["size", "ngf", "ndf", "res-blocks", "d-layers"])?;
        cfg.check_params::<f32>(&["lambda-cycle", "lambda-identity"])?;
        if cfg.data != crate::data::DataSource::Embedded {
            return Err(
                "--model cyclegan reads two domains: give --data-a and --data-b, not --data, \
                 --data-folder or --dataset"
                    .into(),
            );
        }
        data::check_channels(cfg)?;
        check_model(cfg)
    }
}

fn check_model(cfg: &TrainConfig) -> Result<(), String> {
    let m = model(cfg);
    if m.size < 8 || !m.size.is_multiple_of(4) {
        return Err(format!(
            "--size {}: CycleGAN's G halves the images twice; give a multiple of 4, 8 or more",
            m.size
        ));
    }
    if m.ngf == 0 || m.ndf == 0 || m.strided == 0 {
        return Err("--ngf, --ndf and --d-layers must be at least 1".into());
    }
    let map = crate::nn::graph::wire(
        &m.discriminator(),
        crate::nn::Shape::image(m.channels, m.size, m.size),
    )
    .map(|w| w.shapes[w.out().index()]);
    match map {
        Ok(s) if s.h >= 2 && s.w >= 2 => {}
        Ok(s) => {
            return Err(format!(
                "--d-layers {}: D's patch map on {}x{} images is {}x{}; it must be at least 2x2 (fewer --d-layers)",
                m.strided, m.size, m.size, s.h, s.w
            ))
        }
        Err(e) => return Err(format!("--d-layers {}: {e}", m.strided)),
    }
    for name in ["lambda-cycle", "lambda-identity"] {
        let v: f32 = cfg.param(name).map_err(|e| e.to_string())?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!(
                "--{name} must be a finite number, 0 or more (got {v})"
            ));
        }
    }
    Ok(())
}

/// The held-out cycle errors mean |G_BA(G_AB(a)) - a| and mean |G_AB(G_BA(b)) - b| from the
/// sample program's six rows.
fn cycle_errors(rows: &[f32]) -> Vec<f32> {
    let row = rows.len() / 6;
    let err = |x: usize, rec: usize| {
        let (x, rec) = (
            &rows[x * row..(x + 1) * row],
            &rows[rec * row..(rec + 1) * row],
        );
        let sum: f64 = x.iter().zip(rec).map(|(a, b)| (a - b).abs() as f64).sum();
        (sum / row.max(1) as f64) as f32
    };
    vec![err(0, 2), err(3, 5)]
}

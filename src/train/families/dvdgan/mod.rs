//! DVD-GAN (`--model dvdgan`): video of moving MNIST digits made on the device, a ConvGRU
//! generator, a spatial discriminator on random frames and a temporal one on the whole
//! (pooled) clip, spectral norm on both, hinge losses (issue 16). `generator` and `program`
//! record the iteration; `samples` writes the animated outputs.

pub mod clips;
pub mod eval;
mod generator;
pub mod program;
pub mod samples;

pub use generator::G_NETS;
pub use program::{VideoSchedule, D_S_FAKE, D_S_REAL, D_T_FAKE, D_T_REAL, G_S, G_T};

use super::{Column, Family};
use crate::models::{dvdgan_init, halvings, DvdganConfig};
use crate::nn::{Net, Shape};
use crate::ops::moving_mnist::MovingMnist;
use crate::ops::{Activation, AdamConfig};
use crate::train::params::Param;
use crate::train::schedule::{GanProgram, NetSpec, OptimizerSpec, Rate};
use crate::train::{ModelKind, TrainConfig, TrainError};

pub struct Dvdgan;

const PARAMS: &[Param] = &[
    Param { name: "size", default: "32", help: "canvas side of the clips (16, 32, 64, ...: halves down to 4). 64 with --digits 2 --frames 16 is the canonical moving MNIST; it costs about 8x the compute and memory of the default (4x the pixels, 2x the frames)" },
    Param { name: "frames", default: "8", help: "frames per clip (2 or more; a multiple of 4 with the temporal D)" },
    Param { name: "digits", default: "1", help: "digits per clip" },
    Param { name: "digit-size", default: "0", help: "side the digits are scaled to (0: 14 on a 32 canvas, 28 on 64, size·7/16 otherwise)" },
    Param { name: "speed", default: "2", help: "pixels per frame a digit moves" },
    Param { name: "g-width", default: "16", help: "G: 8x this many channels in the ConvGRU, halving per up block" },
    Param { name: "d-width", default: "16", help: "D: channels of the first down block, doubling per block" },
    Param { name: "ds-frames", default: "4", help: "frames of each clip the spatial D sees (drawn at random)" },
    Param { name: "no-temporal-d", default: "false", help: "train without the temporal D (ablation)" },
    Param { name: "no-spatial-d", default: "false", help: "train without the spatial D (ablation)" },
];

/// The run's clip and model settings, parsed (validate has checked them).
pub struct Video {
    pub model: DvdganConfig,
    pub clips: MovingMnist,
    pub spatial: bool,
    pub temporal: bool,
}

pub fn video(cfg: &TrainConfig) -> Result<Video, TrainError> {
    let size: usize = cfg.param("size")?;
    let frames: usize = cfg.param("frames")?;
    let widths = (cfg.param("g-width")?, cfg.param("d-width")?);
    let mut model = DvdganConfig::recipe(size, frames, widths);
    model.latent = cfg.latent_dim;
    model.ds_frames = cfg.param("ds-frames")?;
    let digit_size = match cfg.param::<usize>("digit-size")? {
        0 if size == 64 => 28,
        0 => (size * 7 / 16).max(1),
        d => d,
    };
    let clips = MovingMnist {
        clips: cfg.batch_size,
        frames,
        size,
        digits: cfg.param("digits")?,
        digit_size,
        speed: cfg.param("speed")?,
    };
    Ok(Video {
        model,
        clips,
        spatial: !cfg.param::<bool>("no-spatial-d")?,
        temporal: !cfg.param::<bool>("no-temporal-d")?,
    })
}

fn check(v: &Video) -> Result<(), String> {
    let m = &v.model;
    if m.size < 16 || halvings(m.size, 4).is_none() {
        return Err(format!(
            "--size {}: the canvas must halve down to 4 (16, 32, 64, ...)",
            m.size
        ));
    }
    if m.frames < 2 {
        return Err(format!(
            "--frames {}: a clip needs at least 2 frames",
            m.frames
        ));
    }
    if v.temporal && !m.frames.is_multiple_of(4) {
        return Err(format!(
            "--frames {}: the temporal D halves time twice, so it needs a multiple of 4 (or --no-temporal-d true)",
            m.frames
        ));
    }
    if m.ds_frames == 0 || m.ds_frames > m.frames {
        return Err(format!(
            "--ds-frames {} must be between 1 and --frames ({})",
            m.ds_frames, m.frames
        ));
    }
    if !v.spatial && !v.temporal {
        return Err("--no-spatial-d and --no-temporal-d together leave no discriminator".into());
    }
    if v.clips.digit_size > m.size {
        return Err(format!(
            "--digit-size {} is larger than the canvas (--size {})",
            v.clips.digit_size, m.size
        ));
    }
    v.clips.validate().map_err(|e| format!("moving MNIST: {e}"))
}

impl Family for Dvdgan {
    /// Clark et al.'s recipe, shrunk: batch 16, Adam G 1e-4, D 4e-4, betas (0, 0.999), two D
    /// steps per G step, 5,000 iterations.
    fn defaults(&self) -> TrainConfig {
        TrainConfig {
            model: ModelKind::Dvdgan,
            steps: 5_000,
            batch_size: 16,
            latent_dim: 120,
            lr: 1e-4,
            lr_g: Some(1e-4),
            lr_d: Some(4e-4),
            beta1: 0.0,
            beta2: 0.999,
            adam_eps: 1e-8,
            d_steps: 2,
            g_steps: 1,
            g_ema: 0.999,
            sample_every: 250,
            checkpoint_every: 500,
            log_every: 25,
            ..TrainConfig::default()
        }
    }

    fn loss_label(&self, _cfg: &TrainConfig) -> &'static str {
        "hinge loss, spectral norm"
    }

    fn flags(&self) -> &'static [&'static str] {
        &["--d-steps"]
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn nets(&self, cfg: &TrainConfig, _image_len: usize) -> Result<Vec<NetSpec>, TrainError> {
        let v = video(cfg)?;
        Ok(nets(&v.model, (v.spatial, v.temporal), cfg.g_ema))
    }

    /// One optimizer over the D nets, one over G's five.
    fn optimizers(&self, cfg: &TrainConfig) -> Vec<OptimizerSpec> {
        let v = video(cfg).ok();
        let (s, t) = v.map_or((true, true), |v| (v.spatial, v.temporal));
        optimizers((s, t), cfg.adam(cfg.lr_d()), cfg.adam(cfg.lr_g()))
    }

    fn program(
        &self,
        cfg: &TrainConfig,
        count: usize,
        image_len: usize,
    ) -> Result<GanProgram, TrainError> {
        let v = video(cfg)?;
        let nets = nets(&v.model, (v.spatial, v.temporal), cfg.g_ema);
        let s = VideoSchedule {
            model: v.model,
            batch: cfg.batch_size,
            d_steps: cfg.d_steps,
            spatial: v.spatial,
            temporal: v.temporal,
            seed: cfg.seed,
            generated: true,
            clips: v.clips,
            sample_count: cfg.grid() * cfg.grid(),
        };
        let groups = self.optimizers(cfg);
        Ok(program::build(&s, nets, groups, Some((count, image_len)))?)
    }

    fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        dvdgan_init(net, seed)
    }

    fn loss_columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn write_samples(
        &self,
        cfg: &TrainConfig,
        sample: &mut dyn FnMut() -> Result<Vec<f32>, TrainError>,
        dir: &std::path::Path,
        step: usize,
    ) -> Option<Result<std::path::PathBuf, TrainError>> {
        Some(sample().and_then(|clips| samples::write_step(cfg, &clips, dir, step)))
    }

    fn write_sample_file(
        &self,
        ckpt: &crate::checkpoint::Checkpoint,
        req: &super::SampleRequest,
        gpu: &crate::gpu::GpuOptions,
    ) -> Option<Result<(), TrainError>> {
        let (out, n, seed) = (req.out, req.count, req.seed);
        Some(clips::write_file(ckpt, out, n, seed, req.device, gpu))
    }

    fn evaluate(
        &self,
        ckpt: &crate::checkpoint::Checkpoint,
        opts: &crate::eval::EvalOptions,
        gpu: &crate::gpu::GpuOptions,
        log: &mut dyn FnMut(&str),
    ) -> Option<Result<String, TrainError>> {
        Some(evaluate_video(ckpt, opts, gpu, log))
    }

    fn validate(&self, cfg: &TrainConfig) -> Result<(), String> {
        cfg.check_params::<usize>(&[
            "size",
            "frames",
            "digits",
            "digit-size",
            "g-width",
            "d-width",
            "ds-frames",
        ])?;
        cfg.check_params::<f32>(&["speed"])?;
        cfg.check_params::<bool>(&["no-temporal-d", "no-spatial-d"])?;
        if cfg.eval_every > 0 {
            return Err("--eval-every: dvdgan has its own `wgpu-gan eval` for video".into());
        }
        super::needs_labels(cfg)?;
        check(&video(cfg).map_err(|e| e.to_string())?)
    }
}

/// losses.csv's columns: each discriminator's hinge loss on reals and on fakes, G's two terms.
pub const COLUMNS: &[Column] = &[
    Column {
        name: "d_s_loss_real",
        parts: &[(D_S_REAL, 0)],
    },
    Column {
        name: "d_s_loss_fake",
        parts: &[(D_S_FAKE, 0)],
    },
    Column {
        name: "d_t_loss_real",
        parts: &[(D_T_REAL, 0)],
    },
    Column {
        name: "d_t_loss_fake",
        parts: &[(D_T_FAKE, 0)],
    },
    Column {
        name: "g_s_loss",
        parts: &[(G_S, 0)],
    },
    Column {
        name: "g_t_loss",
        parts: &[(G_T, 0)],
    },
];

/// G's five nets (each with the moving average `ema`), then D_S and D_T's two as enabled.
pub fn nets(m: &DvdganConfig, (spatial, temporal): (bool, bool), ema: f32) -> Vec<NetSpec> {
    let l = m.state_len();
    let c0 = m.g_channels[0];
    let gate_in = Shape::image(2 * c0, m.base, m.base);
    let mut v = vec![
        NetSpec::shaped(G_NETS[0], Shape::image(c0, m.base, m.base), m.frames_net()),
        NetSpec::new(G_NETS[1], m.latent, m.fc()),
        NetSpec::shaped(G_NETS[2], gate_in, m.gate("conv_r", Activation::Sigmoid)),
        NetSpec::shaped(G_NETS[3], gate_in, m.gate("conv_u", Activation::Sigmoid)),
        NetSpec::shaped(G_NETS[4], gate_in, m.gate("conv_c", Activation::Tanh)),
    ];
    debug_assert_eq!(l, c0 * m.base * m.base);
    v = v.into_iter().map(|n| n.with_ema(ema)).collect();
    if spatial {
        v.push(NetSpec::shaped(
            "d_s",
            Shape::image(1, m.size, m.size),
            m.spatial(),
        ));
    }
    if temporal {
        let clip = Shape::video(1, m.frames, m.size, m.size);
        v.push(NetSpec::shaped("d_t", clip, m.temporal_3d()));
        let (c, _, side) = m.temporal_fold();
        v.push(NetSpec::shaped(
            "d_t2",
            Shape::image(c, side, side),
            m.temporal_2d(),
        ));
    }
    v
}

/// `d` over the enabled discriminators' nets at `d`, `g` over G's five at `g`.
pub fn optimizers(
    (spatial, temporal): (bool, bool),
    d: AdamConfig,
    g: AdamConfig,
) -> Vec<OptimizerSpec> {
    let mut d_nets = Vec::new();
    if spatial {
        d_nets.push("d_s".to_string());
    }
    if temporal {
        d_nets.extend(["d_t".to_string(), "d_t2".to_string()]);
    }
    vec![
        OptimizerSpec {
            name: "d".into(),
            nets: d_nets,
            rate: Rate::D,
            adam: d,
        },
        OptimizerSpec {
            name: "g".into(),
            nets: G_NETS.iter().map(|s| s.to_string()).collect(),
            rate: Rate::G,
            adam: g,
        },
    ]
}

fn evaluate_video(
    ckpt: &crate::checkpoint::Checkpoint,
    opts: &crate::eval::EvalOptions,
    gpu: &crate::gpu::GpuOptions,
    log: &mut dyn FnMut(&str),
) -> Result<String, TrainError> {
    let cfg = crate::train::checkpoint_config(ckpt)?;
    let explicit = opts.classifier.as_deref();
    let (c, path) = crate::eval::load_or_train(&cfg.data, explicit, opts.device, gpu, log)?;
    crate::eval::check_classifier(&c, &path, (1, 28, 28))?;
    let mut classify = crate::eval::Classify::new(&c, opts.device, gpu)?;
    let report = eval::evaluate(ckpt, &mut classify, opts.count, opts.seed, opts.device, gpu)?;
    Ok(format!(
        "classifier: {} ({:.2}% held-out accuracy)\n{report}",
        path.display(),
        100.0 * c.accuracy
    ))
}

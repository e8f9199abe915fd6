//! `wgpu-gan eval` for video, against real clips made the same way (the moving-MNIST CPU
//! twin): a per-frame Fréchet classifier distance (each frame cropped around the digit's
//! centroid, `digit_size` wide, and scaled to the classifier's 28x28), identity consistency
//! (the share of clips whose frames the classifier gives one class, beside the real clips'
//! share, and the share of frames that keep their first frame's class), and motion: the mean
//! speed of the digit's centroid in px/frame, the share of static clips (under `STATIC_SPEED`),
//! and smoothness (the mean change of the centroid's velocity, px/frame², bounces included).

use super::clips::sample_clips;
use super::samples::real_clips;
use super::video;
use crate::checkpoint::Checkpoint;
use crate::eval::{frechet, Classify, Outputs};
use crate::exec::DeviceKind;
use crate::gpu::GpuOptions;
use crate::train::checkpoint_config;
use crate::train::{TrainConfig, TrainError};

/// A clip whose centroid moves less than this (px/frame, on average) is static.
pub const STATIC_SPEED: f64 = 0.25;
/// The classifier's input side.
const SIDE: usize = 28;
/// Most clips `eval` generates.
pub const MAX_CLIPS: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub struct VideoScores {
    pub clips: usize,
    pub fcd: f64,
    pub identity: f64,
    /// The real clips' identity consistency, the reference for `identity`.
    pub real_identity: f64,
    /// The share of frames that get their clip's first frame's class (a softer figure than
    /// `identity`: how far along the clip the digit drifts).
    pub frames_kept: f64,
    pub speed: f64,
    pub static_share: f64,
    pub smoothness: f64,
}

/// Motion of `clips` (n, t, s, s): (mean speed, static share, smoothness).
pub fn motion(clips: &[f32], (n, t, s): (usize, usize, usize)) -> (f64, f64, f64) {
    let (mut speed, mut statics, mut smooth) = (0.0, 0, 0.0);
    for clip in clips.chunks_exact(t * s * s).take(n) {
        let c: Vec<(f64, f64)> = clip.chunks_exact(s * s).map(|f| centroid(f, s)).collect();
        let v: Vec<(f64, f64)> = c
            .windows(2)
            .map(|w| (w[1].0 - w[0].0, w[1].1 - w[0].1))
            .collect();
        let clip_speed = mean(v.iter().map(|d| d.0.hypot(d.1)));
        let accel = v
            .windows(2)
            .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1));
        speed += clip_speed;
        smooth += mean(accel);
        statics += usize::from(clip_speed < STATIC_SPEED);
    }
    let n = n.max(1) as f64;
    (speed / n, statics as f64 / n, smooth / n)
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (sum, k) = v.fold((0.0, 0usize), |(s, k), x| (s + x, k + 1));
    if k == 0 {
        0.0
    } else {
        sum / k as f64
    }
}

/// The intensity-weighted centroid (x, y) of a frame in [-1, 1] (ink = (v + 1) / 2); the
/// canvas centre for a blank frame.
pub fn centroid(frame: &[f32], s: usize) -> (f64, f64) {
    let (mut w, mut x, mut y) = (0.0, 0.0, 0.0);
    for (i, &v) in frame.iter().enumerate() {
        let ink = ((v as f64 + 1.0) / 2.0).clamp(0.0, 1.0);
        w += ink;
        x += ink * (i % s) as f64;
        y += ink * (i / s) as f64;
    }
    let mid = (s as f64 - 1.0) / 2.0;
    if w < 1e-6 {
        (mid, mid)
    } else {
        (x / w, y / w)
    }
}

/// Each frame's `box_side` square around its centroid (clamped to the canvas), scaled to
/// 28x28 by bilinear sampling: (n·t, 28·28) in [-1, 1].
pub fn crops(clips: &[f32], s: usize, box_side: usize) -> Vec<f32> {
    let b = box_side.min(s) as f64;
    let mut out = Vec::with_capacity(clips.len() / (s * s) * SIDE * SIDE);
    for frame in clips.chunks_exact(s * s) {
        let (cx, cy) = centroid(frame, s);
        let x0 = (cx - (b - 1.0) / 2.0).clamp(0.0, s as f64 - b);
        let y0 = (cy - (b - 1.0) / 2.0).clamp(0.0, s as f64 - b);
        for k in 0..SIDE * SIDE {
            let u = x0 + ((k % SIDE) as f64 + 0.5) * b / SIDE as f64 - 0.5;
            let v = y0 + ((k / SIDE) as f64 + 0.5) * b / SIDE as f64 - 0.5;
            out.push(bilinear(frame, s, u, v));
        }
    }
    out
}

fn bilinear(f: &[f32], s: usize, x: f64, y: f64) -> f32 {
    let at = |x: i64, y: i64| {
        let (x, y) = (
            x.clamp(0, s as i64 - 1) as usize,
            y.clamp(0, s as i64 - 1) as usize,
        );
        f[y * s + x] as f64
    };
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    (top * (1.0 - fy) + bottom * fy) as f32
}

/// The share of clips (of `t` frames each) whose frames all get one class.
pub fn identity(out: &Outputs, t: usize) -> f64 {
    let p: Vec<usize> = out.predictions().into_iter().map(|(c, _)| c).collect();
    let clips: Vec<&[usize]> = p.chunks_exact(t.max(1)).collect();
    let same = clips
        .iter()
        .filter(|c| c.iter().all(|&k| k == c[0]))
        .count();
    same as f64 / clips.len().max(1) as f64
}

/// The share of frames (of clips of `t` frames) whose class is their clip's first frame's.
pub fn frames_kept(out: &Outputs, t: usize) -> f64 {
    let p: Vec<usize> = out.predictions().into_iter().map(|(c, _)| c).collect();
    let kept: usize = p
        .chunks_exact(t.max(1))
        .map(|c| c.iter().filter(|&&k| k == c[0]).count())
        .sum();
    kept as f64 / p.len().max(1) as f64
}

/// Every figure of `fake` clips against `real` ones, both (n, t, s, s).
pub fn score(
    classify: &mut Classify,
    (real, fake): (&[f32], &[f32]),
    (t, s, box_side): (usize, usize, usize),
) -> Result<VideoScores, TrainError> {
    let n = fake.len() / (t * s * s);
    let r = classify.run(&crops(real, s, box_side))?;
    let f = classify.run(&crops(fake, s, box_side))?;
    let (mr, cr) = frechet::gaussian(&r.features, r.feature_len);
    let (mf, cf) = frechet::gaussian(&f.features, f.feature_len);
    let (speed, static_share, smoothness) = motion(fake, (n, t, s));
    Ok(VideoScores {
        clips: n,
        fcd: frechet::frechet_distance(&mr, &cr, &mf, &cf),
        identity: identity(&f, t),
        real_identity: identity(&r, t),
        frames_kept: frames_kept(&f, t),
        speed,
        static_share,
        smoothness,
    })
}

/// `eval` of a dvdgan checkpoint: `count` clips (at most MAX_CLIPS) against as many real ones;
/// the report names the real clips' own motion for comparison.
pub fn evaluate(
    ckpt: &Checkpoint,
    classify: &mut Classify,
    count: usize,
    seed: u64,
    device: DeviceKind,
    gpu: &GpuOptions,
) -> Result<String, TrainError> {
    let cfg = checkpoint_config(ckpt)?;
    let n = count.clamp(2, MAX_CLIPS);
    let (fake, _) = sample_clips(ckpt, n, seed, device, gpu)?;
    report(&cfg, classify, &fake)
}

/// `eval`'s report on clips (n, T, S, S) made outside a checkpoint too (a reference run's),
/// against as many real clips of `cfg`'s, made the same way every time.
pub fn report(
    cfg: &TrainConfig,
    classify: &mut Classify,
    fake: &[f32],
) -> Result<String, TrainError> {
    let v = video(cfg)?;
    let (t, s, box_side) = (v.model.frames, v.model.size, v.clips.digit_size);
    let n = fake.len() / (t * s * s);
    let (real, _) = real_clips(cfg, n, 1, 0xE7A1)?;
    let g = score(classify, (&real, fake), (t, s, box_side))?;
    let (real_speed, real_static, real_smooth) = motion(&real, (n, t, s));
    Ok(format!(
        "clips:      {n} generated, {n} real ({t} frames of {s}x{s})\n\
         per-frame Fréchet classifier distance: {:.3}\n\
         identity consistency: {:.1}% of clips keep one class (real {:.1}%); \
         {:.1}% of frames keep their first frame's class\n\
         motion: speed {:.3} px/frame (real {real_speed:.3}), static {:.1}% (real {:.1}%), \
         smoothness {:.3} px/frame² (real {real_smooth:.3})\n",
        g.fcd,
        100.0 * g.identity,
        100.0 * g.real_identity,
        100.0 * g.frames_kept,
        g.speed,
        100.0 * g.static_share,
        100.0 * real_static,
        g.smoothness,
    ))
}

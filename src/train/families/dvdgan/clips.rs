//! Clips from a dvdgan checkpoint: G's five nets (their moving averages where the run kept
//! them) planned alone, fed host noise in chunks; `sample --out clips.npy|clips.gif` writes
//! them as [N, T, H, W].

use super::generator::{GIds, GPass, G_NETS};
use super::samples::save_clips_gif;
use super::{nets, video};
use crate::checkpoint::Checkpoint;
use crate::exec::{executor, DeviceKind, Executor};
use crate::gpu::GpuOptions;
use crate::program::{Program, View};
use crate::train::checkpoint_config;
use crate::train::schedule::{MetricLayout, Planner};
use crate::train::{TrainConfig, TrainError};
use std::path::Path;

/// Clips per program run.
const CHUNK: usize = 32;
/// Most clips a .gif grid shows.
pub const MAX_GIF_CLIPS: usize = 256;

/// G planned for chunks of clips, with a checkpoint's weights.
pub struct ClipSampler {
    exec: Box<dyn Executor>,
    z: View,
    out: View,
    pub batch: usize,
    latent: usize,
    /// Ops of the program.
    ops: usize,
    /// (frames, side).
    pub shape: (usize, usize),
}

impl ClipSampler {
    pub fn new(
        ckpt: &Checkpoint,
        cfg: &TrainConfig,
        count: usize,
        device: DeviceKind,
        gpu: &GpuOptions,
    ) -> Result<Self, TrainError> {
        let v = video(cfg)?;
        let batch = count.clamp(1, CHUNK);
        let g: Vec<_> = nets(&v.model, (false, false), cfg.g_ema)
            .into_iter()
            .take(G_NETS.len())
            .collect();
        let layout = MetricLayout {
            len: 1,
            nonfinite: 0,
        };
        let mut p = Planner::new(Program::new(), g, Vec::new(), layout, cfg.seed)?;
        let ids = GIds::find(&p)?;
        let z = p.prog.tensor("noise", batch * v.model.latent);
        let pass = GPass::new(&mut p, ids, (batch, v.model.frames), "sample", false);
        p.prog.set_phase("sample");
        let out = pass.forward(&mut p, z, false)?;
        let mut exec = executor(device, gpu, &p.prog)?;
        for e in &p.nets {
            ckpt.restore_net(exec.as_mut(), &e.net, false)?;
            if cfg.g_ema > 0.0 {
                ckpt.restore_ema(exec.as_mut(), &e.net)?;
            }
        }
        let ops = p.prog.ops.len();
        Ok(Self {
            exec,
            z,
            out,
            batch,
            latent: v.model.latent,
            ops,
            shape: (v.model.frames, v.model.size),
        })
    }

    /// Clips `batch·k .. batch·(k+1)`: (batch, T, S, S) in [-1, 1], from noise keyed by
    /// `seed` and k.
    pub fn chunk(&mut self, seed: u64, k: usize) -> Result<Vec<f32>, TrainError> {
        let noise = crate::models::normal(seed, 0xC11B_0000 + k as u32, self.batch * self.latent);
        self.exec.write_f32(self.z, &noise);
        self.exec.run(0..self.ops, 1)?;
        Ok(self.exec.read_f32(self.out)?)
    }
}

/// `count` clips (count, T, S, S) from `ckpt`.
pub fn sample_clips(
    ckpt: &Checkpoint,
    count: usize,
    seed: u64,
    device: DeviceKind,
    gpu: &GpuOptions,
) -> Result<(Vec<f32>, (usize, usize)), TrainError> {
    let cfg = checkpoint_config(ckpt)?;
    let mut s = ClipSampler::new(ckpt, &cfg, count, device, gpu)?;
    let (t, side) = s.shape;
    let per_clip = t * side * side;
    let mut clips = Vec::with_capacity(count * per_clip);
    let mut k = 0;
    while clips.len() < count * per_clip {
        clips.extend(s.chunk(seed, k)?);
        k += 1;
    }
    clips.truncate(count * per_clip);
    Ok((clips, (t, side)))
}

/// `sample`'s file: `.npy` [N, T, H, W] or a looping `.gif` grid.
pub fn write_file(
    ckpt: &Checkpoint,
    out: &Path,
    count: usize,
    seed: u64,
    device: DeviceKind,
    gpu: &GpuOptions,
) -> Result<(), TrainError> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    if ext == "gif" && count > MAX_GIF_CLIPS {
        return Err(TrainError::Config(format!("--count {count}: a .gif grid shows at most {MAX_GIF_CLIPS} clips; write a .npy for more")));
    }
    if ext != "npy" && ext != "gif" {
        return Err(TrainError::Config(format!(
            "--out {}: a dvdgan checkpoint writes clips to .npy or .gif",
            out.display()
        )));
    }
    let (clips, (t, side)) = sample_clips(ckpt, count, seed, device, gpu)?;
    match ext.as_str() {
        "gif" => save_clips_gif(out, &clips, (count, t, side))?,
        _ => crate::io::npy::write_npy(out, &clips, &[count, t, side, side])?,
    }
    Ok(())
}

//! `wgpu-gan upscale`: an srgan checkpoint's generator on LR images of any size. G is fully
//! convolutional but planned for one input size, so it runs on LR tiles of TILE_FACTOR times
//! its training LR side (7 -> 28 pixels at x4 on MNIST: fewer tiles, fewer borders); a larger
//! image is cut into such tiles overlapping by a quarter tile, each super-resolved, and the SR
//! tiles blended with a tent weight (highest at a tile's centre, falling towards its edges) so
//! no seam shows; a smaller image is padded by repeating its edges, and the result cropped.

use crate::checkpoint::Checkpoint;
use crate::exec::{executor, DeviceKind, Executor};
use crate::gpu::GpuOptions;
use crate::models::SrganConfig;
use crate::nn::{Net, Shape};
use crate::program::{Program, View};
use crate::train::families::srgan::srgan_config;
use crate::train::{ModelKind, TrainError};

/// Tiles per run of G.
pub const TILE_BATCH: usize = 8;
/// LR tile side over the training LR side.
pub const TILE_FACTOR: usize = 4;

/// A checkpoint's SRGAN generator, planned for batches of LR tiles.
pub struct Upscaler {
    exec: Box<dyn Executor>,
    ops: usize,
    input: View,
    out: View,
    /// G's sizes: channels, LR tile side (`lr_size`), scale.
    pub model: SrganConfig,
}

/// Where tiles of `tile` start along a side of `n >= tile` pixels: every three quarters of a
/// tile, the last flush with the end.
pub fn tile_starts(n: usize, tile: usize) -> Vec<usize> {
    let stride = (tile - tile / 4).max(1);
    let mut starts: Vec<usize> = (0..n.saturating_sub(tile)).step_by(stride).collect();
    starts.push(n.saturating_sub(tile));
    starts.dedup();
    starts
}

/// The blend weight of SR pixel `i` of a tile of `n` pixels: a tent, positive everywhere.
fn tent(i: usize, n: usize) -> f32 {
    let d = (i as f32 + 0.5).min(n as f32 - i as f32 - 0.5);
    d / n as f32
}

impl Upscaler {
    /// G of the srgan checkpoint `ckpt` on `device`, on tiles of TILE_FACTOR times its
    /// training LR side.
    pub fn new(
        ckpt: &Checkpoint,
        device: DeviceKind,
        gpu: &GpuOptions,
    ) -> Result<Self, TrainError> {
        Self::with_tile(ckpt, None, TILE_BATCH, (device, gpu))
    }

    /// G of `ckpt` on `batch` LR tiles of side `tile` (default TILE_FACTOR times its training
    /// LR side).
    pub fn with_tile(
        ckpt: &Checkpoint,
        tile: Option<usize>,
        batch: usize,
        (device, gpu): (DeviceKind, &GpuOptions),
    ) -> Result<Self, TrainError> {
        let cfg = crate::sample::checkpoint_config(ckpt)?;
        if cfg.model != ModelKind::Srgan {
            return Err(TrainError::Config(format!(
                "{} is a {} checkpoint, not an srgan one: upscale needs `train --model srgan`",
                ckpt.path.display(),
                cfg.model_name()
            )));
        }
        let mut model = srgan_config(&cfg);
        model.lr_size = tile.unwrap_or(model.lr_size * TILE_FACTOR);
        let (c, l) = (model.channels, model.lr_size);
        let mut prog = Program::new();
        let net = Net::shaped(&mut prog, "g", Shape::image(c, l, l), model.generator())
            .map_err(TrainError::Config)?;
        let acts = net.acts(&mut prog, batch, "upscale");
        let input = prog.tensor("upscale.lr", batch * c * l * l);
        let out = net.forward(&mut prog, &acts, input, false)?;
        let mut exec = executor(device, gpu, &prog)?;
        ckpt.restore_net(exec.as_mut(), &net, false)?;
        Ok(Self {
            exec,
            ops: prog.ops.len(),
            input,
            out,
            model,
        })
    }

    /// SR of up to a batch of LR tiles, each (C, L, L) in [-1, 1].
    fn run(&mut self, tiles: &[f32]) -> Result<Vec<f32>, TrainError> {
        let mut padded = tiles.to_vec();
        padded.resize(self.input.len, 0.0);
        self.exec.write_f32(self.input, &padded);
        self.exec.run(0..self.ops, 1)?;
        Ok(self.exec.read_f32(self.out)?)
    }

    /// The SR image, (C, h·scale, w·scale), of a (C, h, w) image `img` in [-1, 1].
    pub fn upscale(&mut self, img: &[f32], (h, w): (usize, usize)) -> Result<Vec<f32>, TrainError> {
        let (c, l, s) = (self.model.channels, self.model.lr_size, self.model.scale);
        let (ph, pw) = (h.max(l), w.max(l));
        let padded = pad_edges(img, c, (h, w), (ph, pw));
        let (ys, xs) = (tile_starts(ph, l), tile_starts(pw, l));
        let origins: Vec<(usize, usize)> = ys
            .iter()
            .flat_map(|&y| xs.iter().map(move |&x| (y, x)))
            .collect();
        let (oh, ow, ts) = (ph * s, pw * s, l * s);
        let mut sum = vec![0.0f32; c * oh * ow];
        let mut weight = vec![0.0f32; oh * ow];
        let batch_len = self.input.len / (c * l * l);
        for batch in origins.chunks(batch_len) {
            let mut tiles = Vec::with_capacity(batch.len() * c * l * l);
            for &(y, x) in batch {
                for ch in 0..c {
                    for r in 0..l {
                        let row = (ch * ph + y + r) * pw + x;
                        tiles.extend_from_slice(&padded[row..row + l]);
                    }
                }
            }
            let sr = self.run(&tiles)?;
            for (k, &(y, x)) in batch.iter().enumerate() {
                let tile = &sr[k * c * ts * ts..(k + 1) * c * ts * ts];
                for r in 0..ts {
                    for q in 0..ts {
                        let wt = tent(r, ts) * tent(q, ts);
                        let at = (y * s + r) * ow + x * s + q;
                        weight[at] += wt;
                        for ch in 0..c {
                            sum[ch * oh * ow + at] += wt * tile[(ch * ts + r) * ts + q];
                        }
                    }
                }
            }
        }
        let (fh, fw) = (h * s, w * s);
        let mut out = Vec::with_capacity(c * fh * fw);
        for ch in 0..c {
            for r in 0..fh {
                for q in 0..fw {
                    let at = r * ow + q;
                    out.push(sum[ch * oh * ow + at] / weight[at]);
                }
            }
        }
        Ok(out)
    }
}

/// `img` (C, h, w) padded to (C, ph, pw) by repeating its last row and column.
fn pad_edges(img: &[f32], c: usize, (h, w): (usize, usize), (ph, pw): (usize, usize)) -> Vec<f32> {
    let mut out = Vec::with_capacity(c * ph * pw);
    for ch in 0..c {
        for r in 0..ph {
            for q in 0..pw {
                out.push(img[(ch * h + r.min(h - 1)) * w + q.min(w - 1)]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_pixel_and_end_flush() {
        for (n, tile) in [(7, 7), (8, 7), (20, 7), (29, 14), (100, 7)] {
            let starts = tile_starts(n, tile);
            assert_eq!(*starts.last().unwrap(), n - tile, "{n} {tile}");
            let covered = (0..n).all(|i| starts.iter().any(|&s| (s..s + tile).contains(&i)));
            assert!(covered, "{n} {tile}: {starts:?}");
            // Neighbours overlap, so every seam is blended.
            assert!(starts.windows(2).all(|p| p[1] - p[0] < tile), "{starts:?}");
        }
    }

    #[test]
    fn edge_padding_repeats_the_last_row_and_column() {
        let img = [1.0, 2.0, 3.0, 4.0];
        let p = pad_edges(&img, 1, (2, 2), (3, 3));
        assert_eq!(p, vec![1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 3.0, 4.0, 4.0]);
    }
}

//! DVD-GAN's sample outputs: `samples/step_N.gif`, a grid of the fixed-noise clips playing
//! in a loop; `samples/step_N.png`, the same clips as rows of frames; `samples/real.gif`, real
//! clips made the same way, once. Real clips on the host come from the moving-MNIST CPU twin.

use super::video;
use crate::cpu::moving_mnist::{moving_mnist, MovingMnistParams};
use crate::cpu::random::pack_bytes;
use crate::io::IoError;
use crate::train::{TrainConfig, TrainError};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgba, RgbaImage};
use std::path::{Path, PathBuf};

/// Milliseconds per clip frame in the GIFs.
const FRAME_MS: u32 = 120;
/// Gray between tiles, as the PNG grids.
const PAD: u32 = 2;
const GAP: u8 = 128;

/// `n` real clips (n, T, S, S) in [-1, 1] and their digits' labels (n, digits), as the
/// training program draws them at `iteration` on random stream `stream`.
pub fn real_clips(
    cfg: &TrainConfig,
    n: usize,
    iteration: u32,
    stream: u32,
) -> Result<(Vec<f32>, Vec<f32>), TrainError> {
    let v = video(cfg)?;
    let ds = cfg.data.load()?;
    let c = v.clips;
    let p = MovingMnistParams {
        clips: n as u32,
        frames: c.frames as u32,
        size: c.size as u32,
        digits: c.digits as u32,
        digit_size: c.digit_size as u32,
        count: ds.count as u32,
        side: ds.width as u32,
        slot: 0,
        seed_lo: cfg.seed as u32,
        seed_hi: (cfg.seed >> 32) as u32,
        stream,
        speed: c.speed,
    };
    let mut clips = vec![0.0; n * c.frames * c.size * c.size];
    let mut labels = vec![0.0; n * c.digits];
    let (images, digit_labels) = (pack_bytes(&ds.images), pack_bytes(&ds.labels));
    let io = (&[iteration][..], &images[..], &digit_labels[..]);
    moving_mnist(&p, io, &mut clips, &mut labels);
    Ok((clips, labels))
}

/// Columns of a square-ish grid of `n` tiles.
pub fn grid_columns(n: usize) -> usize {
    (n as f64).sqrt().ceil().max(1.0) as usize
}

/// Encodes `clips` (n, frames, side, side) in [-1, 1] as a looping GIF whose frame t is the
/// grid (`cols` columns) of every clip's frame t.
pub fn encode_clips(
    clips: &[f32],
    (n, frames, side): (usize, usize, usize),
    cols: usize,
) -> image::ImageResult<Vec<u8>> {
    let rows = n.div_ceil(cols.max(1));
    let tile = side as u32 + PAD;
    let (w, h) = (cols as u32 * tile + PAD, rows as u32 * tile + PAD);
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut bytes);
        enc.set_repeat(Repeat::Infinite)?;
        for t in 0..frames {
            let mut img = RgbaImage::from_pixel(w, h, Rgba([GAP, GAP, GAP, 255]));
            for clip in 0..n {
                let frame = &clips[(clip * frames + t) * side * side..][..side * side];
                let (x0, y0) = (
                    (clip % cols) as u32 * tile + PAD,
                    (clip / cols) as u32 * tile + PAD,
                );
                for (i, &v) in frame.iter().enumerate() {
                    let g = crate::io::png::to_byte(v);
                    let (x, y) = ((i % side) as u32, (i / side) as u32);
                    img.put_pixel(x0 + x, y0 + y, Rgba([g, g, g, 255]));
                }
            }
            let delay = Delay::from_numer_denom_ms(FRAME_MS, 1);
            enc.encode_frame(Frame::from_parts(img, 0, 0, delay))?;
        }
    }
    Ok(bytes)
}

/// Writes `clips` as a looping GIF at `path` (atomically).
pub fn save_clips_gif(
    path: &Path,
    clips: &[f32],
    dims: (usize, usize, usize),
) -> Result<(), IoError> {
    let (n, frames, side) = dims;
    if clips.len() != n * frames * side * side {
        return Err(IoError::Shape {
            path: path.to_path_buf(),
            message: format!(
                "{} values are not {n} clips of {frames}x{side}x{side}",
                clips.len()
            ),
        });
    }
    let bytes = encode_clips(clips, dims, grid_columns(n)).map_err(|e| IoError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    crate::io::write_file(path, &bytes)
}

/// The sample point's files from the sample program's `clips`: step_N.gif, step_N.png (a row
/// of frames per clip) and, the first time, real.gif. Returns the PNG.
pub fn write_step(
    cfg: &TrainConfig,
    clips: &[f32],
    dir: &Path,
    step: usize,
) -> Result<PathBuf, TrainError> {
    let v = video(cfg)?;
    let (t, s) = (v.model.frames, v.model.size);
    let n = clips.len() / (t * s * s).max(1);
    save_clips_gif(&dir.join(format!("step_{step:06}.gif")), clips, (n, t, s))?;
    let png = dir.join(format!("step_{step:06}.png"));
    crate::io::png::save_grid(&png, clips, n * t, 1, s, s, t)?;
    let real = dir.join("real.gif");
    if !real.exists() {
        let (clips, _) = real_clips(cfg, n, 0, 0x5EA1)?;
        save_clips_gif(&real, &clips, (n, t, s))?;
    }
    Ok(png)
}

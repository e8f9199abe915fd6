//! SRGAN's held-out figures and sample grids: G (eval mode) on chunks of the held-out HR
//! images, against bicubic upscaling of the same LR images (`eval::image_quality`).

use super::{srgan_config, GRID_EXAMPLES, SAMPLE_CHUNK};
use crate::eval::image_quality::{batch_psnr_ssim, upscale_bicubic};
use crate::train::{TrainError, Trainer};

/// The columns losses.csv gains, in order.
pub const COLUMNS: &[&str] = &["psnr", "ssim", "psnr_bicubic", "ssim_bicubic"];

/// Images in [-1, 1] from the dataset's bytes, as the device's gather scales them.
fn to_unit(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| (b as f32 - 127.5) / 127.5).collect()
}

/// Held-out images and G's SR of them, each (n, C, H, W) in [-1, 1].
struct Batch {
    hr: Vec<f32>,
    lr: Vec<f32>,
    sr: Vec<f32>,
}

/// The HR, LR and SR of held-out images `first..first + n` (n <= SAMPLE_CHUNK).
fn super_resolve(t: &mut Trainer, first: usize, n: usize) -> Result<Batch, TrainError> {
    let held = t
        .held_out
        .as_ref()
        .ok_or_else(|| TrainError::Config("srgan needs held-out images".into()))?;
    let len = held.image_len();
    let hr = to_unit(&held.images[first * len..(first + n) * len]);
    let input = t
        .gan
        .sample_input("sample.hr")
        .ok_or_else(|| TrainError::Config("srgan's sample program has no sample.hr".into()))?;
    let mut padded = hr.clone();
    padded.resize(SAMPLE_CHUNK * len, 0.0);
    t.exec.write_f32(input, &padded);
    t.exec.run(t.gan.sample.clone(), 1)?;
    let sr = t.exec.read_f32(t.gan.sample_out)?;
    let lr_view = t.gan.record("sample.lr");
    let lr = match lr_view {
        Some(v) => t.exec.read_f32(v)?,
        None => Vec::new(),
    };
    let lr_len = len / (srgan_config(&t.cfg).scale.pow(2));
    Ok(Batch {
        hr,
        lr: lr[..n * lr_len].to_vec(),
        sr: sr[..n * len].to_vec(),
    })
}

/// Bicubic upscaling of each LR image of `lr`.
fn bicubic(t: &Trainer, lr: &[f32]) -> Result<Vec<f32>, TrainError> {
    let m = srgan_config(&t.cfg);
    let shape = (m.channels, m.lr_size, m.lr_size);
    let lr_len = m.channels * m.lr_size * m.lr_size;
    let mut out = Vec::with_capacity(lr.len() * m.scale * m.scale);
    for img in lr.chunks_exact(lr_len) {
        let up = upscale_bicubic(img, shape, m.scale, (-1.0, 1.0)).map_err(quality_err)?;
        out.extend(up);
    }
    Ok(out)
}

fn quality_err(e: crate::eval::image_quality::QualityError) -> TrainError {
    TrainError::Config(format!("image quality: {e}"))
}

/// Mean PSNR and SSIM of G's SR and of bicubic against HR over every held-out image.
pub fn held_out_scores(t: &mut Trainer) -> Result<Vec<f32>, TrainError> {
    let count = t.held_out.as_ref().map_or(0, |h| h.count);
    let shape = t.cfg.image_shape();
    let mut sums = [0.0f64; 4];
    let mut first = 0;
    while first < count {
        let n = SAMPLE_CHUNK.min(count - first);
        let Batch { hr, lr, sr } = super_resolve(t, first, n)?;
        let bic = bicubic(t, &lr)?;
        let (p, s) = batch_psnr_ssim(&sr, &hr, shape, 2.0).map_err(quality_err)?;
        let (pb, sb) = batch_psnr_ssim(&bic, &hr, shape, 2.0).map_err(quality_err)?;
        for (sum, v) in sums.iter_mut().zip([p, s, pb, sb]) {
            *sum += v * n as f64;
        }
        first += n;
    }
    Ok(sums
        .iter()
        .map(|s| (s / count.max(1) as f64) as f32)
        .collect())
}

/// The first GRID_EXAMPLES held-out images as four rows: LR (nearest-upscaled), bicubic, SR
/// and HR, (4·GRID_EXAMPLES, C, H, W).
pub fn grid(t: &mut Trainer) -> Result<Vec<f32>, TrainError> {
    let count = t.held_out.as_ref().map_or(0, |h| h.count);
    let n = GRID_EXAMPLES.min(count);
    let Batch { hr, lr, sr } = super_resolve(t, 0, n)?;
    let bic = bicubic(t, &lr)?;
    let m = srgan_config(&t.cfg);
    let nearest = nearest_upscale(&lr, (m.lr_size, m.lr_size), m.scale);
    let len = hr.len() / n.max(1);
    let mut out = Vec::with_capacity(4 * GRID_EXAMPLES * len);
    for rows in [&nearest, &bic, &sr, &hr] {
        out.extend_from_slice(rows);
        // A set smaller than a grid row: blank tiles.
        out.resize(out.len() + (GRID_EXAMPLES - n) * len, -1.0);
    }
    Ok(out)
}

/// Each pixel of (n, C, h, w) images copied to a `scale` x `scale` block.
pub fn nearest_upscale(lr: &[f32], (h, w): (usize, usize), scale: usize) -> Vec<f32> {
    let (oh, ow) = (h * scale, w * scale);
    let planes = lr.len() / (h * w).max(1);
    let mut out = vec![0.0; planes * oh * ow];
    for p in 0..planes {
        for y in 0..oh {
            for x in 0..ow {
                out[(p * oh + y) * ow + x] = lr[(p * h + y / scale) * w + x / scale];
            }
        }
    }
    out
}

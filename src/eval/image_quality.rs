//! Super-resolution quality on the host (issue 14): PSNR, SSIM (Wang et al. 2004) and the
//! bicubic baseline. Images are CHW f32 slices; `data_range` is max - min of the value range
//! (2 for images in [-1, 1]).
//!
//! SSIM follows Wang et al.'s reference: an 11x11 Gaussian window of σ 1.5 (weights normalised
//! to sum 1), C1 = (0.01 L)², C2 = (0.03 L)², population (biased) local variances, the map taken
//! where the window fits inside the image ("valid") and averaged, then averaged over channels.
//! That equals scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
//! use_sample_covariance=False, data_range=L)`, which filters with reflection and then crops the
//! 5 pixels of border the reflection touched.

use image::imageops::{resize, FilterType};
use image::{ImageBuffer, Luma};

/// Side of the SSIM window.
pub const SSIM_WINDOW: usize = 11;
/// σ of the SSIM window's Gaussian.
pub const SSIM_SIGMA: f64 = 1.5;

/// Why a score cannot be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QualityError {
    #[error("images of {0} and {1} values cannot be compared")]
    Lengths(usize, usize),
    #[error("a {h}x{w} image is smaller than the {SSIM_WINDOW}x{SSIM_WINDOW} SSIM window")]
    TooSmall { h: usize, w: usize },
    #[error("shape {c}x{h}x{w} does not hold {len} values")]
    Shape {
        c: usize,
        h: usize,
        w: usize,
        len: usize,
    },
}

/// 10·log10(L² / MSE) over all values, in dB; infinite for identical images.
pub fn psnr(a: &[f32], b: &[f32], data_range: f32) -> Result<f64, QualityError> {
    if a.len() != b.len() || a.is_empty() {
        return Err(QualityError::Lengths(a.len(), b.len()));
    }
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    Ok(10.0 * ((data_range as f64).powi(2) / mse).log10())
}

/// The normalised 1-D Gaussian of the window.
fn gaussian() -> [f64; SSIM_WINDOW] {
    let r = (SSIM_WINDOW / 2) as f64;
    let mut g = [0.0; SSIM_WINDOW];
    for (i, v) in g.iter_mut().enumerate() {
        let d = i as f64 - r;
        *v = (-d * d / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp();
    }
    let sum: f64 = g.iter().sum();
    g.map(|v| v / sum)
}

/// Mean SSIM of one channel plane pair (h, w).
fn ssim_plane(a: &[f32], b: &[f32], (h, w): (usize, usize), data_range: f64) -> f64 {
    let g = gaussian();
    let (c1, c2) = ((0.01 * data_range).powi(2), (0.03 * data_range).powi(2));
    let (oh, ow) = (h + 1 - SSIM_WINDOW, w + 1 - SSIM_WINDOW);
    let mut total = 0.0;
    for oy in 0..oh {
        for ox in 0..ow {
            let [mut ma, mut mb, mut aa, mut bb, mut ab] = [0.0f64; 5];
            for (dy, gy) in g.iter().enumerate() {
                for (dx, gx) in g.iter().enumerate() {
                    let i = (oy + dy) * w + ox + dx;
                    let (x, y, k) = (a[i] as f64, b[i] as f64, gy * gx);
                    ma += k * x;
                    mb += k * y;
                    aa += k * x * x;
                    bb += k * y * y;
                    ab += k * x * y;
                }
            }
            let (va, vb, cov) = (aa - ma * ma, bb - mb * mb, ab - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        }
    }
    total / (oh * ow) as f64
}

/// Mean SSIM of two (c, h, w) images, averaged over channels.
pub fn ssim(
    a: &[f32],
    b: &[f32],
    (c, h, w): (usize, usize, usize),
    data_range: f32,
) -> Result<f64, QualityError> {
    if a.len() != b.len() {
        return Err(QualityError::Lengths(a.len(), b.len()));
    }
    if c * h * w != a.len() || c == 0 {
        return Err(QualityError::Shape {
            c,
            h,
            w,
            len: a.len(),
        });
    }
    if h < SSIM_WINDOW || w < SSIM_WINDOW {
        return Err(QualityError::TooSmall { h, w });
    }
    let plane = h * w;
    let sum: f64 = (0..c)
        .map(|k| {
            let r = k * plane..(k + 1) * plane;
            ssim_plane(&a[r.clone()], &b[r], (h, w), data_range as f64)
        })
        .sum();
    Ok(sum / c as f64)
}

/// The mean PSNR and mean SSIM over a batch of (c, h, w) images.
pub fn batch_psnr_ssim(
    a: &[f32],
    b: &[f32],
    shape: (usize, usize, usize),
    data_range: f32,
) -> Result<(f64, f64), QualityError> {
    let len = shape.0 * shape.1 * shape.2;
    if a.len() != b.len() || len == 0 || !a.len().is_multiple_of(len) || a.is_empty() {
        return Err(QualityError::Lengths(a.len(), b.len()));
    }
    let (mut p, mut s) = (0.0, 0.0);
    for (x, y) in a.chunks_exact(len).zip(b.chunks_exact(len)) {
        p += psnr(x, y, data_range)?;
        s += ssim(x, y, shape, data_range)?;
    }
    let n = (a.len() / len) as f64;
    Ok((p / n, s / n))
}

/// The bicubic baseline: each channel of a (c, h, w) image with values in [lo, hi] resized by
/// `scale` with the image crate's `FilterType::CatmullRom`: Keys' cubic convolution with
/// a = -0.5 (the kernel of MATLAB's and PIL's "bicubic"; PyTorch's bicubic uses a = -0.75), edge
/// pixels repeated, pixel centres aligned ((x + 0.5) / scale - 0.5). The crate clamps f32 pixels
/// to [0, 1], so values are mapped there and back; results stay within [lo, hi].
pub fn upscale_bicubic(
    img: &[f32],
    (c, h, w): (usize, usize, usize),
    scale: usize,
    (lo, hi): (f32, f32),
) -> Result<Vec<f32>, QualityError> {
    let plane = h * w;
    if c * plane != img.len() || plane == 0 {
        return Err(QualityError::Shape {
            c,
            h,
            w,
            len: img.len(),
        });
    }
    let span = hi - lo;
    let mut out = Vec::with_capacity(img.len() * scale * scale);
    for ch in img.chunks_exact(plane) {
        let unit: Vec<f32> = ch.iter().map(|v| (v - lo) / span).collect();
        let (wu, hu) = (w as u32, h as u32);
        let Some(buf) = ImageBuffer::<Luma<f32>, Vec<f32>>::from_raw(wu, hu, unit) else {
            return Err(QualityError::Shape {
                c,
                h,
                w,
                len: img.len(),
            });
        };
        let big = resize(
            &buf,
            wu * scale as u32,
            hu * scale as u32,
            FilterType::CatmullRom,
        );
        out.extend(big.into_raw().into_iter().map(|v| lo + span * v));
    }
    Ok(out)
}

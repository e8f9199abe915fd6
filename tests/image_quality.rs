//! PSNR and SSIM against scikit-image 0.26 (`peak_signal_noise_ratio` and
//! `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
//! data_range=2.0, channel_axis=0)` on the float64 of the same float32 images; numbers computed
//! once and committed here), hand-worked cases, and the bicubic baseline on cases whose answer
//! cubic convolution fixes.

use wgpu_gan::eval::image_quality::{psnr, ssim, upscale_bicubic, QualityError};

/// a[k] = 0.8 sin(0.37 k), b = clip(a + 0.3 cos(1.3 k), -1, 1), as f32, in CHW order.
fn images((c, h, w): (usize, usize, usize)) -> (Vec<f32>, Vec<f32>) {
    let n = c * h * w;
    let a: Vec<f64> = (0..n).map(|k| (0.37 * k as f64).sin() * 0.8).collect();
    let b = (0..n).map(|k| (a[k] + 0.3 * (1.3 * k as f64).cos()).clamp(-1.0, 1.0));
    (
        a.iter().map(|&v| v as f32).collect(),
        b.map(|v| v as f32).collect(),
    )
}

/// (shape, PSNR dB, SSIM) from scikit-image.
const SKIMAGE: &[((usize, usize, usize), f64, f64)] = &[
    ((1, 16, 16), 19.651163442575974, 0.8609622429651115),
    ((3, 12, 14), 19.640093272440627, 0.891947889038034),
    ((1, 28, 28), 19.647043743312413, 0.8849703631101495),
];

#[test]
fn psnr_and_ssim_match_scikit_image() {
    for &(shape, want_psnr, want_ssim) in SKIMAGE {
        let (a, b) = images(shape);
        let p = psnr(&a, &b, 2.0).unwrap();
        let s = ssim(&a, &b, shape, 2.0).unwrap();
        assert!(
            (p - want_psnr).abs() < 1e-6,
            "{shape:?}: psnr {p} want {want_psnr}"
        );
        assert!(
            (s - want_ssim).abs() < 1e-7,
            "{shape:?}: ssim {s} want {want_ssim}"
        );
    }
}

#[test]
fn psnr_and_ssim_of_hand_worked_cases() {
    // MSE 0.01 on a range of 2: 10 log10(4 / 0.01) = 26.0206 dB.
    let a = [0.0f32; 8];
    let b = [0.1f32; 8];
    let p = psnr(&a, &b, 2.0).unwrap();
    assert!((p - 10.0 * 400f64.log10()).abs() < 1e-4, "{p}");
    assert_eq!(psnr(&a, &a, 2.0).unwrap(), f64::INFINITY);
    // An image against itself: 1. Two constant images c and d: the structure terms are 1, the
    // luminance term (2cd + C1) / (c² + d² + C1).
    let (c1, c, d) = ((0.01f64 * 2.0).powi(2), 0.5f64, -0.25f64);
    let (x, y) = (vec![c as f32; 144], vec![d as f32; 144]);
    assert!((ssim(&x, &x, (1, 12, 12), 2.0).unwrap() - 1.0).abs() < 1e-12);
    let want = (2.0 * c * d + c1) / (c * c + d * d + c1);
    let got = ssim(&x, &y, (1, 12, 12), 2.0).unwrap();
    assert!((got - want).abs() < 1e-9, "{got} want {want}");
}

#[test]
fn scores_refuse_what_they_cannot_compare() {
    let a = vec![0.0f32; 100];
    assert_eq!(psnr(&a, &a[..99], 2.0), Err(QualityError::Lengths(100, 99)));
    let err = ssim(&a, &a, (1, 10, 10), 2.0).unwrap_err();
    assert_eq!(err, QualityError::TooSmall { h: 10, w: 10 });
    assert!(ssim(&a, &a, (2, 10, 10), 2.0).is_err());
}

/// Cubic convolution keeps constants and reproduces a linear ramp away from the edges, with
/// pixel centres aligned: output x reads the input at (x + 0.5) / s - 0.5.
#[test]
fn bicubic_keeps_constants_and_linear_ramps() {
    let flat = vec![0.25f32; 2 * 5 * 5];
    let up = upscale_bicubic(&flat, (2, 5, 5), 4, (-1.0, 1.0)).unwrap();
    assert_eq!(up.len(), 2 * 20 * 20);
    assert!(up.iter().all(|v| (v - 0.25).abs() < 1e-6));
    // v(x, y) = 0.1 x - 0.8 on an 8x8 image.
    let ramp: Vec<f32> = (0..64).map(|i| 0.1 * (i % 8) as f32 - 0.8).collect();
    let up = upscale_bicubic(&ramp, (1, 8, 8), 2, (-1.0, 1.0)).unwrap();
    for oy in 0..16 {
        for ox in 4..12 {
            let src = (ox as f32 + 0.5) / 2.0 - 0.5;
            let want = 0.1 * src - 0.8;
            let got = up[oy * 16 + ox];
            assert!((got - want).abs() < 1e-5, "({ox}, {oy}): {got} want {want}");
        }
    }
    assert!(upscale_bicubic(&ramp, (1, 8, 7), 2, (-1.0, 1.0)).is_err());
}

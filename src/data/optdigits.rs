//! optdigits: the 1,797 8x8 handwritten digits of the UCI "Optical Recognition of Handwritten
//! Digits" test set (Alpaydin and Kaynak, 1998; as shipped in scikit-learn), embedded in the
//! binary (assets/README.md). They are brought to MNIST's form the way MNIST itself was made:
//! each 8x8 digit (values 0..16) resized to 20x20 with the image crate's CatmullRom filter,
//! centred in a 28x28 frame, and mapped from 0..16 to bytes 0..255 (the trainer's [-1, 1]).

use super::{DataError, Dataset};
use image::imageops::{resize, FilterType};
use image::{ImageBuffer, Luma};
use std::io::Read;

static EMBEDDED_OPTDIGITS: &[u8] = include_bytes!("../../assets/optdigits-digits.csv.gz");

/// Its name in datasets and messages.
pub const OPTDIGITS_NAME: &str = "optdigits (embedded)";

/// Side of the source digits, of their resized body, and of the frame.
const SOURCE: u32 = 8;
const BODY: u32 = 20;
pub const OPTDIGITS_SIZE: usize = 28;

/// The embedded optdigits at 28x28, with their labels.
pub fn optdigits() -> Result<Dataset, DataError> {
    let what = "embedded optdigits-digits.csv.gz";
    let mut text = String::new();
    flate2::read::GzDecoder::new(EMBEDDED_OPTDIGITS)
        .read_to_string(&mut text)
        .map_err(|source| DataError::Gzip {
            what: what.into(),
            source,
        })?;
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Vec<u8> = line
            .split(',')
            .filter_map(|x| x.trim().parse::<f32>().ok())
            .map(|x| x as u8)
            .collect();
        if v.len() != 65 {
            continue;
        }
        images.extend(framed(&v[..64]));
        labels.push(v[64]);
    }
    Ok(Dataset {
        name: OPTDIGITS_NAME.into(),
        count: labels.len(),
        images,
        labels,
        channels: 1,
        height: OPTDIGITS_SIZE,
        width: OPTDIGITS_SIZE,
    })
}

/// One 8x8 digit (0..16, row-major) as a 28x28 byte image: resized to 20x20 (CatmullRom, in
/// floats scaled to 0..1, the range the image crate keeps f32 pixels in, clamped after the
/// filter's overshoot), centred, scaled to 0..255.
pub fn framed(pixels: &[u8]) -> Vec<u8> {
    let src: ImageBuffer<Luma<f32>, Vec<f32>> = ImageBuffer::from_fn(SOURCE, SOURCE, |x, y| {
        Luma([pixels[(y * SOURCE + x) as usize] as f32 / 16.0])
    });
    let body = resize(&src, BODY, BODY, FilterType::CatmullRom);
    let side = OPTDIGITS_SIZE;
    let at = (side - BODY as usize) / 2;
    let mut out = vec![0u8; side * side];
    for (x, y, p) in body.enumerate_pixels() {
        let v = (p.0[0].clamp(0.0, 1.0) * 255.0).round() as u8;
        out[(y as usize + at) * side + x as usize + at] = v;
    }
    out
}

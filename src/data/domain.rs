//! A domain of unpaired image translation (CycleGAN's `--data-a`, `--data-b`): any source the
//! trainer reads, brought to one size and channel count.

use super::{folder, folder_cache, DataError, Dataset, IMAGE_FILE_NAMES};
use image::imageops::{resize, FilterType};
use image::{GrayImage, RgbImage};
use std::path::{Path, PathBuf};

/// Where a domain's images come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Domain {
    /// The embedded MNIST sample.
    Embedded,
    /// Debian's dataset-fashion-mnist.
    Fashion,
    /// The embedded optdigits, at 28x28 (`optdigits`).
    Optdigits,
    /// A directory of MNIST-style IDX files.
    IdxDir(PathBuf),
    /// A folder of PNG and JPEG images.
    Folder(PathBuf),
}

impl Domain {
    /// `embedded`, `fashion`, `optdigits`, a directory holding IDX training images, or any
    /// other path as an image folder.
    pub fn parse(text: &str) -> Self {
        match text {
            "embedded" => Self::Embedded,
            "fashion" => Self::Fashion,
            "optdigits" => Self::Optdigits,
            path => {
                let dir = PathBuf::from(path);
                if IMAGE_FILE_NAMES.iter().any(|n| dir.join(n).is_file()) {
                    Self::IdxDir(dir)
                } else {
                    Self::Folder(dir)
                }
            }
        }
    }

    /// Channels of its images as stored: 1 for the digit sets and IDX files; for a folder, its
    /// first readable image's (gray 1, colour 3). Fails on a folder with no readable image.
    pub fn native_channels(&self) -> Result<usize, DataError> {
        let Self::Folder(dir) = self else {
            return Ok(1);
        };
        for path in folder::list(dir)? {
            let Ok(img) = image::ImageReader::open(&path).and_then(|r| r.with_guessed_format())
            else {
                continue;
            };
            if let Ok(img) = img.decode() {
                return Ok(if img.color().has_color() { 3 } else { 1 });
            }
        }
        Err(empty(dir))
    }

    /// Its images as `channels` planes of `size` x `size` (labels kept where it has them).
    pub fn load(&self, channels: usize, size: usize) -> Result<Dataset, DataError> {
        let ds = match self {
            Self::Embedded => super::embedded_mnist()?,
            Self::Fashion => super::fashion_mnist()?,
            Self::Optdigits => super::optdigits::optdigits()?,
            Self::IdxDir(dir) => super::load_idx_dir(dir)?,
            Self::Folder(dir) => {
                let cache = folder_cache::cache_dir();
                let log = &mut |line: &str| eprintln!("{line}");
                let ds = folder_cache::load_cached(dir, channels, size, cache.as_deref(), log)?;
                if ds.count == 0 {
                    return Err(empty(dir));
                }
                ds
            }
        };
        Ok(conform(ds, channels, size))
    }
}

fn empty(dir: &Path) -> DataError {
    DataError::Empty {
        name: format!("{} (no readable PNG or JPEG image)", dir.display()),
        count: 0,
        height: 0,
        width: 0,
    }
}

/// `ds` with every image resized to `size` x `size` (bilinear) and gray replicated to RGB or
/// RGB averaged to gray (ITU-R 601 luma, as the image crate's); unchanged when it fits.
pub fn conform(ds: Dataset, channels: usize, size: usize) -> Dataset {
    if ds.channels == channels && ds.height == size && ds.width == size {
        return ds;
    }
    let (w, h, len) = (ds.width as u32, ds.height as u32, ds.image_len());
    let mut images = Vec::with_capacity(ds.count * channels * size * size);
    for img in ds.images.chunks_exact(len) {
        let s = size as u32;
        let planes = if ds.channels == 1 {
            let gray = GrayImage::from_raw(w, h, img.to_vec()).unwrap_or_default();
            let gray = resize(&gray, s, s, FilterType::Triangle).into_raw();
            match channels {
                1 => gray,
                _ => [gray.as_slice(); 3].concat(),
            }
        } else {
            let plane = (w * h) as usize;
            let rgb: Vec<u8> = (0..plane)
                .flat_map(|i| (0..3).map(move |c| img[c * plane + i]))
                .collect();
            let rgb = RgbImage::from_raw(w, h, rgb).unwrap_or_default();
            let rgb = image::DynamicImage::ImageRgb8(resize(&rgb, s, s, FilterType::Triangle));
            match channels {
                1 => rgb.to_luma8().into_raw(),
                _ => {
                    let raw = rgb.to_rgb8().into_raw();
                    let n = (s * s) as usize;
                    (0..3)
                        .flat_map(|c| (0..n).map(move |i| (c, i)))
                        .map(|(c, i)| raw[i * 3 + c])
                        .collect()
                }
            }
        };
        images.extend(planes);
    }
    Dataset {
        images,
        channels,
        height: size,
        width: size,
        ..ds
    }
}

//! A user's image folder: every PNG and JPEG under a directory (recursively, in path order),
//! decoded, resized so the shorter side is `size` (bilinear with antialiasing, as torchvision's
//! `Resize`), center-cropped to `size` x `size`, and stored as gray or RGB planes (CHW bytes).
//! A file that cannot be decoded is named in a warning and skipped.

use super::{DataError, Dataset};
use image::imageops::FilterType;
use image::DynamicImage;
use std::path::{Path, PathBuf};

/// File extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Loads every image under `dir` as `channels` (1 or 3) planes of `size` x `size`. Labels are 0.
pub fn load_folder(dir: &Path, channels: usize, size: usize) -> Result<Dataset, DataError> {
    if !dir.exists() {
        return Err(DataError::DirMissing {
            dir: dir.to_path_buf(),
        });
    }
    if !dir.is_dir() {
        return Err(DataError::NotADirectory {
            dir: dir.to_path_buf(),
        });
    }
    let (files, ignored) = image_files(dir)?;
    if ignored > 0 {
        let files = if ignored == 1 { "file" } else { "files" };
        eprintln!(
            "warning: {}: ignored {ignored} {files} not named .png, .jpg or .jpeg",
            dir.display()
        );
    }
    let decoded = decode_all(&files, channels, size);
    let mut images = Vec::with_capacity(files.len() * channels * size * size);
    let mut count = 0;
    for (path, result) in files.iter().zip(decoded) {
        match result {
            Ok(bytes) => {
                images.extend_from_slice(&bytes);
                count += 1;
            }
            Err(why) => eprintln!("warning: skipping {}: {why}", path.display()),
        }
    }
    if count == 0 {
        return Err(DataError::Empty {
            name: format!(
                "{} has no readable PNG or JPEG ({} tried)",
                dir.display(),
                files.len()
            ),
            count,
            height: size,
            width: size,
        });
    }
    Ok(Dataset {
        name: dir.display().to_string(),
        images,
        labels: vec![0; count],
        count,
        channels,
        height: size,
        width: size,
    })
}

/// Image files under `dir` in path order, and how many other (non-hidden) files were seen.
fn image_files(dir: &Path) -> Result<(Vec<PathBuf>, usize), DataError> {
    let mut files = Vec::new();
    let mut ignored = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let read_err = |source| DataError::Read {
            path: d.clone(),
            source,
        };
        for entry in std::fs::read_dir(&d).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if is_image(&path) {
                files.push(path);
            } else {
                ignored += 1;
            }
        }
    }
    files.sort();
    Ok((files, ignored))
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_lowercase().as_str()))
}

/// Decodes `files` on every core; each result is the CHW bytes or why the file was unusable.
fn decode_all(files: &[PathBuf], channels: usize, size: usize) -> Vec<Result<Vec<u8>, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|p| decode(p, channels, size))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err("decoder panicked".to_string())])
            })
            .collect()
    })
}

/// One image as `channels` planes of `size` x `size` bytes.
pub fn decode(path: &Path, channels: usize, size: usize) -> Result<Vec<u8>, String> {
    let img = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let img = resize_crop(&img, size);
    Ok(match channels {
        1 => img.to_luma8().into_raw(),
        _ => planar(&img.to_rgb8().into_raw(), 3),
    })
}

/// Shorter side to `size`, then the central `size` x `size`.
fn resize_crop(img: &DynamicImage, size: usize) -> DynamicImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let short = w.min(h).max(1);
    let scale = |d: usize| ((d * size) as f64 / short as f64).round().max(size as f64) as u32;
    let (nw, nh) = (scale(w), scale(h));
    let resized = if (nw, nh) == (w as u32, h as u32) {
        img.clone()
    } else {
        img.resize_exact(nw, nh, FilterType::Triangle)
    };
    let s = size as u32;
    resized.crop_imm((nw - s) / 2, (nh - s) / 2, s, s)
}

/// Interleaved HWC bytes to CHW planes.
fn planar(hwc: &[u8], channels: usize) -> Vec<u8> {
    let plane = hwc.len() / channels;
    let mut chw = vec![0u8; hwc.len()];
    for (i, px) in hwc.chunks_exact(channels).enumerate() {
        for (c, &v) in px.iter().enumerate() {
            chw[c * plane + i] = v;
        }
    }
    chw
}

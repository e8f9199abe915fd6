//! A user's image folder: every PNG and JPEG under a directory (recursively, in path order),
//! decoded on every core (rayon), resized so the shorter side is `size` (bilinear with antialiasing, as torchvision's
//! `Resize`), center-cropped to `size` x `size`, and stored as gray or RGB planes (CHW bytes).
//! A file that cannot be decoded is named in a warning and skipped (the first few named, then a
//! count). Symbolic links to directories are followed, but each real directory (by device and
//! inode) is read once, so a link loop or two links to one folder add no copies.

use super::{DataError, Dataset};
use image::imageops::FilterType;
use image::DynamicImage;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};

/// File extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Loads every image under `dir` as `channels` (1 or 3) planes of `size` x `size`. Labels are 0.
/// Decodes every time; [`super::folder_cache::load_cached`] keeps the result.
pub fn load_folder(dir: &Path, channels: usize, size: usize) -> Result<Dataset, DataError> {
    let files = list(dir)?;
    Ok(decode_files(dir, &files, channels, size, &mut |line| eprintln!("{line}"))?.0)
}

/// The image files under `dir`, in path order, after checking it is a directory; warns (one
/// line) about files that are not images.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
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
    Ok(files)
}

/// Decodes `files` (of folder `dir`) on every core into one byte buffer, with a progress bar;
/// the dataset and how many files were skipped. Unreadable files are named through `log`
/// (the first few, then a count).
pub(super) fn decode_files(
    dir: &Path,
    files: &[PathBuf],
    channels: usize,
    size: usize,
    log: &mut dyn FnMut(&str),
) -> Result<(Dataset, usize), DataError> {
    let len = channels * size * size;
    let mut images = vec![0u8; files.len() * len];
    let bar = progress(files.len(), dir);
    let failures: Vec<Option<String>> = images
        .par_chunks_mut(len.max(1))
        .zip(files.par_iter())
        .map(|(out, path)| {
            let result = decode(path, channels, size);
            bar.inc(1);
            match result {
                Ok(bytes) => {
                    out.copy_from_slice(&bytes);
                    None
                }
                Err(why) => Some(why),
            }
        })
        .collect();
    bar.finish_and_clear();
    // Closes the gaps the skipped files left, in place: the set is held once, as bytes.
    let mut count = 0;
    let mut skipped = 0;
    for (i, (path, failure)) in files.iter().zip(&failures).enumerate() {
        match failure {
            None => {
                images.copy_within(i * len..(i + 1) * len, count * len);
                count += 1;
            }
            Some(why) => {
                skipped += 1;
                if skipped <= NAMED_WARNINGS {
                    log(&format!("warning: skipping {}: {why}", path.display()));
                }
            }
        }
    }
    if skipped > NAMED_WARNINGS {
        let more = skipped - NAMED_WARNINGS;
        log(&format!(
            "warning: and {more} more unreadable files skipped"
        ));
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
    images.truncate(count * len);
    images.shrink_to_fit();
    Ok((folder_dataset(dir, images, count, channels, size), skipped))
}

/// The dataset of `count` decoded images of folder `dir`.
pub(super) fn folder_dataset(
    dir: &Path,
    images: Vec<u8>,
    count: usize,
    channels: usize,
    size: usize,
) -> Dataset {
    Dataset {
        name: dir.display().to_string(),
        images,
        labels: vec![0; count],
        count,
        channels,
        height: size,
        width: size,
    }
}

/// A progress bar over the files (drawn only on a terminal).
fn progress(files: usize, dir: &Path) -> ProgressBar {
    let bar = ProgressBar::new(files as u64);
    let template = "decoding {msg} {bar:30} {pos}/{len} images {per_sec} ETA {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(dir.display().to_string());
    bar
}

/// Unreadable files named one by one before the rest are counted in one line.
const NAMED_WARNINGS: usize = 5;

/// Image files under `dir` in path order, and how many other (non-hidden) files were seen.
/// Real directories are read first, in path order, then the symbolic links to directories not
/// read yet: an image is named by its real path where it has one inside `dir`, whatever order
/// the OS lists entries in.
fn image_files(dir: &Path) -> Result<(Vec<PathBuf>, usize), DataError> {
    let mut walk = Walk::default();
    if let Ok(meta) = std::fs::metadata(dir) {
        walk.seen.insert(dir_id(dir, &meta));
    }
    let mut pending = vec![dir.to_path_buf()];
    loop {
        while let Some(d) = pending.pop() {
            pending.extend(walk.read(&d)?.into_iter().rev());
        }
        // The next link whose directory is still unread.
        let Some(link) = walk.links.pop_front() else {
            break;
        };
        match std::fs::metadata(&link) {
            Ok(meta) if walk.seen.insert(dir_id(&link, &meta)) => pending.push(link),
            _ => walk.repeats += 1,
        }
    }
    if walk.repeats > 0 {
        eprintln!(
            "warning: {}: {} symbolic link(s) lead to a directory already read; not read again",
            dir.display(),
            walk.repeats
        );
    }
    walk.files.sort();
    Ok((walk.files, walk.ignored))
}

/// The state of a folder walk: what was found, and the real directories read.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    ignored: usize,
    seen: HashSet<(u64, u64, PathBuf)>,
    /// Symbolic links to directories, followed in the order found once every real directory is read.
    links: VecDeque<PathBuf>,
    repeats: usize,
}

impl Walk {
    /// Sorts the entries of `d` into files, links and real subdirectories (returned, unread).
    fn read(&mut self, d: &Path) -> Result<Vec<PathBuf>, DataError> {
        let read_err = |source| DataError::Read {
            path: d.to_path_buf(),
            source,
        };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(d).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let link = entry.file_type().is_ok_and(|t| t.is_symlink());
            entries.push((entry.path(), link));
        }
        entries.sort();
        let mut subdirs = Vec::new();
        for (path, link) in entries {
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            // Follows links: a dangling one is not a directory, and fails to decode later.
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() && link => self.links.push_back(path),
                Ok(meta) if meta.is_dir() => {
                    if self.seen.insert(dir_id(&path, &meta)) {
                        subdirs.push(path);
                    } else {
                        self.repeats += 1;
                    }
                }
                _ if is_image(&path) => self.files.push(path),
                _ => self.ignored += 1,
            }
        }
        Ok(subdirs)
    }
}

/// What makes a directory the same one through any path: device and inode where the OS has
/// them, else the canonical path.
#[cfg(unix)]
fn dir_id(_path: &Path, meta: &std::fs::Metadata) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino(), PathBuf::new())
}

#[cfg(not(unix))]
fn dir_id(path: &Path, _meta: &std::fs::Metadata) -> (u64, u64, PathBuf) {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    (0, 0, real)
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_lowercase().as_str()))
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

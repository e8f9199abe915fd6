//! The decoded bytes of an image folder, kept in the cache directory so that the next run of
//! the same folder starts in seconds.
//!
//! One file per folder and image size, `<cache>/folder-<hash of the folder's path, channels,
//! size>.u8`: a header (magic, the key, count, channels, size, files skipped) and the images as
//! bytes, as [`super::Dataset`] holds them. The key hashes the list of image files with each
//! one's size and modification time, the channels and the size, so a file added, removed,
//! replaced or touched makes the folder decode again. A cache file that cannot be read or is
//! not one (truncated, corrupt) is named in a one-line warning and rebuilt.
//!
//! The cache lives in `$WGPU_GAN_CACHE_DIR` when set (empty: no cache), else in the user's
//! cache directory (`$XDG_CACHE_HOME/wgpu-gan`, `~/.cache/wgpu-gan` on Linux).

use super::folder::{decode_files, folder_dataset, list};
use super::{DataError, Dataset};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

/// The environment variable naming the cache directory (empty turns the cache off).
pub const CACHE_VAR: &str = "WGPU_GAN_CACHE_DIR";
const MAGIC: &[u8; 8] = b"WGANU8\x00\x01";
/// Magic, two key halves, count, channels, size, skipped: eight-byte fields.
const HEADER: usize = 7 * 8;
/// Changes whenever decoding would give other bytes for the same files (resize, crop, layout).
const DECODER_VERSION: u64 = 1;

/// Where folder caches go: `$WGPU_GAN_CACHE_DIR`, else the user's cache directory; None when
/// the variable is empty or no cache directory is known.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os(CACHE_VAR) {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => dirs::cache_dir().map(|d| d.join("wgpu-gan")),
    }
}

/// [`super::folder::load_folder`] through the cache in `cache` (none: decode every time);
/// progress and warnings go to `log`, one line each.
pub fn load_cached(
    dir: &Path,
    channels: usize,
    size: usize,
    cache: Option<&Path>,
    log: &mut dyn FnMut(&str),
) -> Result<Dataset, DataError> {
    let start = Instant::now();
    let files = list(dir)?;
    let Some(cache) = cache else {
        return Ok(decode_files(dir, &files, channels, size, log)?.0);
    };
    let key = folder_key(&files, channels, size);
    let path = cache.join(format!(
        "folder-{:016x}.u8",
        fnv(
            0,
            format!("{}|{channels}|{size}", absolute(dir).display()).as_bytes()
        )
    ));
    match read(&path, key, channels * size * size) {
        Ok(Some((images, count, skipped))) => {
            log(&format!(
                "loaded {count} images of {} from the cache {} in {:.1} s{}",
                dir.display(),
                path.display(),
                start.elapsed().as_secs_f64(),
                skipped_note(skipped)
            ));
            return Ok(folder_dataset(dir, images, count, channels, size));
        }
        Ok(None) => {}
        Err(why) => log(&format!(
            "warning: folder cache {} is unreadable ({why}); decoding the folder again",
            path.display()
        )),
    }
    let (ds, skipped) = decode_files(dir, &files, channels, size, log)?;
    let saved = write(&path, key, &ds, skipped);
    log(&format!(
        "decoded {} images of {} in {:.1} s{}",
        ds.count,
        dir.display(),
        start.elapsed().as_secs_f64(),
        skipped_note(skipped)
    ));
    match saved {
        Ok(()) => log(&format!("cached them in {}", path.display())),
        Err(e) => log(&format!(
            "warning: cannot write the folder cache {}: {e}",
            path.display()
        )),
    }
    Ok(ds)
}

fn skipped_note(skipped: usize) -> String {
    match skipped {
        0 => String::new(),
        n => format!(" ({n} unreadable files skipped)"),
    }
}

fn absolute(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// FNV-1a, 64 bits, from `basis` mixed into the standard offset basis.
fn fnv(basis: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ basis;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// 128 bits over the decoder version, channels, size and every file's path, size and
/// modification time (a file whose metadata cannot be read counts with zeros; it fails to
/// decode and is skipped, and the key changes when it becomes readable).
fn folder_key(files: &[PathBuf], channels: usize, size: usize) -> [u64; 2] {
    let mut text = format!("v{DECODER_VERSION} c{channels} s{size}\n");
    for f in files {
        let meta = std::fs::metadata(f).ok();
        let len = meta.as_ref().map_or(0, |m| m.len());
        let mtime = meta
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()));
        text += &format!("{}\t{len}\t{}.{:09}\n", f.display(), mtime.0, mtime.1);
    }
    [fnv(1, text.as_bytes()), fnv(2, text.as_bytes())]
}

/// The cached (images, count, skipped) when `path` holds the folder of `key`; None when there
/// is no cache file or it is of another state of the folder; why when it is not readable.
fn read(
    path: &Path,
    key: [u64; 2],
    image_len: usize,
) -> Result<Option<(Vec<u8>, usize, usize)>, String> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header)
        .map_err(|_| format!("{len} bytes, shorter than its header"))?;
    let field =
        |i: usize| u64::from_le_bytes(header[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    if &header[..8] != MAGIC {
        return Err("not a wgpu-gan folder cache".into());
    }
    if [field(1), field(2)] != key {
        return Ok(None);
    }
    let (count, channels, size, skipped) = (field(3), field(4), field(5), field(6));
    let bytes = count.checked_mul(image_len as u64);
    let shape = channels.checked_mul(size).and_then(|n| n.checked_mul(size));
    if shape != Some(image_len as u64) || bytes != Some(len - HEADER as u64) {
        return Err(format!(
            "{len} bytes, but its header says {count} images of {channels}x{size}x{size}"
        ));
    }
    let mut images = vec![0u8; (len - HEADER as u64) as usize];
    file.read_exact(&mut images).map_err(|e| e.to_string())?;
    Ok(Some((images, count as usize, skipped as usize)))
}

/// Writes `ds` as the cache of `key` (atomically: a crash leaves the old file or none).
fn write(path: &Path, key: [u64; 2], ds: &Dataset, skipped: usize) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = crate::io::AtomicFile::create(path)?;
    f.write_all(MAGIC)?;
    let fields = [
        key[0],
        key[1],
        ds.count as u64,
        ds.channels as u64,
        ds.height as u64,
        skipped as u64,
    ];
    for v in fields {
        f.write_all(&v.to_le_bytes())?;
    }
    f.write_all(&ds.images)?;
    f.commit()
}

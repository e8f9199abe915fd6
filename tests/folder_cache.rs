//! The image-folder cache (data::folder_cache): a second load reads the cache, a folder that
//! changes decodes again, and a corrupt cache file is rebuilt with a one-line warning. Every
//! test keeps its cache in a temporary directory.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};
use wgpu_gan::data::folder::load_folder;
use wgpu_gan::data::folder_cache::{load_cached, CACHE_VAR};
use wgpu_gan::data::Dataset;

fn write_png(path: &Path, seed: u32) {
    let img = image::RgbImage::from_fn(12, 10, |x, y| {
        let v = |s: u32| ((x * (seed + s) + y * (3 + s) + seed * 7) % 256) as u8;
        image::Rgb([v(1), v(2), v(5)])
    });
    img.save(path).unwrap();
}

/// A folder of `n` PNGs (one in a subfolder) and an unreadable file.
fn folder(dir: &Path, n: u32) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for k in 0..n {
        let sub = if k == 0 { "sub/" } else { "" };
        write_png(&dir.join(format!("{sub}{k:02}.png")), k);
    }
    std::fs::write(dir.join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
}

/// Loads through the cache in `cache`; the dataset and the lines logged.
fn load(dir: &Path, cache: &Path) -> (Dataset, Vec<String>) {
    let mut lines = Vec::new();
    let ds = load_cached(dir, 3, 8, Some(cache), &mut |l| lines.push(l.to_string())).unwrap();
    (ds, lines)
}

fn from_cache(lines: &[String]) -> bool {
    lines.iter().any(|l| l.contains("from the cache"))
}

fn cache_file(cache: &Path) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one cache file: {files:?}");
    files[0].clone()
}

#[test]
fn a_second_load_reads_the_cache_and_a_changed_folder_decodes_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("images"), tmp.path().join("cache"));
    folder(&dir, 5);
    let (first, lines) = load(&dir, &cache);
    assert!(!from_cache(&lines), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("1 unreadable files skipped")),
        "{lines:?}"
    );
    assert_eq!(first, load_folder(&dir, 3, 8).unwrap());
    assert_eq!(first.count, 5);
    let (second, lines) = load(&dir, &cache);
    assert!(from_cache(&lines), "{lines:?}");
    assert_eq!(second, first);

    // Same name and size, other pixels, another modification time.
    let file = dir.join("03.png");
    write_png(&file, 40);
    let later = SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let (changed, lines) = load(&dir, &cache);
    assert!(
        !from_cache(&lines),
        "a changed file must decode again: {lines:?}"
    );
    assert_ne!(changed, first);
    assert_eq!(changed, load_folder(&dir, 3, 8).unwrap());

    // A file added, then one removed.
    write_png(&dir.join("sub/extra.png"), 9);
    let (added, lines) = load(&dir, &cache);
    assert!(!from_cache(&lines) && added.count == 6, "{lines:?}");
    std::fs::remove_file(dir.join("01.png")).unwrap();
    let (removed, lines) = load(&dir, &cache);
    assert!(!from_cache(&lines) && removed.count == 5, "{lines:?}");
    assert_eq!(removed, load_folder(&dir, 3, 8).unwrap());
    let (again, lines) = load(&dir, &cache);
    assert!(from_cache(&lines) && again == removed, "{lines:?}");
    // Another size is another cache entry, not a mix-up.
    let mut log = |_: &str| {};
    let small = load_cached(&dir, 1, 4, Some(&cache), &mut log).unwrap();
    assert_eq!(small.image_len(), 16);
}

#[test]
fn a_corrupt_cache_file_is_rebuilt_with_a_one_line_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("images"), tmp.path().join("cache"));
    folder(&dir, 4);
    let (want, _) = load(&dir, &cache);
    let path = cache_file(&cache);
    let good = std::fs::read(&path).unwrap();
    let mut magic = good.clone();
    magic[..8].copy_from_slice(b"PNGCACHE");
    let damaged: [(&str, Vec<u8>); 4] = [
        ("garbage", b"not a cache at all".to_vec()),
        ("wrong magic", magic),
        ("truncated", good[..good.len() - 7].to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in damaged {
        std::fs::write(&path, bytes).unwrap();
        let (ds, lines) = load(&dir, &cache);
        assert_eq!(ds, want, "{what}");
        let warnings: Vec<_> = lines
            .iter()
            .filter(|l| l.starts_with("warning: folder cache"))
            .collect();
        assert_eq!(warnings.len(), 1, "{what}: {lines:?}");
        assert!(
            warnings[0].contains("unreadable") && warnings[0].contains(&path.display().to_string())
        );
        assert!(!warnings[0].contains('\n'));
        // Rebuilt: the next load reads it.
        let (ds, lines) = load(&dir, &cache);
        assert!(from_cache(&lines) && ds == want, "{what}: {lines:?}");
    }
}

#[test]
fn train_on_a_folder_uses_the_cache_dir_it_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("images"), tmp.path().join("cache"));
    folder(&dir, 4);
    let train = |out: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"))
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .env(CACHE_VAR, &cache)
            .args(
                "train --device cpu --model dcgan64 --channels 3 --ngf 4 --ndf 4 --steps 1"
                    .split(' '),
            )
            .args([
                "--batch-size",
                "2",
                "--tensorboard",
                "false",
                "--data-folder",
            ])
            .arg(&dir)
            .arg("--out")
            .arg(tmp.path().join(out))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success() && !err.contains("panicked"), "{err}");
        err
    };
    let cold = train("a");
    assert!(
        cold.contains("decoded 4 images") && cold.contains("cached them in"),
        "{cold}"
    );
    let warm = train("b");
    assert!(
        warm.contains("loaded 4 images") && warm.contains("from the cache"),
        "{warm}"
    );
    assert!(!warm.contains("warning: skipping"), "{warm}");
    cache_file(&cache);
}

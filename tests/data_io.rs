//! Data loading (IDX, embedded MNIST, Fashion-MNIST) here; output files in `data_io/io_files.rs`.

use std::io::Write;
use std::path::Path;

use wgpu_gan::data::{self, DataError, Dataset};

// The output-file tests live beside this file to keep each under ~400 lines; the path attribute
// keeps them in this one test binary (cargo does not build files in tests/ subfolders alone).
#[path = "data_io/io_files.rs"]
mod io_files;

// ---------- helpers ----------

fn idx_images(count: u32, height: u32, width: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 3];
    for dim in [count, height, width] {
        bytes.extend_from_slice(&dim.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 1];
    bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    bytes.extend_from_slice(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Three 2x4 images with pixel values 0..24 and labels 7, 0, 9.
fn synthetic() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..24).collect();
    (idx_images(3, 2, 4, &pixels), idx_labels(&[7, 0, 9]))
}

fn write_dir(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

/// Loads a directory holding `images` and `labels` under the standard plain names.
fn load_pair(images: &[u8], labels: &[u8]) -> (tempfile::TempDir, Result<Dataset, DataError>) {
    let dir = write_dir(&[
        ("train-images-idx3-ubyte", images),
        ("train-labels-idx1-ubyte", labels),
    ]);
    let result = data::load_idx_dir(dir.path());
    (dir, result)
}

/// The error message is one line and names `needle` (a file or directory).
fn assert_one_line_naming(err: &dyn std::fmt::Display, needle: &str) {
    let message = err.to_string();
    assert!(!message.contains('\n'), "multi-line message: {message}");
    assert!(
        message.contains(needle),
        "{message:?} does not name {needle:?}"
    );
}

// ---------- data ----------

#[test]
fn embedded_mnist_is_10k_plausible_digits() {
    let ds = data::embedded_mnist().unwrap();
    assert_eq!(ds.name, "mnist-10k (embedded)");
    assert_eq!(
        (ds.count, ds.channels, ds.height, ds.width),
        (10_000, 1, 28, 28)
    );
    assert_eq!(ds.image_len(), 784);
    assert_eq!(ds.images.len(), 10_000 * 784);
    assert_eq!(ds.labels.len(), 10_000);
    let mut per_class = [0usize; 10];
    for &label in &ds.labels {
        per_class[label as usize] += 1; // panics (fails) on a label > 9
    }
    assert!(
        per_class.iter().all(|&n| n > 500),
        "class counts {per_class:?}"
    );
    // MNIST: mean pixel about 33, and most pixels are background zeros.
    let mean = ds.images.iter().map(|&p| p as f64).sum::<f64>() / ds.images.len() as f64;
    assert!((25.0..45.0).contains(&mean), "mean pixel {mean}");
    let zeros = ds.images.iter().filter(|&&p| p == 0).count() as f64 / ds.images.len() as f64;
    assert!(
        (0.7..0.9).contains(&zeros),
        "fraction of zero pixels {zeros}"
    );
    assert!(ds.images.contains(&255));
}

#[test]
fn load_idx_dir_reads_plain_gz_and_dotted_names() {
    let (images, labels) = synthetic();
    let (images_gz, labels_gz) = (gzip(&images), gzip(&labels));
    let layouts: [[(&str, &[u8]); 2]; 3] = [
        [
            ("train-images-idx3-ubyte", &images),
            ("train-labels-idx1-ubyte.gz", &labels_gz),
        ],
        [
            ("train-images-idx3-ubyte.gz", &images_gz),
            ("train-labels-idx1-ubyte", &labels),
        ],
        [
            ("train-images.idx3-ubyte", &images),
            ("train-labels.idx1-ubyte.gz", &labels_gz),
        ],
    ];
    for files in layouts {
        let dir = write_dir(&files);
        let ds = data::load_idx_dir(dir.path()).unwrap();
        assert_eq!((ds.count, ds.channels, ds.height, ds.width), (3, 1, 2, 4));
        assert_eq!(ds.images, (0..24).collect::<Vec<u8>>());
        assert_eq!(ds.labels, vec![7, 0, 9]);
        assert_eq!(ds.name, dir.path().display().to_string());
    }
}

#[test]
fn load_idx_dir_prefers_the_plain_file() {
    let (images, labels) = synthetic();
    let dir = write_dir(&[
        ("train-images-idx3-ubyte", &images),
        ("train-images-idx3-ubyte.gz", b"\x1f\x8bnot really gzip"),
        ("train-labels-idx1-ubyte", &labels),
    ]);
    assert_eq!(data::load_idx_dir(dir.path()).unwrap().count, 3);
}

#[test]
fn missing_and_wrong_paths_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = data::load_idx_dir(&missing).unwrap_err();
    assert!(matches!(err, DataError::DirMissing { .. }), "{err:?}");
    assert_one_line_naming(&err, "nope");

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = data::load_idx_dir(&file).unwrap_err();
    assert!(matches!(err, DataError::NotADirectory { .. }), "{err:?}");
    assert_one_line_naming(&err, "a-file");

    let (images, _) = synthetic();
    let only_images = write_dir(&[("train-images-idx3-ubyte.gz", &gzip(&images))]);
    let err = data::load_idx_dir(only_images.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::FilesMissing {
                missing: "training labels",
                ..
            }
        ),
        "{err:?}"
    );
    assert_one_line_naming(&err, "train-labels-idx1-ubyte");
    assert_one_line_naming(&err, &only_images.path().display().to_string());
}

#[test]
fn truncated_and_corrupt_gzip_are_reported() {
    let (images, labels) = synthetic();
    let images_gz = gzip(&images);
    let truncated = &images_gz[..images_gz.len() / 2];
    let mut corrupt = images_gz.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    corrupt[middle + 1] ^= 0xff;
    for bad in [truncated, &corrupt[..]] {
        let dir = write_dir(&[
            ("train-images-idx3-ubyte.gz", bad),
            ("train-labels-idx1-ubyte", &labels),
        ]);
        let err = data::load_idx_dir(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
        assert_one_line_naming(&err, "train-images-idx3-ubyte.gz");
    }
}

#[test]
fn bad_headers_are_reported() {
    let (images, labels) = synthetic();

    let (_dir, result) = load_pair(&labels, &labels);
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: 0x801,
                expected: 0x803,
                ..
            }
        ),
        "{err:?}"
    );
    assert_one_line_naming(&err, "train-images-idx3-ubyte");
    assert_one_line_naming(&err, "0x00000801");

    let (_dir, result) = load_pair(&images[..10], &labels);
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TooShort {
                len: 10,
                need: 16,
                ..
            }
        ),
        "{err:?}"
    );
    assert_one_line_naming(&err, "train-images-idx3-ubyte");

    let (_dir, result) = load_pair(&images[..images.len() - 1], &labels);
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LengthMismatch {
                expected: 24,
                found: 23,
                ..
            }
        ),
        "{err:?}"
    );
    assert_one_line_naming(&err, "3x2x4");

    // Three sizes near 2^32 must not overflow into a bogus match.
    let huge = idx_images(u32::MAX, u32::MAX, u32::MAX, &[1, 2, 3]);
    let err = data::parse_idx_images(&huge, "huge").unwrap_err();
    assert!(matches!(err, DataError::LengthMismatch { .. }), "{err:?}");
}

#[test]
fn inconsistent_contents_are_reported() {
    let (images, _) = synthetic();

    let (_dir, result) = load_pair(&images, &idx_labels(&[1, 2]));
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 3,
                labels: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_one_line_naming(&err, "3 images but 2 labels");

    let (_dir, result) = load_pair(&images, &idx_labels(&[1, 10, 2]));
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadLabel {
                index: 1,
                label: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_one_line_naming(&err, "train-labels-idx1-ubyte");

    let (_dir, result) = load_pair(&idx_images(0, 28, 28, &[]), &idx_labels(&[]));
    let err = result.unwrap_err();
    assert!(matches!(err, DataError::Empty { count: 0, .. }), "{err:?}");
    assert_one_line_naming(&err, "train-images-idx3-ubyte");
}

#[test]
fn check_shape_names_both_sizes() {
    let ds = data::embedded_mnist().unwrap();
    assert!(data::check_shape(&ds, 28, 28).is_ok());
    let err = data::check_shape(&ds, 32, 32).unwrap_err();
    assert!(matches!(err, DataError::ShapeMismatch { .. }), "{err:?}");
    assert_one_line_naming(&err, "images are 28x28 but the model needs 32x32");
}

#[test]
fn fashion_mnist_loads_or_names_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let err = data::fashion_mnist_at(&dir.path().join("absent")).unwrap_err();
    assert!(matches!(err, DataError::PackageMissing { .. }), "{err:?}");
    assert_one_line_naming(&err, "apt-get install dataset-fashion-mnist");

    // The real package is optional on a developer machine; check it whenever it is there.
    match data::fashion_mnist() {
        Ok(ds) => {
            assert_eq!(ds.name, "fashion-mnist");
            assert_eq!((ds.count, ds.height, ds.width), (60_000, 28, 28));
            let mut per_class = [0usize; 10];
            ds.labels.iter().for_each(|&l| per_class[l as usize] += 1);
            assert_eq!(per_class, [6_000; 10]);
        }
        Err(err) => {
            assert!(!Path::new(data::FASHION_MNIST_DIR).exists(), "{err}");
            assert!(matches!(err, DataError::PackageMissing { .. }), "{err:?}");
        }
    }
}

//! Training data: IDX files (plain or gzip), the embedded MNIST sample, and Debian's
//! Fashion-MNIST package.
//!
//! Every loader returns a [`Dataset`] of raw bytes (0..=255) as stored; scaling to [-1, 1] is
//! the trainer's job. All problems with files come back as a [`DataError`] whose message is one
//! line naming the file or directory.

pub mod domain;
pub mod folder;
pub mod folder_cache;
mod idx;
pub mod optdigits;

use std::path::{Path, PathBuf};

pub use idx::{parse_idx_images, parse_idx_labels, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC};

/// Where Debian's `dataset-fashion-mnist` package installs its files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The Debian package that provides [`FASHION_MNIST_DIR`].
pub const FASHION_MNIST_PACKAGE: &str = "dataset-fashion-mnist";

/// File names tried, in order, for the training images. Plain files come first because they
/// need no decompression; the dotted names are how some mirrors spell them.
pub const IMAGE_FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-images-idx3-ubyte.gz",
    "train-images.idx3-ubyte",
    "train-images.idx3-ubyte.gz",
];
/// File names tried, in order, for the training labels.
pub const LABEL_FILE_NAMES: [&str; 4] = [
    "train-labels-idx1-ubyte",
    "train-labels-idx1-ubyte.gz",
    "train-labels.idx1-ubyte",
    "train-labels.idx1-ubyte.gz",
];

static EMBEDDED_IMAGES: &[u8] = include_bytes!("../../assets/images-idx3-ubyte.gz");
static EMBEDDED_LABELS: &[u8] = include_bytes!("../../assets/labels-idx1-ubyte.gz");

/// A labelled image set. `images` is `(count, channels, height, width)`, row-major bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// "mnist-10k (embedded)", "fashion-mnist", or the directory it was loaded from.
    pub name: String,
    pub images: Vec<u8>,
    /// One class label 0..=9 per image.
    pub labels: Vec<u8>,
    pub count: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Dataset {
    /// Bytes per image: `channels * height * width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }
}

/// Everything that can go wrong while loading a dataset. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("dataset directory {} does not exist", .dir.display())]
    DirMissing { dir: PathBuf },
    #[error("dataset path {} is not a directory", .dir.display())]
    NotADirectory { dir: PathBuf },
    #[error("{} has no {missing} file; expected one of: {expected}", .dir.display())]
    FilesMissing {
        dir: PathBuf,
        missing: &'static str,
        expected: String,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: truncated or corrupt gzip data ({source})")]
    Gzip {
        what: String,
        source: std::io::Error,
    },
    #[error("{what}: file is {len} bytes, shorter than the {need}-byte IDX header")]
    TooShort {
        what: String,
        len: usize,
        need: usize,
    },
    #[error("{what}: not an IDX {kind} file: magic is 0x{found:08x}, expected 0x{expected:08x}")]
    BadMagic {
        what: String,
        kind: &'static str,
        found: u32,
        expected: u32,
    },
    #[error("{what}: header says {dims} = {expected} data bytes but the file holds {found}")]
    LengthMismatch {
        what: String,
        dims: String,
        expected: u128,
        found: usize,
    },
    #[error("{name}: {images} images but {labels} labels")]
    CountMismatch {
        name: String,
        images: usize,
        labels: usize,
    },
    #[error("{what}: label {label} at index {index} is outside 0..=9")]
    BadLabel {
        what: String,
        index: usize,
        label: u8,
    },
    #[error("{name}: dataset is empty ({count} images of {height}x{width})")]
    Empty {
        name: String,
        count: usize,
        height: usize,
        width: usize,
    },
    #[error("Fashion-MNIST not found in {}; install it with `apt-get install {package}`", .dir.display())]
    PackageMissing { dir: PathBuf, package: &'static str },
    #[error("{name}: images are {height}x{width} but the model needs {want_height}x{want_width}")]
    ShapeMismatch {
        name: String,
        height: usize,
        width: usize,
        want_height: usize,
        want_width: usize,
    },
}

/// The 10,000-image MNIST sample compiled into the binary, so training works with no files.
pub fn embedded_mnist() -> Result<Dataset, DataError> {
    dataset_from_idx(
        "mnist-10k (embedded)",
        (EMBEDDED_IMAGES, "embedded images-idx3-ubyte.gz"),
        (EMBEDDED_LABELS, "embedded labels-idx1-ubyte.gz"),
    )
}

/// Loads the training split from a directory with the standard MNIST file names
/// ([`IMAGE_FILE_NAMES`], [`LABEL_FILE_NAMES`]), each plain or gzip.
pub fn load_idx_dir(dir: &Path) -> Result<Dataset, DataError> {
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
    let images_path = find_file(dir, &IMAGE_FILE_NAMES, "training images")?;
    let labels_path = find_file(dir, &LABEL_FILE_NAMES, "training labels")?;
    let images = read_file(&images_path)?;
    let labels = read_file(&labels_path)?;
    dataset_from_idx(
        &dir.display().to_string(),
        (&images, &images_path.display().to_string()),
        (&labels, &labels_path.display().to_string()),
    )
}

/// Fashion-MNIST's 60,000 training images from Debian's `dataset-fashion-mnist` package.
pub fn fashion_mnist() -> Result<Dataset, DataError> {
    fashion_mnist_at(Path::new(FASHION_MNIST_DIR))
}

/// Like [`fashion_mnist`] but from another directory (tests point it at a missing one).
/// A missing directory or file becomes [`DataError::PackageMissing`], which names the package.
pub fn fashion_mnist_at(dir: &Path) -> Result<Dataset, DataError> {
    match load_idx_dir(dir) {
        Ok(dataset) => Ok(Dataset {
            name: "fashion-mnist".to_string(),
            ..dataset
        }),
        Err(DataError::DirMissing { .. } | DataError::FilesMissing { .. }) => {
            Err(DataError::PackageMissing {
                dir: dir.to_path_buf(),
                package: FASHION_MNIST_PACKAGE,
            })
        }
        Err(other) => Err(other),
    }
}

/// Checks the images are `height x width`, as a model built for that size needs.
pub fn check_shape(dataset: &Dataset, height: usize, width: usize) -> Result<(), DataError> {
    if dataset.height == height && dataset.width == width {
        return Ok(());
    }
    Err(DataError::ShapeMismatch {
        name: dataset.name.clone(),
        height: dataset.height,
        width: dataset.width,
        want_height: height,
        want_width: width,
    })
}

/// Builds a one-channel dataset from IDX image and label bytes, each paired with its name.
fn dataset_from_idx(
    name: &str,
    (image_bytes, images_what): (&[u8], &str),
    (label_bytes, labels_what): (&[u8], &str),
) -> Result<Dataset, DataError> {
    let (count, height, width, images) = parse_idx_images(image_bytes, images_what)?;
    if count == 0 || height == 0 || width == 0 {
        return Err(DataError::Empty {
            name: images_what.to_string(),
            count,
            height,
            width,
        });
    }
    let labels = parse_idx_labels(label_bytes, labels_what)?;
    if labels.len() != count {
        return Err(DataError::CountMismatch {
            name: name.to_string(),
            images: count,
            labels: labels.len(),
        });
    }
    Ok(Dataset {
        name: name.to_string(),
        images,
        labels,
        count,
        channels: 1,
        height,
        width,
    })
}

fn find_file(dir: &Path, names: &[&str], missing: &'static str) -> Result<PathBuf, DataError> {
    names
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| DataError::FilesMissing {
            dir: dir.to_path_buf(),
            missing,
            expected: names.join(", "),
        })
}

fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Where the training images come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DataSource {
    /// The 10,000 MNIST digits embedded in the binary.
    Embedded,
    /// A directory of MNIST-style IDX files (plain or .gz).
    IdxDir(PathBuf),
    /// Debian's dataset-fashion-mnist.
    Fashion,
    /// A directory of PNG and JPEG images, resized and center-cropped to `size` x `size` with
    /// `channels` (1 gray, 3 RGB).
    Folder {
        dir: PathBuf,
        channels: usize,
        size: usize,
    },
}

impl DataSource {
    pub fn load(&self) -> Result<Dataset, DataError> {
        match self {
            Self::Embedded => embedded_mnist(),
            Self::IdxDir(dir) => load_idx_dir(dir),
            Self::Fashion => fashion_mnist(),
            Self::Folder {
                dir,
                channels,
                size,
            } => {
                let cache = folder_cache::cache_dir();
                let log = &mut |line: &str| eprintln!("{line}");
                folder_cache::load_cached(dir, *channels, *size, cache.as_deref(), log)
            }
        }
    }
}

//! NumPy `.npy` arrays of little-endian f32 (`<f4`, C order), loadable with `numpy.load`.

use std::io::Write;
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;

use super::{write_file, AtomicFile, IoError};

/// Writes `data` with the given shape (row-major) as a `.npy` file.
pub fn write_npy(path: &Path, data: &[f32], shape: &[usize]) -> Result<(), IoError> {
    let elements: usize = shape.iter().product();
    if elements != data.len() {
        return Err(IoError::Shape {
            path: path.to_path_buf(),
            message: format!(
                "shape {shape:?} holds {elements} values but {} were given",
                data.len()
            ),
        });
    }
    let encode_error = |err: std::io::Error| IoError::Encode {
        path: path.to_path_buf(),
        message: err.to_string(),
    };
    let shape_u64: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut bytes = Vec::with_capacity(128 + 4 * data.len());
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape_u64)
        .writer(&mut bytes)
        .begin_nd()
        .map_err(encode_error)?;
    writer.extend(data.iter().copied()).map_err(encode_error)?;
    writer.finish().map_err(encode_error)?;
    write_file(path, &bytes)
}

/// The `.npy` (version 1.0) header for little-endian f32 in C order of `shape`, padded so the
/// data starts on a 64-byte boundary as NumPy writes it.
pub fn npy_header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // magic (6) + version (2) + length (2) + dict + '\n', to a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((dict.len() as u16).to_le_bytes());
    bytes.extend(dict.as_bytes());
    bytes
}

/// A `.npy` of f32 written in pieces: the header first (the shape is known up front), then the
/// values as they come, so an array of any size is written in bounded memory. The file appears
/// at its path only once every value is written ([`AtomicFile`]).
pub struct NpyStream {
    file: AtomicFile,
    path: PathBuf,
    left: u64,
}

impl NpyStream {
    pub fn create(path: &Path, shape: &[usize]) -> Result<Self, IoError> {
        let write_err = |source| IoError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut file = AtomicFile::create(path).map_err(write_err)?;
        file.write_all(&npy_header(shape)).map_err(write_err)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            left: shape.iter().map(|&d| d as u64).product(),
        })
    }

    /// Appends `values` (at most as many as the shape has left).
    pub fn write(&mut self, values: &[f32]) -> Result<(), IoError> {
        if values.len() as u64 > self.left {
            return Err(self.shape_error(format!(
                "{} values too many",
                values.len() as u64 - self.left
            )));
        }
        self.left -= values.len() as u64;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.file
            .write_all(&bytes)
            .map_err(|source| IoError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Puts the file in place once every value has been written.
    pub fn finish(self) -> Result<(), IoError> {
        if self.left > 0 {
            return Err(self.shape_error(format!("{} values missing", self.left)));
        }
        let path = self.path;
        self.file
            .commit()
            .map_err(|source| IoError::Write { path, source })
    }

    fn shape_error(&self, message: String) -> IoError {
        IoError::Shape {
            path: self.path.clone(),
            message,
        }
    }
}

/// Reads a `.npy` file of f32 in C order; returns the values and the shape.
pub fn read_npy(path: &Path) -> Result<(Vec<f32>, Vec<usize>), IoError> {
    let bytes = std::fs::read(path).map_err(|source| IoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let decode_error = |message: String| IoError::Decode {
        path: path.to_path_buf(),
        message,
    };
    let file = npyz::NpyFile::new(&bytes[..]).map_err(|err| decode_error(err.to_string()))?;
    if file.order() != npyz::Order::C && file.shape().len() > 1 {
        return Err(decode_error(
            "Fortran-order arrays are not supported".into(),
        ));
    }
    let shape = file
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| decode_error(format!("shape {:?} is too large", file.shape())))?;
    let data = file
        .into_vec::<f32>()
        .map_err(|err| decode_error(err.to_string()))?;
    Ok((data, shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_npy_equals_one_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<f32> = (0..2 * 3 * 5).map(|i| i as f32 - 7.5).collect();
        for shape in [vec![30], vec![2, 15], vec![2, 3, 5], vec![1, 2, 3, 5]] {
            let (whole, streamed) = (dir.path().join("w.npy"), dir.path().join("s.npy"));
            write_npy(&whole, &data, &shape).unwrap();
            let mut s = NpyStream::create(&streamed, &shape).unwrap();
            for part in data.chunks(7) {
                s.write(part).unwrap();
            }
            s.finish().unwrap();
            assert_eq!(read_npy(&streamed).unwrap(), (data.clone(), shape.clone()));
            assert_eq!(npy_header(&shape).len() % 64, 0);
        }
        let mut short = NpyStream::create(&dir.path().join("short.npy"), &[4]).unwrap();
        short.write(&[1.0]).unwrap();
        assert!(short.finish().is_err());
        assert!(!dir.path().join("short.npy").exists());
    }
}

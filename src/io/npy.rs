//! NumPy `.npy` arrays of little-endian f32 (`<f4`, C order), loadable with `numpy.load`.

use std::path::Path;

use npyz::WriterBuilder;

use super::{write_file, IoError};

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

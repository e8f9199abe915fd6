//! IDX file parsing (the MNIST container format), plain or gzip-compressed.
//!
//! Layout: a 4-byte big-endian magic (`0x0000_08NN`: unsigned bytes, NN dimensions), then NN
//! big-endian u32 sizes, then the data row-major. The `mnist` crate is not used: it reads only
//! from paths (not the embedded bytes), cannot decompress without its download feature, and
//! panics on bad files.

use std::borrow::Cow;
use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::DataError;

/// Magic of an IDX file of unsigned bytes with 3 dimensions (count, rows, columns).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic of an IDX file of unsigned bytes with 1 dimension (count).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Parses an IDX image file, plain or gzip (detected by its magic `1f 8b`).
///
/// Returns `(count, height, width, pixels)` with pixels `count * height * width` bytes, row-major.
/// `what` names the source (usually its path) in error messages.
pub fn parse_idx_images(
    bytes: &[u8],
    what: &str,
) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    let bytes = gunzip_if_needed(bytes, what)?;
    let (dims, data) = split_header(&bytes, what, IDX_IMAGES_MAGIC, "image")?;
    let (count, height, width) = (dims[0], dims[1], dims[2]);
    check_data_len(what, &dims, data.len())?;
    Ok((count, height, width, data.to_vec()))
}

/// Parses an IDX label file, plain or gzip, and checks every label is a digit class 0..=9.
pub fn parse_idx_labels(bytes: &[u8], what: &str) -> Result<Vec<u8>, DataError> {
    let bytes = gunzip_if_needed(bytes, what)?;
    let (dims, data) = split_header(&bytes, what, IDX_LABELS_MAGIC, "label")?;
    check_data_len(what, &dims, data.len())?;
    if let Some(index) = data.iter().position(|&label| label > 9) {
        return Err(DataError::BadLabel {
            what: what.to_string(),
            index,
            label: data[index],
        });
    }
    Ok(data.to_vec())
}

/// Decompresses gzip data; anything else is returned as is.
fn gunzip_if_needed<'a>(bytes: &'a [u8], what: &str) -> Result<Cow<'a, [u8]>, DataError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    // MultiGzDecoder so that concatenated gzip members (as `cat a.gz b.gz` makes) read whole.
    MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            what: what.to_string(),
            source,
        })?;
    Ok(Cow::Owned(out))
}

/// Checks the magic and returns the dimension sizes and the data that follows the header.
fn split_header<'a>(
    bytes: &'a [u8],
    what: &str,
    expected_magic: u32,
    kind: &'static str,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let ndims = (expected_magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    let too_short = |need: usize| DataError::TooShort {
        what: what.to_string(),
        len: bytes.len(),
        need,
    };
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    // The magic is checked before the full header length so that a label file passed as images
    // (shorter header) is reported as the wrong kind of file, not as a short one.
    if bytes.len() < 4 {
        return Err(too_short(header_len));
    }
    let found = word(0);
    if found != expected_magic {
        return Err(DataError::BadMagic {
            what: what.to_string(),
            kind,
            found,
            expected: expected_magic,
        });
    }
    if bytes.len() < header_len {
        return Err(too_short(header_len));
    }
    let dims = (0..ndims).map(|d| word(4 + 4 * d) as usize).collect();
    Ok((dims, &bytes[header_len..]))
}

/// The data must be exactly as long as the header's dimensions say: a longer file is as
/// suspicious as a shorter one (wrong file, or a header from another file).
fn check_data_len(what: &str, dims: &[usize], found: usize) -> Result<(), DataError> {
    // u128 so that a corrupt header (three sizes near 2^32) cannot overflow.
    let expected: u128 = dims.iter().map(|&d| d as u128).product();
    if expected == found as u128 {
        return Ok(());
    }
    let dims = dims
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x");
    Err(DataError::LengthMismatch {
        what: what.to_string(),
        dims,
        expected,
        found,
    })
}

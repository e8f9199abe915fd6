//! samples/progress.gif: the sample grids so far as one looping animated GIF, a time-lapse of
//! training in one picture.

use super::{write_file, IoError};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame};
use std::path::Path;

/// Milliseconds each grid shows; the last one holds longer so the loop's end is visible.
const FRAME_MS: u32 = 200;
const LAST_FRAME_MS: u32 = 2000;

/// NeuQuant's speed (1 best, 30 fastest) for colour grids of more than 256 colours; grids with
/// fewer (every grayscale one) keep their exact colours whatever the speed.
const SPEED: i32 = 10;

/// Encodes `pngs` (the grids, oldest first, all the same size) as an animated GIF.
pub fn encode_progress(pngs: &[Vec<u8>]) -> image::ImageResult<Vec<u8>> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, SPEED);
        encoder.set_repeat(Repeat::Infinite)?;
        for (i, png) in pngs.iter().enumerate() {
            let rgba = image::load_from_memory(png)?.to_rgba8();
            let ms = if i + 1 == pngs.len() {
                LAST_FRAME_MS
            } else {
                FRAME_MS
            };
            let delay = Delay::from_numer_denom_ms(ms, 1);
            encoder.encode_frame(Frame::from_parts(rgba, 0, 0, delay))?;
        }
    }
    Ok(bytes)
}

/// Replaces `path` with the GIF of `pngs`, atomically (a viewer never sees half a file).
pub fn save_progress(path: &Path, pngs: &[Vec<u8>]) -> Result<(), IoError> {
    let bytes = encode_progress(pngs).map_err(|e| IoError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_file(path, &bytes)
}

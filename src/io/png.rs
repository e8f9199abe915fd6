//! Sample grids: a batch of generated images tiled into one PNG.
//!
//! Choices: every tile is upscaled by the integer factor [`GridLayout::scale`] (nearest
//! neighbour) so that small images are viewable (28x28 MNIST becomes 56x56); tiles are
//! separated and framed by [`GridLayout::PAD`] pixels of [`PAD_VALUE`] gray, so black tile
//! backgrounds stay distinguishable; unused cells in the last row are left gray.

use std::io::Cursor;
use std::path::Path;

use image::{ImageBuffer, ImageFormat, Pixel};

use super::{write_file, IoError};

/// Gray level of the border and padding between tiles.
pub const PAD_VALUE: u8 = 128;

/// Tiles smaller than this (longer side, in pixels) are upscaled towards it.
const MIN_TILE_SIDE: usize = 64;

/// Geometry of a grid PNG, shared by [`save_grid`] and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridLayout {
    pub cols: usize,
    pub rows: usize,
    /// Integer upscale factor applied to every tile.
    pub scale: usize,
    /// Tile size after scaling.
    pub tile_height: usize,
    pub tile_width: usize,
}

impl GridLayout {
    /// Border and gap width in output pixels (not scaled).
    pub const PAD: usize = 2;

    /// Layout for `count` images of `height x width` in `cols` columns (fewer if count is
    /// smaller). `cols` of zero is treated as one column.
    pub fn new(count: usize, height: usize, width: usize, cols: usize) -> Self {
        let cols = cols.clamp(1, count.max(1));
        let rows = count.div_ceil(cols);
        let scale = (MIN_TILE_SIDE / height.max(width).max(1)).max(1);
        GridLayout {
            cols,
            rows,
            scale,
            tile_height: height * scale,
            tile_width: width * scale,
        }
    }

    /// Total PNG width in pixels.
    pub fn width_px(&self) -> usize {
        self.cols * (self.tile_width + Self::PAD) + Self::PAD
    }

    /// Total PNG height in pixels.
    pub fn height_px(&self) -> usize {
        self.rows * (self.tile_height + Self::PAD) + Self::PAD
    }

    /// Top-left output pixel `(x, y)` of tile `index` (row-major order).
    pub fn tile_origin(&self, index: usize) -> (usize, usize) {
        let (row, col) = (index / self.cols, index % self.cols);
        (
            Self::PAD + col * (self.tile_width + Self::PAD),
            Self::PAD + row * (self.tile_height + Self::PAD),
        )
    }
}

/// Maps a value in [-1, 1] to a byte: -1 -> 0, 0 -> 128, 1 -> 255. Values outside are
/// clamped; NaN becomes 0 (Rust's float-to-int cast saturates and sends NaN to 0).
pub fn to_byte(value: f32) -> u8 {
    ((value.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Writes `count` images (NCHW floats in [-1, 1]) as a grid PNG with `cols` columns.
/// `channels` must be 1 (grayscale) or 3 (RGB).
pub fn save_grid(
    path: &Path,
    images: &[f32],
    count: usize,
    channels: usize,
    height: usize,
    width: usize,
    cols: usize,
) -> Result<(), IoError> {
    let shape_error = |message: String| IoError::Shape {
        path: path.to_path_buf(),
        message,
    };
    if count == 0 || height == 0 || width == 0 {
        return Err(shape_error(format!(
            "cannot make a grid of {count} images of {height}x{width}"
        )));
    }
    let needed = count * channels * height * width;
    if images.len() != needed {
        return Err(shape_error(format!(
            "{} floats given but {count}x{channels}x{height}x{width} needs {needed}",
            images.len()
        )));
    }
    let grid = Grid {
        images,
        count,
        height,
        width,
        layout: GridLayout::new(count, height, width, cols),
    };
    let encoded = match channels {
        1 => encode_png(&grid.render::<image::Luma<u8>>()),
        3 => encode_png(&grid.render::<image::Rgb<u8>>()),
        _ => {
            return Err(shape_error(format!(
                "{channels} channels; a grid needs 1 (gray) or 3 (RGB)"
            )))
        }
    };
    let bytes = encoded.map_err(|err| IoError::Encode {
        path: path.to_path_buf(),
        message: err.to_string(),
    })?;
    write_file(path, &bytes)
}

/// A validated batch plus its layout; the channel count comes from the pixel type.
struct Grid<'a> {
    images: &'a [f32],
    count: usize,
    height: usize,
    width: usize,
    layout: GridLayout,
}

impl Grid<'_> {
    fn render<P: Pixel<Subpixel = u8>>(&self) -> ImageBuffer<P, Vec<u8>> {
        let channels = P::CHANNEL_COUNT as usize;
        let layout = &self.layout;
        let mut out = ImageBuffer::from_pixel(
            layout.width_px() as u32,
            layout.height_px() as u32,
            *P::from_slice(&[PAD_VALUE; 4][..channels]),
        );
        let plane = self.height * self.width;
        for index in 0..self.count {
            let image = &self.images[index * channels * plane..(index + 1) * channels * plane];
            let (x0, y0) = layout.tile_origin(index);
            for y in 0..layout.tile_height {
                for x in 0..layout.tile_width {
                    let source = (y / layout.scale) * self.width + x / layout.scale;
                    let mut value = [0u8; 4];
                    for (c, byte) in value.iter_mut().take(channels).enumerate() {
                        *byte = to_byte(image[c * plane + source]);
                    }
                    let pixel = *P::from_slice(&value[..channels]);
                    out.put_pixel((x0 + x) as u32, (y0 + y) as u32, pixel);
                }
            }
        }
        out
    }
}

fn encode_png<P>(buffer: &ImageBuffer<P, Vec<u8>>) -> image::ImageResult<Vec<u8>>
where
    P: Pixel<Subpixel = u8> + image::PixelWithColorType,
{
    let mut bytes = Cursor::new(Vec::new());
    buffer.write_to(&mut bytes, ImageFormat::Png)?;
    Ok(bytes.into_inner())
}

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

/// Largest grid [`GridCanvas`] builds, in bytes of pixels: larger grids are refused before
/// anything is allocated (and are unwieldy in any viewer); `.npy` holds any number of images.
pub const MAX_GRID_BYTES: usize = 256 << 20;

impl GridLayout {
    /// Bytes of pixels with `channels` per pixel; None past usize.
    pub fn bytes(&self, channels: usize) -> Option<usize> {
        self.width_px()
            .checked_mul(self.height_px())?
            .checked_mul(channels)
    }
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
    let mut canvas = GridCanvas::new(path, count, channels, height, width, cols)?;
    let needed = count * channels * height * width;
    if images.len() != needed {
        return Err(canvas.shape_error(format!(
            "{} floats given but {count}x{channels}x{height}x{width} needs {needed}",
            images.len()
        )));
    }
    for (index, image) in images.chunks_exact(channels * height * width).enumerate() {
        canvas.put(index, image);
    }
    canvas.save()
}

/// A grid PNG drawn tile by tile, so the images need not all be in memory at once: gray or
/// RGB pixels (interleaved), unused cells and the padding gray.
pub struct GridCanvas {
    path: std::path::PathBuf,
    layout: GridLayout,
    channels: usize,
    height: usize,
    width: usize,
    pixels: Vec<u8>,
}

impl GridCanvas {
    /// A canvas for `count` images of `channels` x `height` x `width` in `cols` columns, to be
    /// saved at `path`; refuses (before allocating) a shape it cannot draw and a grid over
    /// [`MAX_GRID_BYTES`].
    pub fn new(
        path: &Path,
        count: usize,
        channels: usize,
        height: usize,
        width: usize,
        cols: usize,
    ) -> Result<Self, IoError> {
        let shape_error = |message: String| IoError::Shape {
            path: path.to_path_buf(),
            message,
        };
        if count == 0 || height == 0 || width == 0 {
            return Err(shape_error(format!(
                "cannot make a grid of {count} images of {height}x{width}"
            )));
        }
        if channels != 1 && channels != 3 {
            return Err(shape_error(format!(
                "{channels} channels; a grid needs 1 (gray) or 3 (RGB)"
            )));
        }
        let layout = GridLayout::new(count, height, width, cols);
        match layout.bytes(channels) {
            Some(n) if n <= MAX_GRID_BYTES => {}
            n => {
                let mib = n.map_or("over 16 EiB".into(), |n| format!("{} MiB", n >> 20));
                return Err(shape_error(format!(
                    "a grid of {count} images of {height}x{width} would be {}x{} pixels ({mib}),                      over the {} MiB a grid may take; write a .npy for that many",
                    layout.width_px(),
                    layout.height_px(),
                    MAX_GRID_BYTES >> 20
                )));
            }
        }
        let bytes = layout.bytes(channels).unwrap_or(0);
        Ok(Self {
            path: path.to_path_buf(),
            layout,
            channels,
            height,
            width,
            pixels: vec![PAD_VALUE; bytes],
        })
    }

    /// Draws image `index` (CHW floats in [-1, 1]) in its cell; an index past the grid or an
    /// image of the wrong size is ignored (the caller sized both).
    pub fn put(&mut self, index: usize, image: &[f32]) {
        let (layout, c) = (&self.layout, self.channels);
        let plane = self.height * self.width;
        if index >= layout.cols * layout.rows || image.len() != c * plane {
            return;
        }
        let (x0, y0) = layout.tile_origin(index);
        let row_px = layout.width_px();
        for y in 0..layout.tile_height {
            for x in 0..layout.tile_width {
                let source = (y / layout.scale) * self.width + x / layout.scale;
                let at = ((y0 + y) * row_px + x0 + x) * c;
                for (ch, byte) in self.pixels[at..at + c].iter_mut().enumerate() {
                    *byte = to_byte(image[ch * plane + source]);
                }
            }
        }
    }

    /// Encodes the grid and writes it atomically.
    pub fn save(self) -> Result<(), IoError> {
        let (w, h) = (
            self.layout.width_px() as u32,
            self.layout.height_px() as u32,
        );
        let path = self.path.clone();
        let encoded = match self.channels {
            1 => ImageBuffer::<image::Luma<u8>, _>::from_raw(w, h, self.pixels).map(encode_png),
            _ => ImageBuffer::<image::Rgb<u8>, _>::from_raw(w, h, self.pixels).map(encode_png),
        };
        let encode_error = |message: String| IoError::Encode {
            path: path.clone(),
            message,
        };
        let bytes = encoded
            .ok_or_else(|| encode_error("pixel buffer does not match the grid".into()))?
            .map_err(|err| encode_error(err.to_string()))?;
        write_file(&path, &bytes)
    }

    fn shape_error(&self, message: String) -> IoError {
        IoError::Shape {
            path: self.path.clone(),
            message,
        }
    }
}

fn encode_png<P>(buffer: ImageBuffer<P, Vec<u8>>) -> image::ImageResult<Vec<u8>>
where
    P: Pixel<Subpixel = u8> + image::PixelWithColorType,
{
    let mut bytes = Cursor::new(Vec::new());
    buffer.write_to(&mut bytes, ImageFormat::Png)?;
    Ok(bytes.into_inner())
}

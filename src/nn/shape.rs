//! The explicit shape of one sample of an activation, PyTorch's (C, [T,] H, W) without the
//! batch: the batch is the rows of the `NetActs` (or the input) that holds it. A dense
//! activation is (features, 1, 1, 1); an image (C, 1, H, W); a clip (C, T, H, W). Every
//! activation of a net has one (`Wiring::shapes`), so no caller re-derives a size by division.

use super::Layer;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub c: usize,
    pub t: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    /// `n` features, as a dense layer reads and writes them.
    pub const fn flat(n: usize) -> Self {
        Self {
            c: n,
            t: 1,
            h: 1,
            w: 1,
        }
    }

    pub const fn image(c: usize, h: usize, w: usize) -> Self {
        Self { c, t: 1, h, w }
    }

    pub const fn video(c: usize, t: usize, h: usize, w: usize) -> Self {
        Self { c, t, h, w }
    }

    /// Values per sample.
    pub const fn len(&self) -> usize {
        self.c * self.t * self.h * self.w
    }

    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it has no spatial extent (a dense layer's activation).
    pub const fn is_flat(&self) -> bool {
        self.t == 1 && self.h == 1 && self.w == 1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_flat(), self.t) {
            (true, _) => write!(f, "{}", self.c),
            (false, 1) => write!(f, "{}x{}x{}", self.c, self.h, self.w),
            (false, t) => write!(f, "{}x{t}x{}x{}", self.c, self.h, self.w),
        }
    }
}

impl Layer {
    /// The shape of its output for an input of `input`; fails when the input does not have the
    /// size the layer was built for. `From`'s shape is its tap's (`graph::wire`).
    pub fn out_shape(&self, input: Shape) -> Result<Shape, String> {
        let expect = |want: usize, what: String| {
            if input.len() == want {
                Ok(())
            } else {
                Err(format!(
                    "{what} reads {want} values per sample, not {input} = {}",
                    input.len()
                ))
            }
        };
        match self {
            Self::Linear {
                name,
                inputs,
                outputs,
                ..
            } => {
                expect(*inputs, name.to_string())?;
                Ok(Shape::flat(*outputs))
            }
            Self::Conv2d { name, spec: s, .. } => {
                let g = s.conv2d(1);
                expect(g.x_len(), format!("{name} ({}x{}x{})", s.c_in, s.h, s.w))?;
                Ok(Shape::image(s.c_out, g.out_h(), g.out_w()))
            }
            Self::ConvTranspose2d {
                name,
                spec: s,
                output_padding,
                ..
            } => {
                let g = s.transposed_padded(1, *output_padding);
                expect(g.x_len(), format!("{name} ({}x{}x{})", s.c_in, s.h, s.w))?;
                Ok(Shape::image(s.c_out, g.out_h(), g.out_w()))
            }
            &Self::PixelShuffle {
                channels: c,
                h,
                w,
                factor: r,
            } => {
                expect(
                    c * r * r * h * w,
                    format!("pixel_shuffle ({}x{h}x{w})", c * r * r),
                )?;
                Ok(Shape::image(c, r * h, r * w))
            }
            &Self::ReflectPad {
                channels: c,
                h,
                w,
                pad,
            } => {
                expect(c * h * w, format!("reflect_pad ({c}x{h}x{w})"))?;
                Ok(Shape::image(c, h + 2 * pad, w + 2 * pad))
            }
            Self::AvgPool(g) => {
                let (c, t, h, w) = (input.c, g.t, g.h, g.w);
                expect(c * t * h * w, format!("avg_pool ({c}x{t}x{h}x{w})"))?;
                Ok(Shape::video(c, t / g.kt, h / g.kh, w / g.kw))
            }
            Self::Conv3d { name, spec: s, .. } => {
                let g = s.conv3d(1);
                let what = format!("{name} ({}x{}x{}x{})", s.c_in, s.t, s.h, s.w);
                expect(s.c_in * s.t * s.h * s.w, what)?;
                Ok(Shape::video(s.c_out, g.out_t(), g.out_h(), g.out_w()))
            }
            &Self::Upsample { channels: c, h, w } => {
                expect(c * h * w, format!("upsample ({c}x{h}x{w})"))?;
                Ok(Shape::image(c, 2 * h, 2 * w))
            }
            Self::SpectralNorm(inner) => inner.out_shape(input),
            // `Concat`'s shape needs its tap's (`graph::wire`).
            Self::BatchNorm { .. }
            | Self::Act(_)
            | Self::Tap(_)
            | Self::Add(_)
            | Self::From(_)
            | Self::Concat(_)
            | Self::PRelu { .. }
            | Self::InstanceNorm { .. } => Ok(input),
        }
    }
}

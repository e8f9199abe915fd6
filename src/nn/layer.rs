//! The layer list a network is built from. Each layer knows its per-sample output size and the
//! PyTorch shapes of its parameters; the spatial layout of an activation is NCHW, so a conv
//! output flattened per sample is already PyTorch's `flatten(1)` order and no reshape layer is
//! needed between convolutions and dense layers.

use crate::cpu::conv2d::Conv2dGeometry;
use crate::cpu::conv3d::Conv3dGeometry;
use crate::cpu::conv_transpose2d::ConvTranspose2dGeometry;
use crate::cpu::pool::PoolGeometry;
use crate::ops::Activation;

/// A square-kernel convolution applied to (C_in, H, W) samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub c_in: usize,
    pub c_out: usize,
    /// Input height and width.
    pub h: usize,
    pub w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvSpec {
    /// `nn.Conv2d` geometry for a batch of `n`.
    pub fn conv2d(&self, n: usize) -> Conv2dGeometry {
        Conv2dGeometry {
            n,
            c_in: self.c_in,
            h: self.h,
            w: self.w,
            c_out: self.c_out,
            kh: self.kernel,
            kw: self.kernel,
            stride: self.stride,
            pad: self.pad,
        }
    }

    /// `nn.ConvTranspose2d` geometry for a batch of `n`.
    pub fn transposed(&self, n: usize) -> ConvTranspose2dGeometry {
        ConvTranspose2dGeometry {
            n,
            c_in: self.c_in,
            h: self.h,
            w: self.w,
            c_out: self.c_out,
            kh: self.kernel,
            kw: self.kernel,
            stride: self.stride,
            pad: self.pad,
            output_padding: 0,
        }
    }

    /// `nn.ConvTranspose2d(..., output_padding)` geometry for a batch of `n`.
    pub fn transposed_padded(&self, n: usize, output_padding: usize) -> ConvTranspose2dGeometry {
        ConvTranspose2dGeometry {
            output_padding,
            ..self.transposed(n)
        }
    }
}

/// A cubic-kernel convolution applied to (C_in, T, H, W) samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv3dSpec {
    pub c_in: usize,
    pub c_out: usize,
    /// Input frames, height and width.
    pub t: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Conv3dSpec {
    /// `nn.Conv3d` geometry for a batch of `n`.
    pub fn conv3d(&self, n: usize) -> Conv3dGeometry {
        Conv3dGeometry {
            n,
            c_in: self.c_in,
            t: self.t,
            h: self.h,
            w: self.w,
            c_out: self.c_out,
            k: self.kernel,
            stride: self.stride,
            pad: self.pad,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// PyTorch `nn.Linear`: weight (out, in), bias (out).
    Linear {
        name: String,
        inputs: usize,
        outputs: usize,
        bias: bool,
    },
    /// `nn.Conv2d`: weight (C_out, C_in, K, K), bias (C_out).
    Conv2d {
        name: String,
        spec: ConvSpec,
        bias: bool,
    },
    /// `nn.ConvTranspose2d`: weight (C_in, C_out, K, K), bias (C_out).
    ConvTranspose2d {
        name: String,
        spec: ConvSpec,
        output_padding: usize,
        bias: bool,
    },
    /// `nn.Conv3d`: weight (C_out, C_in, K, K, K), bias (C_out).
    Conv3d {
        name: String,
        spec: Conv3dSpec,
        bias: bool,
    },
    /// `F.interpolate(scale_factor=2, mode="nearest")` of (channels, h, w) samples.
    Upsample {
        channels: usize,
        h: usize,
        w: usize,
    },
    /// `torch.nn.utils.spectral_norm` of a Linear, Conv2d or Conv3d: the layer uses W / sigma,
    /// sigma from u and v in the net's state (`Net::spectral_norm_power` iterates them).
    SpectralNorm(Box<Layer>),
    /// `nn.BatchNorm1d` (hw = 1) or `nn.BatchNorm2d` over (N, C, HW).
    BatchNorm {
        name: String,
        channels: usize,
        hw: usize,
        eps: f32,
        momentum: f32,
    },
    Act(Activation),
    /// Names the current activation, for a later `Add` or `From` (`nn::graph`). Records nothing.
    Tap(String),
    /// The current activation plus the one tapped under the name: a residual add.
    Add(String),
    /// Continues from the activation tapped under the name: the start of a branch. Records
    /// nothing.
    From(String),
    /// The current activation's channels, then those of the one tapped under the name
    /// (`torch.cat([x, tapped], 1)`): both of the same frames, height and width.
    Concat(String),
    /// `nn.PReLU(channels)` on (C, HW) samples: weight (C), one slope per channel.
    PRelu {
        name: String,
        channels: usize,
        hw: usize,
    },
    /// `F.pixel_shuffle(x, factor)`: (C·r², H, W) -> (C, r·H, r·W); `channels` is C and
    /// (h, w) the input side.
    PixelShuffle {
        channels: usize,
        h: usize,
        w: usize,
        factor: usize,
    },
    /// `nn.InstanceNorm2d(channels)` (no affine, no running statistics) over (C, HW) samples.
    InstanceNorm {
        channels: usize,
        hw: usize,
        eps: f32,
    },
    /// `nn.ReflectionPad2d(pad)` on (C, H, W) samples.
    ReflectPad {
        channels: usize,
        h: usize,
        w: usize,
        pad: usize,
    },
    /// Average pooling, kernel = stride, on one sample: `planes` is its channel count.
    AvgPool(PoolGeometry),
}

impl Layer {
    pub fn linear(name: &str, inputs: usize, outputs: usize) -> Self {
        Self::dense(name, inputs, outputs, true)
    }

    pub fn dense(name: &str, inputs: usize, outputs: usize, bias: bool) -> Self {
        Self::Linear {
            name: name.into(),
            inputs,
            outputs,
            bias,
        }
    }

    pub fn conv2d(name: &str, spec: ConvSpec, bias: bool) -> Self {
        Self::Conv2d {
            name: name.into(),
            spec,
            bias,
        }
    }

    pub fn conv_transpose2d(name: &str, spec: ConvSpec, bias: bool) -> Self {
        Self::conv_transpose2d_padded(name, spec, 0, bias)
    }

    /// A transposed conv with PyTorch's `output_padding` (CycleGAN's k3 s2 p1 uses 1).
    pub fn conv_transpose2d_padded(
        name: &str,
        spec: ConvSpec,
        output_padding: usize,
        bias: bool,
    ) -> Self {
        Self::ConvTranspose2d {
            name: name.into(),
            spec,
            output_padding,
            bias,
        }
    }

    pub fn prelu(name: &str, channels: usize, hw: usize) -> Self {
        Self::PRelu {
            name: name.into(),
            channels,
            hw,
        }
    }

    /// Pixel shuffle of (channels·factor², h, w) samples to (channels, factor·h, factor·w).
    pub fn pixel_shuffle(channels: usize, (h, w): (usize, usize), factor: usize) -> Self {
        Self::PixelShuffle {
            channels,
            h,
            w,
            factor,
        }
    }

    /// Instance norm with PyTorch's eps 1e-5.
    pub fn instance_norm(channels: usize, hw: usize) -> Self {
        Self::InstanceNorm {
            channels,
            hw,
            eps: 1e-5,
        }
    }

    pub fn reflect_pad(channels: usize, (h, w): (usize, usize), pad: usize) -> Self {
        Self::ReflectPad {
            channels,
            h,
            w,
            pad,
        }
    }

    /// `avg_pool2d(x, k)` on (channels, h, w) samples.
    pub fn avg_pool2d(channels: usize, (h, w): (usize, usize), k: usize) -> Self {
        Self::AvgPool(PoolGeometry::pool2d(1, channels, (h, w), k))
    }

    pub fn conv3d(name: &str, spec: Conv3dSpec, bias: bool) -> Self {
        Self::Conv3d {
            name: name.into(),
            spec,
            bias,
        }
    }

    /// `layer` spectrally normalised.
    pub fn spectral_norm(layer: Layer) -> Self {
        Self::SpectralNorm(Box::new(layer))
    }

    pub fn batch_norm(name: &str, channels: usize, eps: f32, momentum: f32) -> Self {
        Self::batch_norm2d(name, channels, 1, eps, momentum)
    }

    /// BatchNorm2d over `channels` planes of `hw` pixels each.
    pub fn batch_norm2d(name: &str, channels: usize, hw: usize, eps: f32, momentum: f32) -> Self {
        Self::BatchNorm {
            name: name.into(),
            channels,
            hw,
            eps,
            momentum,
        }
    }

    /// The PyTorch shape of the weight and the length of the bias (if any), for layers with
    /// a weight.
    pub fn weight_shape(&self) -> Option<(Vec<usize>, Option<usize>)> {
        let bias_len = |bias: bool, n: usize| bias.then_some(n);
        match self {
            Self::Linear {
                inputs,
                outputs,
                bias,
                ..
            } => Some((vec![*outputs, *inputs], bias_len(*bias, *outputs))),
            Self::Conv2d { spec: s, bias, .. } => Some((
                vec![s.c_out, s.c_in, s.kernel, s.kernel],
                bias_len(*bias, s.c_out),
            )),
            Self::ConvTranspose2d { spec: s, bias, .. } => Some((
                vec![s.c_in, s.c_out, s.kernel, s.kernel],
                bias_len(*bias, s.c_out),
            )),
            Self::PRelu { channels, .. } => Some((vec![*channels], None)),
            Self::Conv3d { spec: s, bias, .. } => Some((
                vec![s.c_out, s.c_in, s.kernel, s.kernel, s.kernel],
                bias_len(*bias, s.c_out),
            )),
            Self::SpectralNorm(inner) => inner.weight_shape(),
            _ => None,
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Linear { name, .. }
            | Self::Conv2d { name, .. }
            | Self::ConvTranspose2d { name, .. }
            | Self::Conv3d { name, .. }
            | Self::BatchNorm { name, .. }
            | Self::PRelu { name, .. } => Some(name),
            Self::SpectralNorm(inner) => inner.name(),
            _ => None,
        }
    }

    pub(crate) fn label(&self, pass: &str) -> String {
        match (self.name(), self) {
            (Some(name), _) => format!("{name} {pass}"),
            (None, Self::Act(a)) => format!("{a:?} {pass}").to_lowercase(),
            (None, Self::Add(name)) => format!("add {name} {pass}"),
            (None, Self::Concat(name)) => format!("concat {name} {pass}"),
            (None, Self::PixelShuffle { .. }) => format!("pixel_shuffle {pass}"),
            (None, Self::InstanceNorm { .. }) => format!("instance_norm {pass}"),
            (None, Self::ReflectPad { .. }) => format!("reflect_pad {pass}"),
            (None, Self::AvgPool(_)) => format!("avg_pool {pass}"),
            (None, Self::Upsample { .. }) => format!("upsample {pass}"),
            (None, _) => pass.to_string(),
        }
    }
}

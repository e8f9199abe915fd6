//! The ops the image-to-image layers record (PReLU, pixel shuffle, instance norm, reflection
//! padding, average pooling): `record` asks here first and records the older layers itself.

use super::record::GradMode;
use super::{Layer, LayerParams, Net};
use crate::cpu::instance_norm::InstanceNormParams;
use crate::cpu::pixel_shuffle::PixelShuffleParams;
use crate::cpu::pool::PoolGeometry;
use crate::cpu::prelu::{PreluParams, ACCUMULATE};
use crate::cpu::reflect_pad::ReflectPadParams;
use crate::ops;
use crate::program::{Program, View};

/// A per-sample pool geometry for a batch of `b`.
fn batched(g: &PoolGeometry, b: usize) -> PoolGeometry {
    PoolGeometry {
        planes: g.planes * b,
        ..*g
    }
}

impl Net {
    /// The slope of layer i, a PReLU.
    fn slope(&self, i: usize) -> Option<View> {
        match self.layer_params[i] {
            LayerParams::Weighted { weight, .. } => Some(self.sub(self.params, weight)),
            _ => None,
        }
    }

    /// Records layer i's forward on a batch of `b` if it is one of these layers.
    pub(super) fn image_forward(
        &self,
        prog: &mut Program,
        b: usize,
        i: usize,
        (x, y): (View, View),
        label: &str,
    ) -> Option<ops::Result> {
        Some(match &self.layers[i] {
            Layer::PRelu { channels, hw, .. } => {
                let p = prelu_params(b, *channels, *hw, 0);
                match self.slope(i) {
                    Some(slope) => ops::prelu_forward(prog, p, x, slope, y, label),
                    None => Err(missing(label)),
                }
            }
            Layer::PixelShuffle {
                channels,
                h,
                w,
                factor,
            } => {
                let p = PixelShuffleParams::new(b, *channels, (*h, *w), *factor);
                ops::pixel_shuffle_forward(prog, p, x, y, label)
            }
            Layer::InstanceNorm { channels, hw, eps } => {
                let p = InstanceNormParams::new(b, *channels, *hw, *eps);
                ops::instance_norm_forward(prog, p, x, y, label)
            }
            Layer::ReflectPad {
                channels,
                h,
                w,
                pad,
            } => {
                let p = ReflectPadParams::new(b, *channels, (*h, *w), *pad);
                ops::reflect_pad_forward(prog, p, x, y, label)
            }
            Layer::AvgPool(g) => ops::avg_pool_forward(prog, batched(g, b), x, y, label),
            _ => return None,
        })
    }

    /// Records layer i's backward if it is one of these layers: the input gradient when `dx`,
    /// PReLU's slope gradient when `grads.params`.
    pub(super) fn image_backward(
        &self,
        prog: &mut Program,
        b: usize,
        i: usize,
        (x, dy, dx): (View, View, Option<View>),
        grads: GradMode,
        label: &str,
    ) -> Option<ops::Result> {
        let layer = &self.layers[i];
        if let Layer::PRelu { channels, hw, .. } = layer {
            return Some(self.prelu_backward(
                prog,
                i,
                (b, *channels, *hw),
                (x, dy, dx),
                grads,
                label,
            ));
        }
        let Some(dx) = dx else {
            // No parameters: nothing to record without an input gradient.
            return is_image_layer(layer).then_some(Ok(()));
        };
        Some(match layer {
            Layer::PixelShuffle {
                channels,
                h,
                w,
                factor,
            } => {
                let p = PixelShuffleParams::new(b, *channels, (*h, *w), *factor);
                ops::pixel_shuffle_backward(prog, p, dy, dx, label)
            }
            Layer::InstanceNorm { channels, hw, eps } => {
                let p = InstanceNormParams::new(b, *channels, *hw, *eps);
                ops::instance_norm_backward(prog, p, x, dy, dx, label)
            }
            Layer::ReflectPad {
                channels,
                h,
                w,
                pad,
            } => {
                let p = ReflectPadParams::new(b, *channels, (*h, *w), *pad);
                ops::reflect_pad_backward(prog, p, dy, dx, label)
            }
            Layer::AvgPool(g) => ops::avg_pool_backward(prog, batched(g, b), dy, dx, label),
            _ => return None,
        })
    }

    fn prelu_backward(
        &self,
        prog: &mut Program,
        i: usize,
        (b, c, hw): (usize, usize, usize),
        (x, dy, dx): (View, View, Option<View>),
        grads: GradMode,
        label: &str,
    ) -> ops::Result {
        let (Some(slope), LayerParams::Weighted { weight, .. }) =
            (self.slope(i), self.layer_params[i])
        else {
            return Err(missing(label));
        };
        if grads.params {
            let flags = if grads.accumulate { ACCUMULATE } else { 0 };
            let p = prelu_params(b, c, hw, flags);
            let g = self.sub(self.grads, weight);
            ops::prelu_slope_grad(prog, p, x, dy, g, &format!("{label} slope grad"))?;
        }
        match dx {
            Some(dx) => {
                let p = prelu_params(b, c, hw, 0);
                ops::prelu_backward(prog, p, (x, slope), dy, dx, &format!("{label} input grad"))
            }
            None => Ok(()),
        }
    }
}

fn is_image_layer(layer: &Layer) -> bool {
    matches!(
        layer,
        Layer::PixelShuffle { .. }
            | Layer::InstanceNorm { .. }
            | Layer::ReflectPad { .. }
            | Layer::AvgPool(_)
    )
}

fn prelu_params(b: usize, c: usize, hw: usize, flags: u32) -> PreluParams {
    PreluParams {
        n: b as u32,
        c: c as u32,
        hw: hw as u32,
        flags,
    }
}

fn missing(label: &str) -> ops::ShapeError {
    ops::ShapeError {
        op: label.to_string(),
        tensor: "layer parameters".into(),
        got: 0,
        expected: 1,
    }
}

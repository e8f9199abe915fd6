//! The ops each layer records: forward, and backward into parameter and input gradients.

use super::{Layer, LayerParams, Net, NetActs, Slot};
use crate::cpu::batch_norm::{BatchNormParams, ACCUMULATE as BN_ACCUMULATE, UPDATE_RUNNING};
use crate::cpu::conv2d::ACCUMULATE as CONV_ACCUMULATE;
use crate::cpu::matmul::ACCUMULATE as MATMUL_ACCUMULATE;
use crate::ops::{self, conv, BatchNormViews, Transpose};
use crate::program::{Program, View};

/// Which parameter gradients a backward pass produces.
#[derive(Clone, Copy, Debug)]
pub(super) struct GradMode {
    /// Write (or add) parameter gradients; off for a frozen net.
    pub params: bool,
    /// Add to the gradients already there instead of replacing them.
    pub accumulate: bool,
}

/// The forward input and output, the output gradient and (when needed) the input gradient of
/// one layer, for a batch of `batch`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Io {
    pub batch: usize,
    pub x: View,
    pub dy: View,
    pub dx: Option<View>,
}

pub(super) fn missing(label: &str) -> ops::ShapeError {
    ops::ShapeError {
        op: label.to_string(),
        tensor: "layer parameters".into(),
        got: 0,
        expected: 1,
    }
}

impl Net {
    pub(super) fn label(&self, i: usize, pass: &str) -> String {
        format!("{}.{}", self.prefix, self.layers[i].label(pass))
    }

    fn bn_params(&self, layer: &Layer, batch: usize, flags: u32) -> BatchNormParams {
        match layer {
            Layer::BatchNorm {
                channels,
                hw,
                eps,
                momentum,
                ..
            } => BatchNormParams {
                n: batch as u32,
                c: *channels as u32,
                hw: *hw as u32,
                flags,
                eps: *eps,
                momentum: *momentum,
            },
            _ => BatchNormParams::default(),
        }
    }

    fn bn_views(&self, i: usize, acts: &NetActs) -> Option<BatchNormViews> {
        match self.layer_params[i] {
            LayerParams::BatchNorm {
                gamma_beta,
                running,
            } => Some(BatchNormViews {
                gamma_beta: self.sub(self.params, gamma_beta),
                running: self.sub(self.state, running),
                saved: acts.saved[i]?,
            }),
            _ => None,
        }
    }

    pub(super) fn layer_forward(
        &self,
        prog: &mut Program,
        acts: &NetActs,
        i: usize,
        x: View,
        y: View,
        train: bool,
    ) -> ops::Result {
        let (layer, b) = (&self.layers[i], acts.batch);
        let label = self.label(i, "forward");
        if let Some(done) = self.image_forward(prog, b, i, (x, y), &label) {
            return done;
        }
        match (layer, self.layer_params[i]) {
            (Layer::Act(act), _) => ops::activation_forward(prog, *act, x, y, &label),
            (Layer::Upsample { channels, h, w }, _) => {
                let shape = (b * channels, *h, *w);
                ops::upsample::upsample_nearest_forward(prog, shape, x, y, &label)
            }
            (Layer::SpectralNorm(inner), LayerParams::SpectralNorm(sn)) => {
                self.sn_forward(prog, (inner, &sn), b, (x, y), &label)
            }
            (Layer::BatchNorm { .. }, _) => {
                let flags = if train { UPDATE_RUNNING } else { 0 };
                let p = self.bn_params(layer, b, flags);
                let views = self.bn_views(i, acts).ok_or_else(|| missing(&label))?;
                ops::batch_norm_forward(prog, p, views, x, y, train, &label)
            }
            (_, LayerParams::Weighted { weight, bias }) => {
                let w = self.sub(self.params, weight);
                let bias = bias.map(|s| self.sub(self.params, s));
                weighted_forward(prog, layer, b, (x, w, bias, y), &label)
            }
            _ => Err(missing(&label)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn layer_backward(
        &self,
        prog: &mut Program,
        acts: &NetActs,
        i: usize,
        x: View,
        dy: View,
        dx: Option<View>,
        grads: GradMode,
    ) -> ops::Result {
        let layer = &self.layers[i];
        let io = Io {
            batch: acts.batch,
            x,
            dy,
            dx,
        };
        let label = self.label(i, "backward");
        if let Some(done) = self.image_backward(prog, acts.batch, i, (x, dy, dx), grads, &label) {
            return done;
        }
        match (layer, self.layer_params[i]) {
            (Layer::Act(act), _) => {
                let Some(dx) = dx else { return Ok(()) };
                let saved = if act.backward_uses_output() {
                    acts.outs[i]
                } else {
                    x
                };
                ops::activation_backward(prog, *act, saved, dy, dx, &label)
            }
            (Layer::BatchNorm { .. }, LayerParams::BatchNorm { gamma_beta, .. }) => {
                let flags = if grads.accumulate && grads.params {
                    BN_ACCUMULATE
                } else {
                    0
                };
                let p = self.bn_params(layer, io.batch, flags);
                let views = self.bn_views(i, acts).ok_or_else(|| missing(&label))?;
                let grad_gamma_beta = match (grads.params, self.frozen_bn_grads) {
                    (false, Some(scratch)) => View {
                        len: gamma_beta.len,
                        ..scratch
                    },
                    _ => self.sub(self.grads, gamma_beta),
                };
                // The kernel always produces dx; a first-layer batch norm of a net whose input
                // gradient is not wanted writes it into its own gradient buffer.
                let dx = dx.unwrap_or(acts.grads[i]);
                ops::batch_norm_backward(prog, p, views, x, dy, dx, grad_gamma_beta, &label)
            }
            (Layer::Upsample { channels, h, w }, _) => match dx {
                Some(dx) => {
                    let shape = (io.batch * channels, *h, *w);
                    ops::upsample::upsample_nearest_backward(prog, shape, dy, dx, &label)
                }
                None => Ok(()),
            },
            (Layer::SpectralNorm(inner), LayerParams::SpectralNorm(sn)) => {
                self.sn_backward(prog, (inner, &sn), io, grads, &label)
            }
            (_, LayerParams::Weighted { weight, bias }) => {
                self.weighted_backward(prog, layer, (weight, bias), io, grads, &label)
            }
            _ => Err(missing(&label)),
        }
    }

    /// Weight and bias gradients (when `grads.params`) and the input gradient (when `io.dx`).
    fn weighted_backward(
        &self,
        prog: &mut Program,
        layer: &Layer,
        (weight, bias): (Slot, Option<Slot>),
        io: Io,
        grads: GradMode,
        label: &str,
    ) -> ops::Result {
        let w = self.sub(self.params, weight);
        if grads.params {
            let gw = self.sub(self.grads, weight);
            let gb = bias.map(|s| self.sub(self.grads, s));
            weighted_param_grads(prog, layer, io, (gw, gb), grads.accumulate, label)?;
        }
        match io.dx {
            Some(dx) => weighted_input_grad(prog, layer, io, w, dx, label),
            None => Ok(()),
        }
    }
}

/// y = layer(x) with weight w and optional bias.
pub(super) fn weighted_forward(
    prog: &mut Program,
    layer: &Layer,
    b: usize,
    (x, w, bias, y): (View, View, Option<View>, View),
    label: &str,
) -> ops::Result {
    match layer {
        Layer::Linear {
            inputs, outputs, ..
        } => {
            let shape = (b, *outputs, *inputs);
            ops::matmul(prog, Transpose::B, x, w, bias, y, shape, 0, label)
        }
        Layer::Conv2d { spec, .. } => {
            conv::conv2d_forward(prog, spec.conv2d(b), x, w, bias, y, label)
        }
        Layer::ConvTranspose2d {
            spec,
            output_padding,
            ..
        } => {
            let g = spec.transposed_padded(b, *output_padding);
            conv::conv_transpose2d_forward(prog, g, x, w, bias, y, label)
        }
        Layer::Conv3d { spec, .. } => {
            ops::conv3d::conv3d_forward(prog, spec.conv3d(b), (x, w, bias), y, label)
        }
        _ => Err(missing(label)),
    }
}

pub(super) fn weighted_param_grads(
    prog: &mut Program,
    layer: &Layer,
    io: Io,
    (gw, gb): (View, Option<View>),
    accumulate: bool,
    label: &str,
) -> ops::Result {
    let (b, x, dy) = (io.batch, io.x, io.dy);
    let wl = format!("{label} weight grad");
    let bl = format!("{label} bias grad");
    match layer {
        Layer::Linear {
            inputs, outputs, ..
        } => {
            let flags = if accumulate { MATMUL_ACCUMULATE } else { 0 };
            let shape = (*outputs, *inputs, b);
            ops::matmul(prog, Transpose::A, dy, x, None, gw, shape, flags, &wl)?;
            match gb {
                Some(gb) => ops::bias_grad(prog, dy, gb, b, flags, &bl),
                None => Ok(()),
            }
        }
        Layer::Conv2d { spec, .. } => {
            let (g, flags) = (spec.conv2d(b), if accumulate { CONV_ACCUMULATE } else { 0 });
            conv::conv2d_weight_grad(prog, g, x, dy, gw, flags, &wl)?;
            match gb {
                Some(gb) => conv::conv2d_bias_grad(prog, g, dy, gb, flags, &bl),
                None => Ok(()),
            }
        }
        Layer::ConvTranspose2d {
            spec,
            output_padding,
            ..
        } => {
            let (g, flags) = (
                spec.transposed_padded(b, *output_padding),
                if accumulate { CONV_ACCUMULATE } else { 0 },
            );
            conv::conv_transpose2d_weight_grad(prog, g, x, dy, gw, flags, &wl)?;
            match gb {
                Some(gb) => conv::conv_transpose2d_bias_grad(prog, g, dy, gb, flags, &bl),
                None => Ok(()),
            }
        }
        Layer::Conv3d { spec, .. } => {
            let (g, flags) = (spec.conv3d(b), if accumulate { CONV_ACCUMULATE } else { 0 });
            ops::conv3d::conv3d_weight_grad(prog, g, x, dy, gw, flags, &wl)?;
            match gb {
                Some(gb) => ops::conv3d::conv3d_bias_grad(prog, g, dy, gb, flags, &bl),
                None => Ok(()),
            }
        }
        _ => Err(missing(label)),
    }
}

pub(super) fn weighted_input_grad(
    prog: &mut Program,
    layer: &Layer,
    io: Io,
    w: View,
    dx: View,
    label: &str,
) -> ops::Result {
    let (b, dy) = (io.batch, io.dy);
    let dl = format!("{label} input grad");
    match layer {
        Layer::Linear {
            inputs, outputs, ..
        } => {
            let shape = (b, *inputs, *outputs);
            ops::matmul(prog, Transpose::None, dy, w, None, dx, shape, 0, &dl)
        }
        Layer::Conv2d { spec, .. } => conv::conv2d_input_grad(prog, spec.conv2d(b), dy, w, dx, &dl),
        Layer::ConvTranspose2d {
            spec,
            output_padding,
            ..
        } => {
            let g = spec.transposed_padded(b, *output_padding);
            conv::conv_transpose2d_input_grad(prog, g, dy, w, dx, &dl)
        }
        Layer::Conv3d { spec, .. } => {
            ops::conv3d::conv3d_input_grad(prog, spec.conv3d(b), dy, w, dx, &dl)
        }
        _ => Err(missing(label)),
    }
}

impl Net {
    /// The double backward WGAN-GP needs. After `forward` on x and `backward` of `dout` (so
    /// `acts.grads[0]` holds g = d(Σ dout·out)/dx), adds dφ/dθ to the parameter gradients for a
    /// function φ of g alone, given gg = dφ/dg. Written for the ops of the MLP critic: Linear
    /// (g is linear in each weight; biases do not reach g) and (Leaky)ReLU (g passes through
    /// the activation's mask, constant almost everywhere, so its second derivative is 0).
    /// `tangents` holds dφ/d(each layer's output gradient).
    pub fn input_grad_backward(
        &self,
        prog: &mut Program,
        acts: &NetActs,
        tangents: &NetActs,
        (input, dout): (View, View),
        gg: View,
    ) -> ops::Result {
        let (n, b) = (self.layers.len(), acts.batch);
        let mut t = gg;
        for i in 0..n {
            let dy = if i + 1 < n { acts.grads[i + 1] } else { dout };
            let label = self.label(i, "double backward");
            let last = i + 1 == n;
            match (&self.layers[i], self.layer_params[i]) {
                (
                    Layer::Linear {
                        inputs, outputs, ..
                    },
                    LayerParams::Weighted { weight, .. },
                ) => {
                    // g_in = g_out · W: dφ/dW += g_outᵀ t, dφ/dg_out = t Wᵀ.
                    let gw = self.sub(self.grads, weight);
                    let shape = (*outputs, *inputs, b);
                    let wl = format!("{label} weight grad");
                    ops::matmul(
                        prog,
                        Transpose::A,
                        dy,
                        t,
                        None,
                        gw,
                        shape,
                        MATMUL_ACCUMULATE,
                        &wl,
                    )?;
                    if !last {
                        let w = self.sub(self.params, weight);
                        let next = tangents.outs[i];
                        let shape = (b, *outputs, *inputs);
                        ops::matmul(prog, Transpose::B, t, w, None, next, shape, 0, &label)?;
                        t = next;
                    }
                }
                (Layer::Act(act @ (ops::Activation::LeakyRelu(_) | ops::Activation::Relu)), _) => {
                    if !last {
                        let x = if i == 0 { input } else { acts.outs[i - 1] };
                        let saved = if act.backward_uses_output() {
                            acts.outs[i]
                        } else {
                            x
                        };
                        let next = tangents.outs[i];
                        ops::activation_backward(prog, *act, saved, t, next, &label)?;
                        t = next;
                    }
                }
                _ => {
                    return Err(ops::ShapeError {
                        op: label,
                        tensor: format!(
                        "layer {} (the gradient penalty supports Linear and (Leaky)ReLU layers)",
                        self.layers[i].label("")
                    ),
                        got: 0,
                        expected: 1,
                    })
                }
            }
        }
        Ok(())
    }
}

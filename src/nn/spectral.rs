//! Spectrally normalised layers (`Layer::SpectralNorm`), as torch.nn.utils.spectral_norm with
//! one power iteration per D step: W (a Linear, Conv2d or Conv3d weight) viewed (out, rest) is
//! used as W / sigma. u (`<name>.weight.sn_u`) and v (`<name>.weight.sn_v`) live in the net's
//! state arena, which Adam never touches and checkpoints save; the model's init must fill u
//! (torch: a normalised N(0, 1) draw), as a zero u has no direction. Every forward recomputes
//! sigma = uᵀ W v from the stored u and v, so a G step through an updated D sees the new W with
//! the last D step's u and v, and a D step's passes after `Net::spectral_norm_power` see the
//! iteration's own sigma (the same sum in the same order). Parameter gradients: the inner
//! layer's weight gradient is taken wrt W / sigma into a scratch slot, accumulated across
//! passes as the grads arena is, then carried back through sigma into the weight's gradient.

use super::record::{weighted_forward, weighted_input_grad, weighted_param_grads};
use super::record::{GradMode, Io};
use super::{Allocator, Layer, LayerParams, Net, Slot, TensorKind};
use crate::ops;
use crate::ops::spectral_norm::{
    spectral_norm_backward, spectral_norm_power, spectral_norm_scale, spectral_norm_sigma,
    SpectralNormViews,
};
use crate::program::{Program, View};

/// Where a spectrally normalised layer's tensors sit: weight and bias in the params arena, u and
/// v in the state arena, sigma, W / sigma and its gradient in buffers of their own (a dispatch
/// may not bind one buffer both read-only and writable, and the kernels read u and v while they
/// write sigma, read sigma while they write W / sigma).
#[derive(Clone, Copy, Debug)]
pub(super) struct SnSlots {
    weight: Slot,
    bias: Option<Slot>,
    /// W viewed (rows, cols).
    rows: usize,
    cols: usize,
    u: Slot,
    v: Slot,
    sigma: View,
    /// W / sigma, and the gradient wrt it.
    w_sn: View,
    grad_w_sn: View,
}

impl Allocator<'_> {
    /// The slots of `Layer::SpectralNorm(inner)`; a layer without a weight gets none (its
    /// forward then reports the missing parameters).
    pub(super) fn spectral_norm(&mut self, inner: &Layer) -> LayerParams {
        let Some((shape, bias)) = inner.weight_shape() else {
            return LayerParams::None;
        };
        let name = inner.name().unwrap_or("");
        let (rows, len) = (shape[0], shape.iter().product::<usize>());
        let cols = len / rows.max(1);
        let weight = self.take(format!("{name}.weight"), shape, TensorKind::Param);
        let bias = bias.map(|n| self.take(format!("{name}.bias"), vec![n], TensorKind::Param));
        let u = self.take(
            format!("{name}.weight.sn_u"),
            vec![rows],
            TensorKind::Running,
        );
        let v = self.take(
            format!("{name}.weight.sn_v"),
            vec![cols],
            TensorKind::Running,
        );
        let at = format!("{}.{name}.weight", self.prefix);
        let sigma = self.prog.tensor(&format!("{at}.sigma"), 1);
        let w_sn = self.prog.tensor(&format!("{at} / sigma"), len);
        let grad_w_sn = self.prog.tensor(&format!("{at} / sigma grad"), len);
        LayerParams::SpectralNorm(SnSlots {
            weight,
            bias,
            rows,
            cols,
            u,
            v,
            sigma,
            w_sn,
            grad_w_sn,
        })
    }
}

impl Net {
    fn sn_views(&self, sn: &SnSlots) -> SpectralNormViews {
        SpectralNormViews {
            w: self.sub(self.params, sn.weight),
            u: self.sub(self.state, sn.u),
            v: self.sub(self.state, sn.v),
            sigma: sn.sigma,
        }
    }

    /// One power iteration for every spectrally normalised layer: the start of a D step.
    pub fn spectral_norm_power(&self, prog: &mut Program) -> ops::Result {
        for (i, p) in self.layer_params.iter().enumerate() {
            if let LayerParams::SpectralNorm(sn) = p {
                let label = self.label(i, "power iteration");
                spectral_norm_power(prog, (sn.rows, sn.cols), self.sn_views(sn), &label)?;
            }
        }
        Ok(())
    }

    /// sigma = uᵀ W v, W / sigma, then the inner layer with it.
    pub(super) fn sn_forward(
        &self,
        prog: &mut Program,
        (inner, sn): (&Layer, &SnSlots),
        batch: usize,
        (x, y): (View, View),
        label: &str,
    ) -> ops::Result {
        let (views, shape) = (self.sn_views(sn), (sn.rows, sn.cols));
        let w_sn = sn.w_sn;
        spectral_norm_sigma(prog, shape, views, &format!("{label} sigma"))?;
        spectral_norm_scale(prog, shape, views, w_sn, &format!("{label} scale"))?;
        let bias = sn.bias.map(|s| self.sub(self.params, s));
        weighted_forward(prog, inner, batch, (x, w_sn, bias, y), label)
    }

    /// The inner layer's backward with W / sigma; the weight gradient through sigma.
    pub(super) fn sn_backward(
        &self,
        prog: &mut Program,
        (inner, sn): (&Layer, &SnSlots),
        io: Io,
        grads: GradMode,
        label: &str,
    ) -> ops::Result {
        let w_sn = sn.w_sn;
        if grads.params {
            let g = sn.grad_w_sn;
            let gb = sn.bias.map(|s| self.sub(self.grads, s));
            weighted_param_grads(prog, inner, io, (g, gb), grads.accumulate, label)?;
            // g holds every pass's gradient so far, and the map from it to dW is linear: dW is
            // rewritten from the sum instead of accumulated.
            let dw = self.sub(self.grads, sn.weight);
            let (views, shape) = (self.sn_views(sn), (sn.rows, sn.cols));
            let l = format!("{label} spectral norm");
            spectral_norm_backward(prog, shape, views, (g, dw), false, &l)?;
        }
        match io.dx {
            Some(dx) => weighted_input_grad(prog, inner, io, w_sn, dx, label),
            None => Ok(()),
        }
    }
}

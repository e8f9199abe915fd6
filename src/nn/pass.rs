//! The forward and backward passes of a net over its wiring (`graph`).

use super::graph::Src;
use super::record::GradMode;
use super::{Layer, Net, NetActs};
use crate::ops;
use crate::program::{Program, View};

impl Net {
    /// The view of activation `s` of a pass on `input`.
    fn activation(&self, acts: &NetActs, input: View, s: Src) -> View {
        match s {
            Src::Input => input,
            Src::Out(j) => acts.outs[j],
        }
    }

    /// Records the forward pass on `input` (batch, in_features); returns the output view.
    /// `train` selects batch statistics (and running-statistic updates) in batch norm.
    pub fn forward(
        &self,
        prog: &mut Program,
        acts: &NetActs,
        input: View,
        train: bool,
    ) -> ops::Result<View> {
        let w = &self.wiring;
        for i in 0..self.layers.len() {
            // `Tap` and `From` only name activations.
            if w.output[i] != Src::Out(i) {
                continue;
            }
            let (x, y) = (self.activation(acts, input, w.input[i]), acts.outs[i]);
            match (w.skip[i], &self.layers[i]) {
                (Some(s), Layer::Concat(_)) => {
                    let skip = self.activation(acts, input, s);
                    let label = self.label(i, "forward");
                    ops::columns::concat_columns(prog, x, skip, acts.batch, y, &label)?;
                }
                (Some(s), _) => {
                    let skip = self.activation(acts, input, s);
                    let label = self.label(i, "forward");
                    ops::axpby(prog, (1.0, x), (1.0, skip), y, &label)?;
                }
                (None, _) => self.layer_forward(prog, acts, i, x, y, train)?,
            }
        }
        Ok(self.activation(acts, input, w.out()))
    }

    /// Records the backward pass after a training-mode `forward` on `input`. `dout` is the
    /// gradient of the output. Parameter gradients are written (or added, with `accumulate`)
    /// when `param_grads`; the input gradient is returned when `input_grad`. Where an
    /// activation is read more than once, its gradients are summed.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        prog: &mut Program,
        acts: &NetActs,
        input: View,
        dout: View,
        param_grads: bool,
        input_grad: bool,
        accumulate: bool,
    ) -> ops::Result<Option<View>> {
        let w = &self.wiring;
        let grads = GradMode {
            params: param_grads,
            accumulate,
        };
        // The gradients reaching each activation so far, by `Src::index`.
        let mut parts: Vec<Vec<View>> = vec![Vec::new(); self.layers.len() + 1];
        parts[w.out().index()].push(dout);
        for i in (0..self.layers.len()).rev() {
            if w.output[i] != Src::Out(i) {
                continue;
            }
            let Some(dy) = self.gradient(prog, acts, &mut parts, Src::Out(i))? else {
                continue;
            };
            let src = w.input[i];
            if let (Some(skip), Layer::Concat(_)) = (w.skip[i], &self.layers[i]) {
                let (da, db) = self.concat_backward(prog, acts, i, dy)?;
                parts[src.index()].push(da);
                parts[skip.index()].push(db);
                continue;
            }
            if let Some(skip) = w.skip[i] {
                parts[src.index()].push(dy);
                parts[skip.index()].push(dy);
                continue;
            }
            let dx = (src != Src::Input || input_grad).then_some(acts.grads[i]);
            let x = self.activation(acts, input, src);
            self.layer_backward(prog, acts, i, x, dy, dx, grads)?;
            parts[src.index()].extend(dx);
        }
        if !input_grad {
            return Ok(None);
        }
        self.gradient(prog, acts, &mut parts, Src::Input)
    }

    /// The gradients of a concatenation's two inputs: the first and the last channels of `dy`.
    fn concat_backward(
        &self,
        prog: &mut Program,
        acts: &NetActs,
        i: usize,
        dy: View,
    ) -> ops::Result<(View, View)> {
        let w = &self.wiring;
        let a = w.features[w.input[i].index()];
        let stride = w.features[i + 1];
        let (da, db) = (acts.grads[i], acts.saved[i].unwrap_or(acts.grads[i]));
        let label = self.label(i, "backward");
        let head = |offset| ops::Head { stride, offset };
        ops::columns::slice_columns(prog, dy, head(0), a, da, &label)?;
        ops::columns::slice_columns(prog, dy, head(a), stride - a, db, &label)?;
        Ok((da, db))
    }

    /// The gradient of activation `s`: its one part, or the sum of its parts.
    fn gradient(
        &self,
        prog: &mut Program,
        acts: &NetActs,
        parts: &mut [Vec<View>],
        s: Src,
    ) -> ops::Result<Option<View>> {
        let parts = std::mem::take(&mut parts[s.index()]);
        let Some((&first, rest)) = parts.split_first() else {
            return Ok(None);
        };
        let mut sum = first;
        for (k, &part) in rest.iter().enumerate() {
            let label = format!("{}.grad sum {}", self.prefix, s.index());
            let out = *acts.sums[s.index()].get(k).ok_or_else(|| ops::ShapeError {
                op: label.clone(),
                tensor: "gradient sums".into(),
                got: k,
                expected: k + 1,
            })?;
            ops::axpby(prog, (1.0, sum), (1.0, part), out, &label)?;
            sum = out;
        }
        Ok(Some(sum))
    }
}

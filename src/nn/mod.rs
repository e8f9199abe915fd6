//! Layers and networks, written once against the program recorder (house rule 2): the same
//! forward and backward run on the GPU and on the CPU twins.
//!
//! A network's parameters live in one flat arena (`<prefix>.params`) with gradients, Adam m and
//! v in arenas of the same layout, so one Adam dispatch updates the whole network (house rule
//! 12). Batch-norm running statistics live in a separate `<prefix>.state` arena that Adam never
//! touches. Activations belong to a `NetActs`, one per batch size.

use crate::cpu::batch_norm::{BatchNormParams, ACCUMULATE as BN_ACCUMULATE, UPDATE_RUNNING};
use crate::cpu::matmul::ACCUMULATE;
use crate::ops::{self, Activation, BatchNormViews, Transpose};
use crate::program::{Program, View};

#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// PyTorch `nn.Linear`: weight (out, in), bias (out).
    Linear {
        name: String,
        inputs: usize,
        outputs: usize,
        bias: bool,
    },
    /// `nn.BatchNorm1d` (hw = 1) or `nn.BatchNorm2d` over (N, C, HW).
    BatchNorm {
        name: String,
        channels: usize,
        hw: usize,
        eps: f32,
        momentum: f32,
    },
    Act(Activation),
}

impl Layer {
    pub fn linear(name: &str, inputs: usize, outputs: usize) -> Self {
        Self::Linear {
            name: name.into(),
            inputs,
            outputs,
            bias: true,
        }
    }

    pub fn batch_norm(name: &str, channels: usize, eps: f32, momentum: f32) -> Self {
        Self::BatchNorm {
            name: name.into(),
            channels,
            hw: 1,
            eps,
            momentum,
        }
    }

    /// Per-sample output size for a per-sample input size.
    pub fn out_features(&self, inputs: usize) -> usize {
        match self {
            Self::Linear { outputs, .. } => *outputs,
            _ => inputs,
        }
    }
}

/// What a parameter-arena tensor is, for checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// Trained by Adam: has grad, adam_m and adam_v twins.
    Param,
    /// Batch-norm running statistic.
    Running,
}

/// The parallel arenas a parameter has a slot in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArenaKind {
    Params,
    Grads,
    AdamM,
    AdamV,
}

/// A named tensor of a network, PyTorch-style (`fc1.weight`, `bn1.running_mean`).
#[derive(Clone, Debug)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: TensorKind,
    /// Offset and length inside the params arena (Param) or the state arena (Running).
    pub offset: usize,
    pub len: usize,
}

#[derive(Clone, Copy, Debug)]
enum LayerParams {
    None,
    Linear { weight: usize, bias: Option<usize> },
    BatchNorm { gamma_beta: usize, running: usize },
}

/// A network's layers plus its parameter, gradient, Adam and state arenas.
#[derive(Clone, Debug)]
pub struct Net {
    pub prefix: String,
    pub layers: Vec<Layer>,
    pub in_features: usize,
    pub params: View,
    pub grads: View,
    pub adam_m: View,
    pub adam_v: View,
    pub state: View,
    pub tensors: Vec<NamedTensor>,
    layer_params: Vec<LayerParams>,
}

impl Net {
    pub fn new(prog: &mut Program, prefix: &str, in_features: usize, layers: Vec<Layer>) -> Self {
        let mut params = prog.arena(&format!("{prefix}.params"));
        let mut state = prog.arena(&format!("{prefix}.state"));
        let mut tensors = Vec::new();
        let mut layer_params = Vec::new();
        for layer in &layers {
            layer_params.push(match layer {
                Layer::Linear {
                    name,
                    inputs,
                    outputs,
                    bias,
                } => {
                    let (o, i) = (*outputs, *inputs);
                    let weight = params.take(o * i).offset;
                    named(
                        &mut tensors,
                        format!("{name}.weight"),
                        vec![o, i],
                        TensorKind::Param,
                        weight,
                    );
                    let bias = bias.then(|| {
                        let b = params.take(o).offset;
                        named(
                            &mut tensors,
                            format!("{name}.bias"),
                            vec![o],
                            TensorKind::Param,
                            b,
                        );
                        b
                    });
                    LayerParams::Linear { weight, bias }
                }
                Layer::BatchNorm { name, channels, .. } => {
                    // gamma and beta are adjacent so the kernels bind them as one (2C) view.
                    let c = *channels;
                    let gamma_beta = params.take(2 * c).offset;
                    named(
                        &mut tensors,
                        format!("{name}.weight"),
                        vec![c],
                        TensorKind::Param,
                        gamma_beta,
                    );
                    named(
                        &mut tensors,
                        format!("{name}.bias"),
                        vec![c],
                        TensorKind::Param,
                        gamma_beta + c,
                    );
                    let running = state.take(2 * c).offset;
                    named(
                        &mut tensors,
                        format!("{name}.running_mean"),
                        vec![c],
                        TensorKind::Running,
                        running,
                    );
                    named(
                        &mut tensors,
                        format!("{name}.running_var"),
                        vec![c],
                        TensorKind::Running,
                        running + c,
                    );
                    LayerParams::BatchNorm {
                        gamma_beta,
                        running,
                    }
                }
                Layer::Act(_) => LayerParams::None,
            });
        }
        prog.finish_arena(&params);
        prog.finish_arena(&state);
        let whole = params.whole();
        let arena_like = |prog: &mut Program, what: &str| {
            let v = prog.tensor(&format!("{prefix}.{what}"), whole.len);
            View {
                len: whole.len,
                ..v
            }
        };
        let grads = arena_like(prog, "grads");
        let adam_m = arena_like(prog, "adam_m");
        let adam_v = arena_like(prog, "adam_v");
        Self {
            prefix: prefix.into(),
            layers,
            in_features,
            params: whole,
            grads,
            adam_m,
            adam_v,
            state: state.whole(),
            tensors,
            layer_params,
        }
    }

    pub fn out_features(&self) -> usize {
        self.layers
            .iter()
            .fold(self.in_features, |f, l| l.out_features(f))
    }

    /// Feature count entering each layer, then the output.
    fn features(&self) -> Vec<usize> {
        let mut f = vec![self.in_features];
        for l in &self.layers {
            f.push(l.out_features(*f.last().unwrap_or(&0)));
        }
        f
    }

    fn sub(&self, arena: View, offset: usize, len: usize) -> View {
        View {
            buf: arena.buf,
            offset: arena.offset + offset,
            len,
        }
    }

    /// Activation and gradient buffers for batches of `batch`.
    pub fn acts(&self, prog: &mut Program, batch: usize, tag: &str) -> NetActs {
        let f = self.features();
        let name = |what: &str, i: usize| format!("{}.{tag}.{what}{i}", self.prefix);
        let outs = (1..f.len())
            .map(|i| prog.tensor(&name("act", i), batch * f[i]))
            .collect();
        let grads = (0..f.len())
            .map(|i| prog.tensor(&name("grad_act", i), batch * f[i]))
            .collect();
        let saved = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match l {
                Layer::BatchNorm { channels, .. } => {
                    Some(prog.tensor(&name("bn_saved", i), 2 * channels))
                }
                _ => None,
            })
            .collect();
        NetActs {
            batch,
            outs,
            grads,
            saved,
        }
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
        match (self.layer_params[i], &self.layers[i]) {
            (
                LayerParams::BatchNorm {
                    gamma_beta,
                    running,
                },
                Layer::BatchNorm { channels, .. },
            ) => Some(BatchNormViews {
                gamma_beta: self.sub(self.params, gamma_beta, 2 * channels),
                running: self.sub(self.state, running, 2 * channels),
                saved: acts.saved[i]?,
            }),
            _ => None,
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
        let f = self.features();
        let b = acts.batch;
        let mut x = input;
        for (i, layer) in self.layers.iter().enumerate() {
            let y = acts.outs[i];
            let label = format!("{}.{}", self.prefix, layer_label(layer, "forward"));
            match (layer, self.layer_params[i]) {
                (Layer::Linear { .. }, LayerParams::Linear { weight, bias }) => {
                    let w = self.sub(self.params, weight, f[i + 1] * f[i]);
                    let bias = bias.map(|o| self.sub(self.params, o, f[i + 1]));
                    ops::matmul(
                        prog,
                        Transpose::B,
                        x,
                        w,
                        bias,
                        y,
                        (b, f[i + 1], f[i]),
                        0,
                        &label,
                    )?;
                }
                (Layer::BatchNorm { .. }, _) => {
                    let flags = if train { UPDATE_RUNNING } else { 0 };
                    let p = self.bn_params(layer, b, flags);
                    let views = self.bn_views(i, acts).ok_or_else(|| missing(&label))?;
                    ops::batch_norm_forward(prog, p, views, x, y, train, &label)?;
                }
                (Layer::Act(act), _) => ops::activation_forward(prog, *act, x, y, &label)?,
                _ => return Err(missing(&label)),
            }
            x = y;
        }
        Ok(x)
    }

    /// Records the backward pass after a training-mode `forward` on `input`. `dout` is the
    /// gradient of the output. Parameter gradients are written (or added, with `accumulate`)
    /// when `param_grads`; the input gradient is returned when `input_grad`.
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
        let f = self.features();
        let b = acts.batch;
        let mut dy = dout;
        for i in (0..self.layers.len()).rev() {
            let layer = &self.layers[i];
            let x = if i == 0 { input } else { acts.outs[i - 1] };
            let need_dx = i > 0 || input_grad;
            let dx = acts.grads[i];
            let label = format!("{}.{}", self.prefix, layer_label(layer, "backward"));
            match (layer, self.layer_params[i]) {
                (Layer::Linear { .. }, LayerParams::Linear { weight, bias }) => {
                    let (fin, fout) = (f[i], f[i + 1]);
                    let w = self.sub(self.params, weight, fout * fin);
                    if param_grads {
                        let flags = if accumulate { ACCUMULATE } else { 0 };
                        let gw = self.sub(self.grads, weight, fout * fin);
                        let wl = format!("{label} weight grad");
                        ops::matmul(
                            prog,
                            Transpose::A,
                            dy,
                            x,
                            None,
                            gw,
                            (fout, fin, b),
                            flags,
                            &wl,
                        )?;
                        if let Some(o) = bias {
                            let gb = self.sub(self.grads, o, fout);
                            ops::bias_grad(prog, dy, gb, b, flags, &format!("{label} bias grad"))?;
                        }
                    }
                    if need_dx {
                        let dl = format!("{label} input grad");
                        ops::matmul(
                            prog,
                            Transpose::None,
                            dy,
                            w,
                            None,
                            dx,
                            (b, fin, fout),
                            0,
                            &dl,
                        )?;
                    }
                }
                (Layer::BatchNorm { channels, .. }, LayerParams::BatchNorm { gamma_beta, .. }) => {
                    // Without parameter gradients the (2C) grads are still produced, into a
                    // scratch region would be cleaner; the frozen net's grads are never applied.
                    let flags = if accumulate && param_grads {
                        BN_ACCUMULATE
                    } else {
                        0
                    };
                    let p = self.bn_params(layer, b, flags);
                    let views = self.bn_views(i, acts).ok_or_else(|| missing(&label))?;
                    let g = self.sub(self.grads, gamma_beta, 2 * channels);
                    ops::batch_norm_backward(prog, p, views, x, dy, dx, g, &label)?;
                }
                (Layer::Act(act), _) => {
                    let saved = if act.backward_uses_output() {
                        acts.outs[i]
                    } else {
                        x
                    };
                    ops::activation_backward(prog, *act, saved, dy, dx, &label)?;
                }
                _ => return Err(missing(&label)),
            }
            if !need_dx {
                return Ok(None);
            }
            dy = dx;
        }
        Ok(Some(dy))
    }

    /// One Adam step over the whole network; counters[t_slot] is its step count.
    pub fn adam_step(
        &self,
        prog: &mut Program,
        cfg: ops::AdamConfig,
        counters: View,
        t_slot: usize,
    ) -> ops::Result {
        let label = format!("{}.adam", self.prefix);
        ops::adam_step(
            prog,
            cfg,
            self.params,
            self.grads,
            self.adam_m,
            self.adam_v,
            counters,
            t_slot,
            &label,
        )
    }

    pub fn find(&self, name: &str) -> Option<&NamedTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Where tensor `t` lives in one of the network's arenas.
    pub fn view(&self, t: &NamedTensor, arena: ArenaKind) -> View {
        let base = match (t.kind, arena) {
            (TensorKind::Running, _) => self.state,
            (_, ArenaKind::Params) => self.params,
            (_, ArenaKind::Grads) => self.grads,
            (_, ArenaKind::AdamM) => self.adam_m,
            (_, ArenaKind::AdamV) => self.adam_v,
        };
        self.sub(base, t.offset, t.len)
    }

    pub fn param_count(&self) -> usize {
        self.tensors
            .iter()
            .filter(|t| t.kind == TensorKind::Param)
            .map(|t| t.len)
            .sum()
    }
}

/// Activation and gradient buffers of one network at one batch size. outs[i] is layer i's
/// output; grads[i] is the gradient of layer i's input.
#[derive(Clone, Debug)]
pub struct NetActs {
    pub batch: usize,
    pub outs: Vec<View>,
    pub grads: Vec<View>,
    saved: Vec<Option<View>>,
}

fn named(
    tensors: &mut Vec<NamedTensor>,
    name: String,
    shape: Vec<usize>,
    kind: TensorKind,
    offset: usize,
) {
    let len = shape.iter().product();
    tensors.push(NamedTensor {
        name,
        shape,
        kind,
        offset,
        len,
    });
}

fn layer_label(layer: &Layer, pass: &str) -> String {
    match layer {
        Layer::Linear { name, .. } | Layer::BatchNorm { name, .. } => format!("{name} {pass}"),
        Layer::Act(a) => format!("{a:?} {pass}").to_lowercase(),
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

//! Layers and networks, written once against the program recorder (house rule 2): the same
//! forward and backward run on the GPU and on the CPU twins.
//!
//! A network's parameters live in one flat arena (`<prefix>.params`) with gradients, Adam m and
//! v in arenas of the same layout, so one Adam dispatch updates the whole network (house rule
//! 12). Batch-norm running statistics live in a separate `<prefix>.state` arena that Adam never
//! touches. Activations belong to a `NetActs`, one per batch size.

pub mod graph;
mod layer;
mod pass;
mod record;
mod record_image;
mod shape;
mod spectral;

pub use layer::{Conv3dSpec, ConvSpec, Layer};
pub use shape::Shape;

use graph::{Src, Wiring};

use crate::program::{Arena, Program, View};

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

/// Where a layer's tensor sits inside an arena.
#[derive(Clone, Copy, Debug)]
struct Slot {
    offset: usize,
    len: usize,
}

#[derive(Clone, Copy, Debug)]
enum LayerParams {
    None,
    /// Linear, Conv2d and ConvTranspose2d.
    Weighted {
        weight: Slot,
        bias: Option<Slot>,
    },
    /// gamma then beta (one (2C) slot), running mean then var (one (2C) state slot).
    BatchNorm {
        gamma_beta: Slot,
        running: Slot,
    },
    /// A spectrally normalised Linear, Conv2d or Conv3d (`spectral`).
    SpectralNorm(spectral::SnSlots),
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
    /// Each layer's inputs (`graph`).
    pub wiring: Wiring,
    layer_params: Vec<LayerParams>,
    /// Where batch norm writes its gamma/beta gradients when the net is frozen (a G step
    /// through D), so that D's real gradients are never touched by a G step.
    frozen_bn_grads: Option<View>,
}

/// Carves the tensors of one layer out of the arenas and names them.
struct Allocator<'a> {
    params: Arena,
    state: Arena,
    tensors: &'a mut Vec<NamedTensor>,
    /// For the buffers of spectrally normalised layers (`spectral`), named under `prefix`.
    prog: &'a mut Program,
    prefix: &'a str,
}

impl Allocator<'_> {
    fn arena(&mut self, kind: TensorKind) -> &mut Arena {
        match kind {
            TensorKind::Param => &mut self.params,
            TensorKind::Running => &mut self.state,
        }
    }

    fn take(&mut self, name: String, shape: Vec<usize>, kind: TensorKind) -> Slot {
        let len = shape.iter().product();
        let offset = self.arena(kind).take(len).offset;
        self.tensors.push(NamedTensor {
            name,
            shape,
            kind,
            offset,
            len,
        });
        Slot { offset, len }
    }

    /// Two named (C) tensors adjacent in one (2C) slot, so the kernels bind them as one view.
    fn pair(&mut self, names: [String; 2], c: usize, kind: TensorKind) -> Slot {
        let offset = self.arena(kind).take(2 * c).offset;
        for (k, name) in names.into_iter().enumerate() {
            self.tensors.push(NamedTensor {
                name,
                shape: vec![c],
                kind,
                offset: offset + k * c,
                len: c,
            });
        }
        Slot { offset, len: 2 * c }
    }

    fn layer(&mut self, layer: &Layer) -> LayerParams {
        if let Layer::SpectralNorm(inner) = layer {
            return self.spectral_norm(inner);
        }
        let name = layer.name().unwrap_or("");
        if let Some((shape, bias)) = layer.weight_shape() {
            let weight = self.take(format!("{name}.weight"), shape, TensorKind::Param);
            let bias = bias.map(|n| self.take(format!("{name}.bias"), vec![n], TensorKind::Param));
            return LayerParams::Weighted { weight, bias };
        }
        match layer {
            Layer::BatchNorm { channels, .. } => {
                let names = [format!("{name}.weight"), format!("{name}.bias")];
                let gamma_beta = self.pair(names, *channels, TensorKind::Param);
                let names = [
                    format!("{name}.running_mean"),
                    format!("{name}.running_var"),
                ];
                let running = self.pair(names, *channels, TensorKind::Running);
                LayerParams::BatchNorm {
                    gamma_beta,
                    running,
                }
            }
            _ => LayerParams::None,
        }
    }
}

impl Net {
    /// A net reading `in_features` values per sample. Panics on a graph that names an
    /// activation it never tapped, adds activations of different sizes or gives a layer an
    /// input of the wrong size: a bug in the model's code, which its tests find (the planner
    /// checks families' nets with `shaped` instead).
    pub fn new(prog: &mut Program, prefix: &str, in_features: usize, layers: Vec<Layer>) -> Self {
        let input = Shape::flat(in_features);
        Self::shaped(prog, prefix, input, layers).unwrap_or_else(|e| panic!("net {prefix}: {e}"))
    }

    /// A net reading samples of shape `input`; fails, naming the layer, when its layers do not
    /// wire.
    pub fn shaped(
        prog: &mut Program,
        prefix: &str,
        input: Shape,
        layers: Vec<Layer>,
    ) -> Result<Self, String> {
        let in_features = input.len();
        let wiring = graph::wire(&layers, input)?;
        let mut tensors = Vec::new();
        let mut alloc = Allocator {
            params: prog.arena(&format!("{prefix}.params")),
            state: prog.arena(&format!("{prefix}.state")),
            tensors: &mut tensors,
            prog,
            prefix,
        };
        let layer_params: Vec<LayerParams> = layers.iter().map(|l| alloc.layer(l)).collect();
        let (params, state) = (alloc.params, alloc.state);
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
        let max_bn = layer_params
            .iter()
            .filter_map(|p| match p {
                LayerParams::BatchNorm { gamma_beta, .. } => Some(gamma_beta.len),
                _ => None,
            })
            .max();
        let frozen_bn_grads = max_bn.map(|n| prog.tensor(&format!("{prefix}.frozen_bn_grads"), n));
        Ok(Self {
            prefix: prefix.into(),
            layers,
            in_features,
            params: whole,
            grads,
            adam_m,
            adam_v,
            state: state.whole(),
            tensors,
            wiring,
            layer_params,
            frozen_bn_grads,
        })
    }

    pub fn out_features(&self) -> usize {
        self.wiring.features[self.wiring.out().index()]
    }

    /// The shape of a sample of its input.
    pub fn in_shape(&self) -> Shape {
        self.wiring.shapes[0]
    }

    /// The shape of a sample of its output.
    pub fn out_shape(&self) -> Shape {
        self.wiring.shapes[self.wiring.out().index()]
    }

    fn sub(&self, arena: View, slot: Slot) -> View {
        View {
            buf: arena.buf,
            offset: arena.offset + slot.offset,
            len: slot.len,
        }
    }

    /// Activation and gradient buffers for batches of `batch`.
    pub fn acts(&self, prog: &mut Program, batch: usize, tag: &str) -> NetActs {
        let (w, n) = (&self.wiring, self.layers.len());
        let name = |what: &str, i: usize| format!("{}.{tag}.{what}{i}", self.prefix);
        let concat = |i: usize| matches!(self.layers[i], Layer::Concat(_));
        let own = |i: usize| w.output[i] == Src::Out(i) && (w.skip[i].is_none() || concat(i));
        let mut outs: Vec<View> = Vec::with_capacity(n);
        for i in 0..n {
            let out = match w.output[i] {
                Src::Out(j) if j < i => outs[j],
                // An alias of the net's input is known only when the forward is recorded.
                Src::Input => prog.tensor(&name("act", i + 1), 0),
                _ => prog.tensor(&name("act", i + 1), batch * w.features[i + 1]),
            };
            outs.push(out);
        }
        let grads = (0..=n)
            .map(|i| {
                let f = match i {
                    i if i == n => w.features[n],
                    i if own(i) => w.features[w.input[i].index()],
                    _ => 0,
                };
                prog.tensor(&name("grad_act", i), batch * f)
            })
            .collect();
        // k - 1 partial sums for an activation read k times: out may not alias an input.
        let sums = (0..=n)
            .map(|s| {
                let parts = w.readers[s].saturating_sub(1);
                let len = batch * w.features[s];
                (0..parts)
                    .map(|k| prog.tensor(&format!("{}.{tag}.grad_sum{s}_{k}", self.prefix), len))
                    .collect()
            })
            .collect();
        let saved = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match l {
                Layer::BatchNorm { channels, .. } => {
                    Some(prog.tensor(&name("bn_saved", i), 2 * channels))
                }
                // The gradient of a concatenation's second input.
                Layer::Concat(_) => w.skip[i]
                    .map(|s| prog.tensor(&name("grad_concat", i), batch * w.features[s.index()])),
                _ => None,
            })
            .collect();
        NetActs {
            batch,
            outs,
            grads,
            saved,
            sums,
        }
    }

    /// One Adam step over the whole network; counters[t_slot] is its step count, and
    /// nonfinite.0[nonfinite.1] is set when a gradient is not finite. The learning rate is read
    /// from `lr`, or is `cfg.lr` throughout.
    pub fn adam_step(
        &self,
        prog: &mut Program,
        (cfg, lr): (crate::ops::AdamConfig, Option<crate::ops::LrSource>),
        counters: View,
        t_slot: usize,
        nonfinite: (View, usize),
    ) -> crate::ops::Result {
        let label = format!("{}.adam", self.prefix);
        let lr = match lr {
            Some(lr) => lr,
            None => crate::ops::LrSource {
                table: prog.constant(&format!("{label}.lr"), &[cfg.lr.to_bits()]),
                iteration_slot: t_slot,
            },
        };
        let arenas = crate::ops::AdamArenas {
            params: self.params,
            grads: self.grads,
            m: self.adam_m,
            v: self.adam_v,
        };
        let c = (counters, t_slot);
        crate::ops::adam_step_from(prog, cfg, lr, arenas, c, nonfinite, &label)
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
        let slot = Slot {
            offset: t.offset,
            len: t.len,
        };
        self.sub(base, slot)
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
    /// Partial sums of the gradient of each activation read more than once, by `Src::index`.
    sums: Vec<Vec<View>>,
}

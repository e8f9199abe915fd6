//! Nets as graphs written as a layer list: `Tap(name)` names the current activation, `From(name)`
//! continues from a named one (a branch), `Add(name)` adds a named one to the current (a
//! residual), `Concat(name)` appends its channels to the current's. `wire` resolves the list
//! into each layer's inputs once, when the net is built; a plain chain wires to itself, layer i
//! reading layer i - 1.
//!
//! Gradients: walking the layers backward, each layer's input gradient is one contribution to
//! the activation it read. An activation read once takes its contribution as its gradient, as
//! in a chain; one read by several (fan-out, a residual's skip) sums them (`ops::axpby`), so a
//! net can take its gradient from several losses or nets in one backward.

use super::{Layer, Shape};

/// An activation of a net: its input, or a layer's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Src {
    Input,
    Out(usize),
}

impl Src {
    /// Index into per-activation tables: 0 for the input, i + 1 for layer i's output.
    pub fn index(self) -> usize {
        match self {
            Self::Input => 0,
            Self::Out(i) => i + 1,
        }
    }
}

/// Each layer's inputs and each activation's size and readers.
#[derive(Clone, Debug)]
pub struct Wiring {
    /// The activation layer i reads (for `Tap` and `From`, the one it stands for).
    pub input: Vec<Src>,
    /// The second input of an `Add`.
    pub skip: Vec<Option<Src>>,
    /// The activation layer i's output is: its own, or for `Tap` and `From` another one.
    pub output: Vec<Src>,
    /// Per-sample features of each activation, by `Src::index`.
    pub features: Vec<usize>,
    /// The shape of a sample of each activation, by `Src::index`.
    pub shapes: Vec<Shape>,
    /// How many inputs of layers (and the net's output) read each activation, by `Src::index`.
    pub readers: Vec<usize>,
}

impl Wiring {
    /// The net's output activation.
    pub fn out(&self) -> Src {
        self.output.last().copied().unwrap_or(Src::Input)
    }
}

/// Resolves `layers` on inputs of shape `input`; fails on a name not tapped before, an `Add`
/// of activations of different sizes, or a layer given an input of the wrong size.
pub fn wire(layers: &[Layer], input: Shape) -> Result<Wiring, String> {
    let n = layers.len();
    let mut w = Wiring {
        input: Vec::with_capacity(n),
        skip: vec![None; n],
        output: Vec::with_capacity(n),
        features: vec![input.len(); n + 1],
        shapes: vec![input; n + 1],
        readers: vec![0; n + 1],
    };
    let mut taps: Vec<(&str, Src)> = Vec::new();
    let mut current = Src::Input;
    let tapped = |taps: &[(&str, Src)], name: &str| {
        let found = taps.iter().rev().find(|(t, _)| *t == name);
        found
            .map(|(_, s)| *s)
            .ok_or(format!("no activation tapped as {name:?}"))
    };
    for (i, layer) in layers.iter().enumerate() {
        w.input.push(current);
        let f = w.features[current.index()];
        match layer {
            Layer::Tap(name) => taps.push((name, current)),
            Layer::From(name) => current = tapped(&taps, name)?,
            Layer::Add(name) => {
                let skip = tapped(&taps, name)?;
                if w.features[skip.index()] != f {
                    return Err(format!(
                        "layer {i}: Add({name:?}) of {} features to {f}",
                        w.features[skip.index()]
                    ));
                }
                w.skip[i] = Some(skip);
                w.readers[skip.index()] += 1;
                w.readers[current.index()] += 1;
                current = Src::Out(i);
            }
            Layer::Concat(name) => {
                let skip = tapped(&taps, name)?;
                let (a, b) = (w.shapes[current.index()], w.shapes[skip.index()]);
                if (a.t, a.h, a.w) != (b.t, b.h, b.w) {
                    return Err(format!("layer {i}: Concat({name:?}) of {b} to {a}"));
                }
                w.skip[i] = Some(skip);
                w.readers[skip.index()] += 1;
                w.readers[current.index()] += 1;
                current = Src::Out(i);
            }
            _ => {
                w.readers[current.index()] += 1;
                current = Src::Out(i);
            }
        }
        w.output.push(current);
        w.shapes[i + 1] = match current {
            Src::Out(j) if j == i => {
                let shape = w.shapes[w.input[i].index()];
                match (layer, w.skip[i]) {
                    (Layer::Concat(_), Some(skip)) => Shape {
                        c: shape.c + w.shapes[skip.index()].c,
                        ..shape
                    },
                    _ => layer
                        .out_shape(shape)
                        .map_err(|e| format!("layer {i}: {e}"))?,
                }
            }
            other => w.shapes[other.index()],
        };
        w.features[i + 1] = w.shapes[i + 1].len();
    }
    w.readers[current.index()] += 1;
    Ok(w)
}

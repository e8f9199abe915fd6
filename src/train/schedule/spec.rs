//! What a family declares about its nets and optimizers (`planner` plans them): each net's
//! name, input shape, layers and moving average; each optimizer group's nets, rate and Adam
//! settings.

use crate::nn::{Layer, Shape};
use crate::ops::{self, AdamConfig};

/// A net of a family: its name (the prefix of its tensors in checkpoints), the shape of a
/// sample of its input, its layers, and the decay of the moving average of its weights that
/// samples use (0 for none).
#[derive(Clone, Debug)]
pub struct NetSpec {
    pub name: String,
    pub input: Shape,
    pub layers: Vec<Layer>,
    pub ema: f32,
}

impl NetSpec {
    /// A net reading `inputs` values per sample (noise, codes, a flattened image).
    pub fn new(name: &str, inputs: usize, layers: Vec<Layer>) -> Self {
        Self::shaped(name, Shape::flat(inputs), layers)
    }

    pub fn shaped(name: &str, input: Shape, layers: Vec<Layer>) -> Self {
        Self {
            name: name.into(),
            input,
            layers,
            ema: 0.0,
        }
    }

    /// Values per sample of its output.
    /// The shape of a sample of its output; fails when its layers do not wire.
    pub fn out_shape(&self) -> ops::Result<Shape> {
        let w = crate::nn::graph::wire(&self.layers, self.input)
            .map_err(|e| ops::ShapeError::net(&self.name, e))?;
        Ok(w.shapes[w.out().index()])
    }

    /// With a moving average of its weights and running statistics of decay `ema` (0: none).
    pub fn with_ema(self, ema: f32) -> Self {
        Self { ema, ..self }
    }
}

/// Which configured learning rate an optimizer group runs at (`TrainConfig::rate`): the
/// generators' (`--lr-g`) or the discriminators' (`--lr-d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    G,
    D,
}

/// An optimizer over some nets: Adam with `adam`'s betas and eps, at the rate `rate` names.
/// Its learning rates are row `i` of the device table for the i-th group; each of its nets
/// counts its own steps (they advance together, as one PyTorch Adam over all their
/// parameters does).
#[derive(Clone, Debug)]
pub struct OptimizerSpec {
    pub name: String,
    pub nets: Vec<String>,
    pub rate: Rate,
    pub adam: AdamConfig,
}

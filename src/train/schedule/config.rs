//! What a schedule is built from: how D and G alternate, the optimizers, the loss and the
//! conditioning.

use super::Aux;
use crate::ops::{AdamConfig, Loss};
use crate::program::View;

/// How D and G alternate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScheduleKind {
    /// The seed's Keras loop: fakes from G in inference mode; a D step on reals, a D step on
    /// fakes; then G steps through the frozen D with G's batch norm in training mode.
    Seed,
    /// pytorch/examples DCGAN: one D step on the summed real and detached-fake losses, then one
    /// G step on the same fakes through the updated D.
    Dcgan,
    /// WGAN-GP: `d_steps` critic steps, each on the Wasserstein loss of a real and a fake batch
    /// plus the gradient penalty at random interpolates, then one G step on fresh fakes.
    Wgan,
}

#[derive(Clone, Debug)]
pub struct ScheduleConfig {
    pub kind: ScheduleKind,
    pub batch: usize,
    pub d_steps: usize,
    pub g_steps: usize,
    pub adam_d: AdamConfig,
    pub adam_g: AdamConfig,
    pub loss: Loss,
    /// Conditioning (cgan): G reads [z, one_hot(y)] and D [x, one_hot(y)], with `classes`
    /// classes; 0 for none. Reals bring their labels; fakes get labels drawn on the device.
    pub classes: usize,
    /// ACGAN's and InfoGAN's extra heads and codes.
    pub aux: Aux,
    /// Conditioned D (cgan): D also sees each real batch with labels drawn at random, as
    /// fakes (the matching-aware discriminator of Reed et al., GAN-CLS), so it must read the
    /// label; reported in the AUX slot.
    pub mismatch: bool,
    /// WGAN-GP: the gradient penalty's weight.
    pub gp_weight: f32,
    /// Decay of the moving average of G's weights and running statistics that the samples
    /// use (0: none, the samples use G itself).
    pub g_ema: f32,
    pub seed: u64,
    /// Draw noise and real batches on the device (training) or leave the input buffers to
    /// the caller (golden tests).
    pub generated: bool,
    /// Rows of the fixed sample grid.
    pub sample_count: usize,
}

impl ScheduleConfig {
    /// Classes of the one-hot code G reads: cgan's labels, ACGAN's, InfoGAN's categories.
    pub fn g_classes(&self) -> usize {
        self.classes + self.aux.g_classes()
    }
}

/// Where a dataset lives in the program: packed bytes, labels, and their geometry.
#[derive(Clone, Copy, Debug)]
pub struct DatasetViews {
    pub images: View,
    pub labels: View,
    pub count: usize,
    pub image_len: usize,
    /// A streamed dataset's ring (`train::stream`), instead of `images` and `labels`.
    pub ring: Option<crate::ops::stream::RingGeometry>,
}

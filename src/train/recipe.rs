//! What a run's config makes: the model's networks and their initial weights, its schedule,
//! the sample grids' inputs, and the training program.

use super::families::{family, Family};
use super::schedule::{Aux, GanProgram, Rate, ScheduleConfig, ScheduleKind};
use super::{TrainConfig, TrainError, GRID};
use crate::models;
use crate::nn::{Layer, Net};
use crate::ops::Loss;

impl TrainConfig {
    /// The family of the run's model (`families`).
    pub fn family(&self) -> &'static dyn Family {
        family(self.model)
    }

    /// (channels, height, width) of the images the model makes and reads.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        self.family().image_shape(self)
    }

    pub fn schedule_kind(&self) -> ScheduleKind {
        self.family().schedule()
    }

    /// D's extra heads and G's extra codes.
    pub fn aux(&self) -> Aux {
        self.family().aux()
    }

    /// The loss op on D's real/fake output.
    pub fn loss_op(&self) -> Loss {
        self.family().loss_op(self)
    }

    /// The generator's layers (latent -> image of `image_len`) and the discriminator's.
    pub fn layers(&self, image_len: usize) -> Result<(Vec<Layer>, Vec<Layer>), TrainError> {
        let (c, h, w) = self.image_shape();
        if self.family().fixed_size() && image_len != c * h * w {
            return Err(TrainError::Config(format!(
                "--model {:?} needs images of {c}x{h}x{w} = {} values, not {image_len}",
                self.model,
                c * h * w
            )));
        }
        Ok(self.family().layers(self, image_len))
    }

    /// Initial parameter and state arenas of `net`.
    pub fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        self.family().init(net, seed)
    }

    /// Label classes G is conditioned on (cgan, acgan; infogan's categorical code); 0 for
    /// none.
    pub fn classes(&self) -> usize {
        self.family().classes()
    }

    /// Whether G's label is a digit class (cgan, acgan), which a classifier can check; an
    /// InfoGAN category is whatever the model made of it.
    pub fn labels_are_classes(&self) -> bool {
        self.family().labels_are_classes()
    }

    /// Side of the square sample grid: one row per class for conditioned models.
    pub fn grid(&self) -> usize {
        match self.classes() {
            0 => GRID,
            c => c,
        }
    }

    /// The sample grid's fixed noise, (grid², latent): one draw per tile, or for a conditioned
    /// model one per column, repeated down the class rows (one style across every class).
    pub fn sample_noise(&self) -> Vec<f32> {
        let (n, latent) = (self.grid(), self.latent_dim);
        if self.classes() == 0 {
            return models::normal(self.seed, 0xF1CED, n * n * latent);
        }
        let row = models::normal(self.seed, 0xF1CED, n * latent);
        (0..n).flat_map(|_| row.iter().copied()).collect()
    }

    /// The continuous codes of each sample-grid tile (InfoGAN): 0.
    pub fn sample_codes(&self) -> Vec<f32> {
        vec![0.0; self.grid() * self.grid() * self.aux().codes()]
    }

    /// InfoGAN's sweep of continuous code `k`: (noise, labels, codes) of a grid whose row r is
    /// category r and whose columns take code k from -2 to 2 (the other codes 0), with one z
    /// for every tile.
    pub fn code_sweep(&self, k: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (n, codes) = (self.grid(), self.aux().codes());
        let z = models::normal(self.seed, 0xC0DE5, self.latent_dim);
        let noise = (0..n * n).flat_map(|_| z.iter().copied()).collect();
        let mut c = vec![0.0; n * n * codes];
        for tile in 0..n * n {
            let col = tile % n;
            c[tile * codes + k] = -2.0 + 4.0 * col as f32 / (n - 1).max(1) as f32;
        }
        (noise, self.sample_labels(), c)
    }

    /// The class of each sample-grid tile: row r shows class r.
    pub fn sample_labels(&self) -> Vec<f32> {
        let n = self.grid();
        (0..n * n).map(|i| (i / n) as f32).collect()
    }

    /// The training program for a dataset of `count` images of `image_len` pixels.
    pub fn program(&self, count: usize, image_len: usize) -> Result<GanProgram, TrainError> {
        self.family().program(self, count, image_len)
    }

    /// The datasets the run reads (`Family::datasets`): the training set first.
    pub fn datasets(&self) -> Result<Vec<crate::data::Dataset>, TrainError> {
        self.family().datasets(self)
    }

    /// The training program for `sets` (`Family::program_for`).
    pub fn program_for(&self, sets: &[crate::data::Dataset]) -> Result<GanProgram, TrainError> {
        self.family().program_for(self, sets)
    }

    /// The configured rate of optimizer groups at `rate`.
    pub fn rate(&self, rate: Rate) -> f32 {
        match rate {
            Rate::G => self.lr_g(),
            Rate::D => self.lr_d(),
        }
    }

    /// The GAN schedule's settings (`schedule::gan`).
    pub fn schedule_config(&self) -> ScheduleConfig {
        ScheduleConfig {
            kind: self.schedule_kind(),
            batch: self.batch_size,
            d_steps: self.d_steps,
            g_steps: self.g_steps,
            adam_d: self.adam(self.lr_d()),
            adam_g: self.adam(self.lr_g()),
            loss: self.loss_op(),
            classes: self.family().d_classes(),
            aux: self.aux(),
            mismatch: self.family().mismatch(self),
            gp_weight: 10.0,
            g_ema: self.g_ema,
            seed: self.seed,
            generated: true,
            sample_count: self.grid() * self.grid(),
        }
    }
}

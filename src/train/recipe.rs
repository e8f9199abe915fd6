//! What a run's config makes: the model's networks and their initial weights, its schedule,
//! the sample grids' inputs, and the training program.

use super::schedule::{self, Aux, GanProgram, ScheduleConfig, ScheduleKind};
use super::{ModelKind, TrainConfig, TrainError, GRID};
use crate::models::{self, CLASSES, DCGAN64_SIZE, INFO_CODES};
use crate::nn::{Layer, Net};
use crate::ops::Loss;

impl TrainConfig {
    /// (channels, height, width) of the images the model makes and reads.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        match self.model {
            ModelKind::Mlp
            | ModelKind::Cgan
            | ModelKind::Dcgan
            | ModelKind::Acgan
            | ModelKind::Infogan
            | ModelKind::WganGp => (1, 28, 28),
            ModelKind::Dcgan64 => (self.channels, DCGAN64_SIZE, DCGAN64_SIZE),
        }
    }

    pub fn schedule_kind(&self) -> ScheduleKind {
        match self.model {
            ModelKind::Mlp | ModelKind::Cgan | ModelKind::Acgan | ModelKind::Infogan => {
                ScheduleKind::Seed
            }
            ModelKind::Dcgan | ModelKind::Dcgan64 => ScheduleKind::Dcgan,
            ModelKind::WganGp => ScheduleKind::Wgan,
        }
    }

    /// D's extra heads and G's extra codes: ACGAN's class head (weight 1, the paper's sum of
    /// the source and class log-likelihoods); InfoGAN's 10-way categorical code (weight 1)
    /// and 2 continuous codes (weight 0.1, as in PyTorch-GAN's infogan).
    pub fn aux(&self) -> Aux {
        match self.model {
            ModelKind::Acgan => Aux::Classes {
                classes: CLASSES,
                weight: 1.0,
            },
            ModelKind::Infogan => Aux::Info {
                categories: CLASSES,
                continuous: INFO_CODES,
                cat_weight: 1.0,
                cont_weight: 0.1,
            },
            _ => Aux::None,
        }
    }

    /// The loss op on D's real/fake output.
    pub fn loss_op(&self) -> Loss {
        match self.model {
            ModelKind::WganGp => Loss::Wasserstein,
            _ => self.loss.op(),
        }
    }

    /// The generator's layers (latent -> image of `image_len`) and the discriminator's.
    pub fn layers(&self, image_len: usize) -> Result<(Vec<Layer>, Vec<Layer>), TrainError> {
        let (c, h, w) = self.image_shape();
        let flat = !matches!(self.model, ModelKind::Dcgan | ModelKind::Dcgan64);
        if !flat && image_len != c * h * w {
            return Err(TrainError::Config(format!(
                "--model {:?} needs images of {c}x{h}x{w} = {} values, not {image_len}",
                self.model,
                c * h * w
            )));
        }
        Ok(match self.model {
            ModelKind::Mlp => {
                let m = self.mlp(image_len);
                (m.generator(), m.discriminator())
            }
            ModelKind::Cgan => self.mlp(image_len).conditional(CLASSES),
            ModelKind::Acgan | ModelKind::Infogan | ModelKind::WganGp => {
                let m = self.mlp(image_len);
                let g_in = self.latent_dim + self.aux().g_classes() + self.aux().codes();
                (
                    m.generator_from(g_in),
                    m.discriminator_with(1 + self.aux().width()),
                )
            }
            ModelKind::Dcgan => (self.dcgan().generator(), self.dcgan().discriminator()),
            ModelKind::Dcgan64 => (self.dcgan64().generator(), self.dcgan64().discriminator()),
        })
    }

    /// Initial parameter and state arenas of `net`: Glorot for the MLP (Keras' default), the
    /// DCGAN paper's N(0, 0.02) for the DCGANs.
    pub fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        match self.model {
            ModelKind::Mlp
            | ModelKind::Cgan
            | ModelKind::Acgan
            | ModelKind::Infogan
            | ModelKind::WganGp => models::glorot_init(net, seed),
            ModelKind::Dcgan | ModelKind::Dcgan64 => models::dcgan_init(net, seed),
        }
    }

    /// Label classes G is conditioned on (cgan, acgan; infogan's categorical code); 0 for
    /// none.
    pub fn classes(&self) -> usize {
        match self.model {
            ModelKind::Cgan | ModelKind::Acgan | ModelKind::Infogan => CLASSES,
            _ => 0,
        }
    }

    /// Whether G's label is a digit class (cgan, acgan), which a classifier can check; an
    /// InfoGAN category is whatever the model made of it.
    pub fn labels_are_classes(&self) -> bool {
        matches!(self.model, ModelKind::Cgan | ModelKind::Acgan)
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
        let (g_layers, d_layers) = self.layers(image_len)?;
        let sched = ScheduleConfig {
            kind: self.schedule_kind(),
            batch: self.batch_size,
            d_steps: self.d_steps,
            g_steps: self.g_steps,
            adam_d: self.adam(self.lr_d()),
            adam_g: self.adam(self.lr_g()),
            loss: self.loss_op(),
            // Only cgan's D reads the label.
            classes: if self.model == ModelKind::Cgan {
                CLASSES
            } else {
                0
            },
            aux: self.aux(),
            mismatch: self.mismatch && self.model == ModelKind::Cgan,
            gp_weight: 10.0,
            g_ema: self.g_ema,
            seed: self.seed,
            generated: true,
            sample_count: self.grid() * self.grid(),
        };
        Ok(schedule::build(
            &sched,
            self.latent_dim,
            g_layers,
            d_layers,
            Some((count, image_len)),
        )?)
    }
}

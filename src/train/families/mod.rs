//! The GAN families, one file each: what a `--model` is made of. Each declares its nets, its
//! schedule, its extra heads and losses.csv columns, its sample-grid conditioning, its checks and
//! its recipe's defaults; the trainer, outputs, checkpoints, `sample`, `eval` and `profile` ask
//! the family instead of matching on the model. Adding a family is its file and one line in
//! `family`.

mod acgan;
mod cgan;
pub mod cyclegan;
mod dcgan;
pub mod dvdgan;
mod infogan;
mod mlp;
pub mod srgan;
mod wgan_gp;

use super::params::Param;
use super::schedule::{self, Aux, GanProgram, NetSpec, OptimizerSpec, Rate, ScheduleKind};
use super::schedule::{D_FAKE, D_REAL, G_LOSS};
use super::{ModelKind, TrainConfig, TrainError, Trainer};
use crate::data::{DataSource, Dataset};
use crate::nn::{Layer, Net};
use crate::ops::Loss;

/// A losses.csv column: the mean, over its parts, of each part's average since the last row;
/// a part is (metric slot, 0 for the loss or 1 for the accuracy accumulator).
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub parts: &'static [(usize, usize)],
}

impl Column {
    /// Its value from the metric accumulators `m`.
    pub fn value(&self, m: &[f32]) -> f32 {
        let sum = self
            .parts
            .iter()
            .fold(0.0, |s, &(slot, k)| s + m[slot + k] / m[slot + 2].max(1.0));
        sum / self.parts.len().max(1) as f32
    }

    /// Whether it averages losses (its non-finite value stops a run), not accuracies.
    pub fn is_loss(&self) -> bool {
        self.parts.iter().all(|&(_, k)| k == 0)
    }
}

/// The GAN families' first losses.csv columns: D on reals and fakes, D's accuracy over both,
/// and G.
pub const GAN_COLUMNS: &[Column] = &[
    Column {
        name: "d_loss_real",
        parts: &[(D_REAL, 0)],
    },
    Column {
        name: "d_loss_fake",
        parts: &[(D_FAKE, 0)],
    },
    Column {
        name: "d_acc",
        parts: &[(D_REAL, 1), (D_FAKE, 1)],
    },
    Column {
        name: "g_loss",
        parts: &[(G_LOSS, 0)],
    },
];

/// A sample grid the family draws at every `--sample-every`: `samples/step_N<suffix>.png` and
/// TensorBoard's `tag`, from the sample program on its fixed inputs (`sweep` None) or on
/// InfoGAN's sweep of continuous code k (`Some(k)`), `tiles` images in rows of `columns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    pub suffix: String,
    pub tag: String,
    pub sweep: Option<usize>,
    pub tiles: usize,
    pub columns: usize,
}

/// What a family declares. The defaults serve the plain MLP GAN's relatives.
pub trait Family: Sync {
    /// The recipe: every setting the flags do not give.
    fn defaults(&self) -> TrainConfig;

    /// The flags of `wgpu-gan train` that apply only to some families and apply to this one.
    fn flags(&self) -> &'static [&'static str] {
        &[]
    }

    /// Its own hyperparameters: flags with their defaults and help (`params`), which the CLI
    /// offers and the config keeps by name.
    fn params(&self) -> &'static [Param] {
        &[]
    }

    /// (channels, height, width) of the images it makes and reads.
    fn image_shape(&self, _cfg: &TrainConfig) -> (usize, usize, usize) {
        (1, 28, 28)
    }

    fn schedule(&self) -> ScheduleKind {
        ScheduleKind::Seed
    }

    /// D's extra heads and G's extra codes.
    fn aux(&self) -> Aux {
        Aux::None
    }

    /// The loss op on D's real/fake output.
    fn loss_op(&self, cfg: &TrainConfig) -> Loss {
        cfg.loss.op()
    }

    /// The losses as the run's header line names them.
    fn loss_label(&self, cfg: &TrainConfig) -> &'static str {
        match self.loss_op(cfg) {
            Loss::BceWithLogits => "BCE loss",
            Loss::Mse => "LSGAN loss",
            Loss::Wasserstein => "Wasserstein loss, gradient penalty",
        }
    }

    /// G's layers (its input to an image of `image_len`) and D's, for the families whose
    /// nets are one generator `g` and one discriminator `d` (the default `nets`).
    fn layers(&self, _cfg: &TrainConfig, _image_len: usize) -> (Vec<Layer>, Vec<Layer>) {
        (Vec::new(), Vec::new())
    }

    /// Its nets by name, in order; the first makes the sample grids. By default G, reading
    /// the noise, codes and one-hot label, with the moving average `--g-ema`, and D, reading
    /// the image and the label D is conditioned on.
    fn nets(&self, cfg: &TrainConfig, image_len: usize) -> Result<Vec<NetSpec>, TrainError> {
        let (g, d) = cfg.layers(image_len)?;
        let aux = self.aux();
        let g_in = cfg.latent_dim + self.d_classes() + aux.g_classes() + aux.codes();
        Ok(vec![
            NetSpec::new("g", g_in, g).with_ema(cfg.g_ema),
            NetSpec::new("d", image_len + self.d_classes(), d),
        ])
    }

    /// Its optimizer groups, each stepping some of its nets: by default D's, then G's, each
    /// Adam with the recipe's betas at `--lr-d` and `--lr-g`.
    fn optimizers(&self, cfg: &TrainConfig) -> Vec<OptimizerSpec> {
        [("d", Rate::D), ("g", Rate::G)]
            .into_iter()
            .map(|(name, rate)| OptimizerSpec {
                name: name.into(),
                nets: vec![name.into()],
                rate,
                adam: cfg.adam(cfg.rate(rate)),
            })
            .collect()
    }

    /// The training program for a dataset of `count` images of `image_len` values: by default
    /// the GAN schedule `schedule()` over `nets` and `optimizers` (`schedule::gan`).
    fn program(
        &self,
        cfg: &TrainConfig,
        count: usize,
        image_len: usize,
    ) -> Result<GanProgram, TrainError> {
        let nets = self.nets(cfg, image_len)?;
        let sched = cfg.schedule_config();
        let dataset = Some((count, image_len));
        let optimizers = self.optimizers(cfg);
        Ok(schedule::gan::build(
            &sched,
            cfg.latent_dim,
            nets,
            optimizers,
            dataset,
        )?)
    }

    /// The datasets a run reads: the first is the training set the default program draws
    /// from and streams; a family may read more (a second domain) or keep some for itself
    /// (held-out images), as its `program_for` decides.
    fn datasets(&self, cfg: &TrainConfig) -> Result<Vec<Dataset>, TrainError> {
        Ok(vec![cfg.data.load()?])
    }

    /// The training program for `datasets`' sets: by default `program` for the first.
    fn program_for(&self, cfg: &TrainConfig, sets: &[Dataset]) -> Result<GanProgram, TrainError> {
        let ds = sets
            .first()
            .ok_or_else(|| TrainError::Config("no dataset".into()))?;
        self.program(cfg, ds.count, ds.image_len())
    }

    /// Initial parameter and state arenas of `net`: Glorot (Keras' default) unless the family
    /// says otherwise.
    fn init(&self, net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
        crate::models::glorot_init(net, seed)
    }

    /// Label classes G is conditioned on (0 for none).
    fn classes(&self) -> usize {
        0
    }

    /// Label classes D reads beside the image (cgan).
    fn d_classes(&self) -> usize {
        0
    }

    /// Whether G's label is a digit class a classifier can check.
    fn labels_are_classes(&self) -> bool {
        false
    }

    /// Whether D also learns that reals with wrong labels are fakes (cgan).
    fn mismatch(&self, _cfg: &TrainConfig) -> bool {
        false
    }

    /// The first losses.csv columns, before the wall clock; each loss among them that goes NaN
    /// or infinite stops the run.
    fn loss_columns(&self) -> &'static [Column] {
        GAN_COLUMNS
    }

    /// losses.csv columns of the extra heads.
    fn head_columns(&self, _cfg: &TrainConfig) -> &'static [Column] {
        &[]
    }

    /// Whether its nets take images of `image_shape` only (convolutions), not any length.
    fn fixed_size(&self) -> bool {
        false
    }

    /// The values of the sample program's inputs, by name (the default GAN sample program's
    /// `sample.noise`, `sample.labels` and `sample.codes`); for `sweep` k, InfoGAN's sweep of
    /// continuous code k.
    fn sample_inputs(
        &self,
        cfg: &TrainConfig,
        sweep: Option<usize>,
    ) -> Vec<(&'static str, Vec<f32>)> {
        let (noise, labels, codes) = match sweep {
            Some(k) => cfg.code_sweep(k),
            None => (cfg.sample_noise(), cfg.sample_labels(), cfg.sample_codes()),
        };
        vec![
            ("sample.noise", noise),
            ("sample.labels", labels),
            ("sample.codes", codes),
        ]
    }

    /// Its sample grids; the first is the main one (progress.gif's frames). By default the
    /// fixed grid (a row per class for a conditioned model) and one sweep per continuous code.
    fn grids(&self, cfg: &TrainConfig) -> Vec<Grid> {
        let n = cfg.grid();
        let grid = |suffix: String, tag: String, sweep| Grid {
            suffix,
            tag,
            sweep,
            tiles: n * n,
            columns: n,
        };
        let mut grids = vec![grid(String::new(), "samples".into(), None)];
        for k in 0..self.aux().codes() {
            let (suffix, tag) = (format!("_code{}", k + 1), format!("samples/code{}", k + 1));
            grids.push(grid(suffix, tag, Some(k)));
        }
        grids
    }

    /// Writes the family's own sample files into `dir` at sample point `step`, from the
    /// sample program's output (`sample` runs it), and returns the PNG TensorBoard shows; None
    /// (the default): the trainer draws `grids`.
    fn write_samples(
        &self,
        _cfg: &TrainConfig,
        _sample: &mut dyn FnMut() -> Result<Vec<f32>, TrainError>,
        _dir: &std::path::Path,
        _step: usize,
    ) -> Option<Result<std::path::PathBuf, TrainError>> {
        None
    }

    /// Writes `sample`'s output file itself (video families); None (the default): the
    /// generator's images go to the file as usual.
    fn write_sample_file(
        &self,
        _ckpt: &crate::checkpoint::Checkpoint,
        _req: &SampleRequest,
        _gpu: &crate::gpu::GpuOptions,
    ) -> Option<Result<(), TrainError>> {
        None
    }

    /// `wgpu-gan eval`'s report when the family scores its samples its own way (video);
    /// None (the default): the image scores.
    fn evaluate(
        &self,
        _ckpt: &crate::checkpoint::Checkpoint,
        _opts: &crate::eval::EvalOptions,
        _gpu: &crate::gpu::GpuOptions,
        _log: &mut dyn FnMut(&str),
    ) -> Option<Result<String, TrainError>> {
        None
    }

    /// The family's own checks of a config.
    fn validate(&self, _cfg: &TrainConfig) -> Result<(), String> {
        Ok(())
    }

    /// Named training stages that run before the main `--steps` iterations, in order, with
    /// their iteration counts (the program's `stages` hold their ops); default none.
    fn stages(&self, _cfg: &TrainConfig) -> Vec<(String, usize)> {
        Vec::new()
    }

    /// Images of a dataset of `count` kept out of training (its last ones) for fixed
    /// evaluation batches (`Trainer::held_out`); default none.
    fn held_out(&self, _cfg: &TrainConfig, _count: usize) -> usize {
        0
    }

    /// losses.csv columns the host computes at each log point, after the heads; default none.
    fn host_columns(&self, _cfg: &TrainConfig) -> Vec<&'static str> {
        Vec::new()
    }

    /// The values of `host_columns` for the trainer as it is now.
    fn host_values(&self, _t: &mut Trainer) -> Result<Vec<f32>, TrainError> {
        Ok(Vec::new())
    }

    /// The images of `grid`, (tiles, C, H, W) in [-1, 1], when the family draws them itself;
    /// None: the sample program's (the default).
    fn grid_images(&self, _t: &mut Trainer, _grid: &Grid) -> Option<Result<Vec<f32>, TrainError>> {
        None
    }
}

/// The registry: the family of each `--model`.
pub fn family(model: ModelKind) -> &'static dyn Family {
    match model {
        ModelKind::Mlp => &mlp::Mlp,
        ModelKind::Cgan => &cgan::Cgan,
        ModelKind::Dcgan => &dcgan::Dcgan,
        ModelKind::Dcgan64 => &dcgan::Dcgan64,
        ModelKind::Acgan => &acgan::Acgan,
        ModelKind::Infogan => &infogan::Infogan,
        ModelKind::WganGp => &wgan_gp::WganGp,
        ModelKind::Srgan => &srgan::Srgan,
        ModelKind::Cyclegan => &cyclegan::Cyclegan,
        ModelKind::Dvdgan => &dvdgan::Dvdgan,
    }
}

/// A family that trains on labelled digits refuses an image folder.
fn needs_labels(cfg: &TrainConfig) -> Result<(), String> {
    match cfg.data {
        DataSource::Folder { .. } => Err(format!(
            "--model {} needs labelled digits (IDX files), not --data-folder",
            cfg.model_name()
        )),
        _ => Ok(()),
    }
}

/// The seed's MLP pair for a G reading `latent + extra` values and a D with `outputs` outputs.
fn mlp_pair(cfg: &TrainConfig, image_len: usize, outputs: usize) -> (Vec<Layer>, Vec<Layer>) {
    let m = cfg.mlp(image_len);
    let aux = family(cfg.model).aux();
    let g_in = cfg.latent_dim + aux.g_classes() + aux.codes();
    (m.generator_from(g_in), m.discriminator_with(outputs))
}

/// What `sample` makes and where it goes.
#[derive(Clone, Debug)]
pub struct SampleRequest<'a> {
    /// `.npy` or `.png`.
    pub out: &'a std::path::Path,
    pub count: usize,
    pub seed: u64,
    /// A conditioned model's class (every class in turn when None).
    pub label: Option<usize>,
    pub device: crate::exec::DeviceKind,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::LossKind;
    use clap::ValueEnum;

    /// The header names each recipe's own losses, not the `--loss` default it ignores.
    #[test]
    fn loss_label_names_the_losses_each_family_trains_with() {
        let expect = |m: ModelKind| match m {
            ModelKind::Dvdgan => "hinge",
            ModelKind::Cyclegan => "LSGAN",
            ModelKind::WganGp => "Wasserstein",
            ModelKind::Srgan => "MSE content",
            _ => "BCE",
        };
        for &m in ModelKind::value_variants() {
            let f = family(m);
            let label = f.loss_label(&f.defaults());
            assert!(label.contains(expect(m)), "{m:?}: {label}");
        }
        // Titles as the papers spell them, each its own.
        let titles: std::collections::BTreeSet<_> = ModelKind::value_variants()
            .iter()
            .map(|m| m.title())
            .collect();
        assert_eq!(titles.len(), ModelKind::value_variants().len());
        assert_eq!(ModelKind::Dvdgan.title(), "DVD-GAN");
        assert_eq!(ModelKind::Cyclegan.title(), "CycleGAN");
        let mut lsgan = family(ModelKind::Dcgan).defaults();
        lsgan.loss = LossKind::Lsgan;
        assert_eq!(family(ModelKind::Dcgan).loss_label(&lsgan), "LSGAN loss");
    }
}

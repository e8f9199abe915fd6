//! Setting a trainer up: the dataset's checks, the held-out split, and the uploads of the
//! datasets, initial weights and sample inputs into a freshly planned program.

use super::schedule::GanProgram;
use super::{write_sample_inputs, TrainConfig, TrainError};
use crate::exec::Executor;

/// Uploads the dataset, the initial weights (deterministic in `cfg.seed`) and the fixed sample
/// noise into a freshly planned training program.
pub fn upload_initial_state(
    exec: &mut dyn Executor,
    gan: &GanProgram,
    ds: &crate::data::Dataset,
    cfg: &TrainConfig,
) {
    if let Some(data) = gan.dataset {
        crate::train::stream::upload(exec, data, ds);
    }
    // A moving average starts at its net's initial weights.
    for (i, entry) in gan.nets.iter().enumerate() {
        let salt = i as u64 + 1;
        let net = &entry.net;
        let (params, state) = cfg.init(net, cfg.seed.wrapping_mul(0x9E37_79B9).wrapping_add(salt));
        exec.write_f32(net.params, &params);
        exec.write_f32(net.state, &state);
        if let Some((average, _)) = &entry.ema {
            exec.write_f32(average.params, &params);
            exec.write_f32(average.state, &state);
        }
    }
    write_sample_inputs(exec, gan, cfg, None);
}

/// Uploads the datasets after the first (`Family::datasets`) that the program reads whole.
pub fn upload_extra_datasets(
    exec: &mut dyn Executor,
    gan: &GanProgram,
    sets: &[crate::data::Dataset],
) {
    for (views, ds) in gan.extra_datasets.iter().zip(sets.iter().skip(1)) {
        crate::train::stream::upload(exec, *views, ds);
    }
}

/// Takes the family's held-out images off the end of `ds`.
pub(super) fn split_held_out(
    cfg: &TrainConfig,
    ds: &mut crate::data::Dataset,
) -> Result<Option<crate::data::Dataset>, TrainError> {
    let k = cfg.family().held_out(cfg, ds.count);
    if k == 0 {
        return Ok(None);
    }
    if k >= ds.count {
        return Err(TrainError::Config(format!(
            "{}: {} images are too few; --model {} keeps {k} out of training",
            ds.name,
            ds.count,
            cfg.model_name()
        )));
    }
    let keep = ds.count - k;
    let held = crate::data::Dataset {
        name: format!("{} (held out)", ds.name),
        images: ds.images.split_off(keep * ds.image_len()),
        labels: ds.labels.split_off(keep.min(ds.labels.len())),
        count: k,
        channels: ds.channels,
        height: ds.height,
        width: ds.width,
    };
    ds.count = keep;
    Ok(Some(held))
}

/// The dataset's images have the model's size and channel count.
pub(super) fn check_dataset(
    cfg: &TrainConfig,
    ds: &crate::data::Dataset,
) -> Result<(), TrainError> {
    let (c, h, w) = cfg.image_shape();
    crate::data::check_shape(ds, h, w)?;
    if ds.channels != c {
        return Err(TrainError::Config(format!(
            "{}: images have {} channels but --model {:?} needs {c}",
            ds.name, ds.channels, cfg.model
        )));
    }
    let classes = cfg.classes();
    let outside = |l: &&u8| classes > 0 && **l as usize >= classes;
    if let Some(bad) = ds.labels.iter().find(outside) {
        return Err(TrainError::Config(format!(
            "{}: label {bad} is not one of the {classes} classes --model {:?} is conditioned on",
            ds.name, cfg.model
        )));
    }
    Ok(())
}

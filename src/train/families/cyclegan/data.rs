//! CycleGAN's two domains: `--data-a` and `--data-b` brought to `--size` and the channels, each
//! split into a training set and fixed held-out images (the last ones) that training never
//! sees, for the sample grids, losses.csv's cycle errors and `eval`.

use crate::data::domain::Domain;
use crate::data::Dataset;
use crate::train::{TrainConfig, TrainError};

/// Held-out images of a domain of `count`: a fifth, at most 300.
pub fn held_out(count: usize) -> usize {
    (count / 5).min(300)
}

/// A domain's training images and its held-out ones.
pub struct Split {
    pub train: Dataset,
    pub held: Dataset,
}

/// Domains A and B of a config.
pub fn domains(cfg: &TrainConfig) -> [Domain; 2] {
    ["data-a", "data-b"].map(|name| Domain::parse(&cfg.param::<String>(name).unwrap_or_default()))
}

/// Without `--channels`, both domains must have the same channels.
pub fn check_channels(cfg: &TrainConfig) -> Result<(), String> {
    if cfg.channels > 0 {
        return match cfg.channels {
            1 | 3 => Ok(()),
            c => Err(format!("--channels {c}: give 1 (gray) or 3 (RGB)")),
        };
    }
    let [a, b] = domains(cfg);
    let (ca, cb) = (
        a.native_channels().map_err(|e| e.to_string())?,
        b.native_channels().map_err(|e| e.to_string())?,
    );
    if ca != cb {
        return Err(format!(
            "domain A ({}) has {ca} channel(s) and domain B ({}) {cb}: give --channels 1 or 3 \
             to bring both to one",
            cfg.param::<String>("data-a").unwrap_or_default(),
            cfg.param::<String>("data-b").unwrap_or_default()
        ));
    }
    Ok(())
}

/// Images `range` of `ds` as a dataset of their own.
fn part(ds: &Dataset, range: std::ops::Range<usize>, what: &str) -> Dataset {
    let len = ds.image_len();
    Dataset {
        name: format!("{} ({what})", ds.name),
        images: ds.images[range.start * len..range.end * len].to_vec(),
        labels: ds.labels[range.clone()].to_vec(),
        count: range.len(),
        ..ds.clone()
    }
}

/// Both domains at the run's shape, split; a domain with fewer than 2 images is refused.
pub fn split(cfg: &TrainConfig) -> Result<[Split; 2], TrainError> {
    let (channels, size, _) = cfg.image_shape();
    let mut out = Vec::new();
    for (domain, name) in domains(cfg).iter().zip(["A", "B"]) {
        let ds = domain.load(channels, size)?;
        let held = held_out(ds.count).max(1);
        if ds.count < 2 {
            return Err(TrainError::Config(format!(
                "domain {name} ({}): {} usable image(s); CycleGAN needs at least 2 (one held out)",
                ds.name, ds.count
            )));
        }
        let cut = ds.count - held;
        out.push(Split {
            train: part(&ds, 0..cut, "training"),
            held: part(&ds, cut..ds.count, "held out"),
        });
    }
    let [a, b]: [Split; 2] = out
        .try_into()
        .map_err(|_| TrainError::Config("domains".into()))?;
    Ok([a, b])
}

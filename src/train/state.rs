//! A trainer's state in a checkpoint: every declared net by name (and its moving average), the
//! counters, the sample grid's noise and the partial loss sums; and its restore.

use super::{TrainError, Trainer};
use crate::checkpoint;
use std::collections::HashMap;
use std::path::Path;

impl Trainer {
    pub fn save_checkpoint(&self, path: &Path, seconds: f64) -> Result<(), TrainError> {
        let mut meta = HashMap::new();
        let config =
            serde_json::to_string(&self.cfg).map_err(|e| TrainError::Config(e.to_string()))?;
        meta.insert("config".into(), config);
        meta.insert("step".into(), self.step.to_string());
        meta.insert("seconds".into(), format!("{seconds:.3}"));
        // The kernels this run was planned with: a resume takes them over (gpu::tune).
        if let Some(choices) = self.exec.kernel_choices() {
            meta.insert(crate::gpu::tune::CHECKPOINT_KEY.into(), choices);
        }
        // Partial loss sums since the last log point, so a resume logs the same rows.
        let mut extra = vec![(
            "metrics".to_string(),
            vec![self.gan.metrics.len],
            self.gan.metrics,
        )];
        if let Some(noise) = self.gan.sample_input("sample.noise") {
            let shape = vec![self.cfg.grid() * self.cfg.grid(), self.cfg.latent_dim];
            extra.insert(0, ("sample_noise".into(), shape, noise));
        }
        for entry in &self.gan.nets {
            if let Some((average, _)) = &entry.ema {
                extra.extend(checkpoint::ema_entries(average));
            }
        }
        for (name, view) in &self.gan.state {
            extra.push((name.clone(), vec![view.len], *view));
        }
        let extra: Vec<_> = extra
            .iter()
            .map(|(n, s, v)| (n.as_str(), s.clone(), *v))
            .collect();
        checkpoint::save(
            path,
            self.exec.as_ref(),
            &self.gan.nets(),
            self.gan.counters,
            &extra,
            meta,
        )?;
        Ok(())
    }

    /// Puts the run back in the state `ckpt` saved: weights, running statistics, Adam moments
    /// and step counts, the random streams' counter, the sample noise and the partial losses.
    pub fn restore(&mut self, ckpt: &checkpoint::Checkpoint) -> Result<(), TrainError> {
        let exec = self.exec.as_mut();
        for net in self.gan.nets() {
            ckpt.restore_net(exec, net, true)?;
        }
        if ckpt.counters.len() != self.gan.counters.len {
            return Err(TrainError::Config(format!(
                "checkpoint {} has {} step counters, this program {}",
                ckpt.path.display(),
                ckpt.counters.len(),
                self.gan.counters.len
            )));
        }
        exec.write(self.gan.counters, &ckpt.counters);
        if let Some(s) = self.stream.as_mut() {
            s.set_counter(ckpt.counters[super::schedule::ITERATION]);
        }
        if let Some(v) = self.gan.sample_input("sample.noise") {
            let tiles = self.cfg.grid() * self.cfg.grid();
            let noise = ckpt.get("sample_noise", &[tiles, self.cfg.latent_dim])?;
            exec.write_f32(v, noise);
        }
        let metrics = ckpt.get("metrics", &[self.gan.metrics.len])?;
        exec.write_f32(self.gan.metrics, metrics);
        for entry in &self.gan.nets {
            if let Some((average, _)) = &entry.ema {
                ckpt.restore_ema(exec, average)?;
            }
        }
        for (name, view) in &self.gan.state {
            exec.write_f32(*view, ckpt.get(name, &[view.len])?);
        }
        let meta = |k: &str| ckpt.metadata.get(k).map(String::as_str).unwrap_or("");
        self.step = meta("step").parse().map_err(|_| {
            TrainError::Config(format!("checkpoint {} has no step", ckpt.path.display()))
        })?;
        self.seconds_before = meta("seconds").parse().unwrap_or(0.0);
        Ok(())
    }
}

/// The training config stored in a checkpoint.
pub fn checkpoint_config(ckpt: &checkpoint::Checkpoint) -> Result<super::TrainConfig, TrainError> {
    let text = ckpt.metadata.get("config").ok_or_else(|| {
        TrainError::Config(format!(
            "checkpoint {} has no config in its metadata",
            ckpt.path.display()
        ))
    })?;
    serde_json::from_str(text).map_err(|e| {
        TrainError::Config(format!(
            "checkpoint {}: unreadable config ({e})",
            ckpt.path.display()
        ))
    })
}

//! The training loop's outputs: progress bar, losses.csv, losses.png, sample grids and
//! checkpoints in the run directory.

use super::families::Column;
use super::TrainConfig;
use super::{now_seconds, TrainError, Trainer};
use crate::eval::{Scores, ENTROPY_WARNING};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Most iterations recorded into one submission: keeps the progress bar live.
const MAX_CHUNK: usize = 20;
// A submission reads one learning-rate entry per iteration (`lr::entry`).
const _: () = assert!(MAX_CHUNK <= crate::lr::LR_TABLE);

/// One row of losses.csv: averages over the iterations since the previous row.
#[derive(Clone, Debug, PartialEq)]
pub struct LossRow {
    pub step: usize,
    /// The family's loss columns (`Family::loss_columns`), before the wall clock.
    pub losses: Vec<(&'static str, f32)>,
    pub seconds: f64,
    /// The family's extra heads (`Family::head_columns`), after the wall clock.
    pub heads: Vec<(&'static str, f32)>,
}

/// losses.csv's header for the GAN families (`families::GAN_COLUMNS`) before their heads.
pub const CSV_HEADER: &str = "step,d_loss_real,d_loss_fake,d_acc,g_loss,seconds";

/// The header of losses.csv for loss columns `losses` and heads `heads` (before any eval
/// columns): `step,<losses>,seconds,<heads>`.
pub fn csv_header(losses: &[&str], heads: &[&str]) -> String {
    let mut h = vec!["step"];
    h.extend(losses);
    h.push("seconds");
    h.extend(heads);
    h.join(",")
}

/// The (name, value) of `columns` from the metric accumulators `m`.
fn values(columns: &[Column], m: &[f32]) -> Vec<(&'static str, f32)> {
    columns.iter().map(|c| (c.name, c.value(m))).collect()
}

impl LossRow {
    /// The run's columns (`cfg`'s family) from the metric accumulators `m`.
    pub fn from_metrics(cfg: &TrainConfig, step: usize, m: &[f32], seconds: f64) -> Self {
        let family = cfg.family();
        Self {
            step,
            losses: values(family.loss_columns(), m),
            seconds,
            heads: values(family.head_columns(cfg), m),
        }
    }

    pub fn header(&self) -> String {
        let names = |v: &[(&'static str, f32)]| v.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        csv_header(&names(&self.losses), &names(&self.heads))
    }

    pub fn csv(&self) -> String {
        let mut line = self.step.to_string();
        for (_, v) in &self.losses {
            line += &format!(",{v}");
        }
        line += &format!(",{:.3}", self.seconds);
        for (_, v) in &self.heads {
            line += &format!(",{v}");
        }
        line
    }

    /// The value of column `name`, if the row has it.
    pub fn get(&self, name: &str) -> Option<f32> {
        let mut all = self.losses.iter().chain(&self.heads);
        all.find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Columns losses.csv gains with `--eval-every`; rows between scores hold NaN there, and so
/// does class_accuracy for unconditioned models.
pub const EVAL_HEADER: &str = "fcd,class_entropy,confidence,class_accuracy";

/// The eval columns of a row, each with its leading comma.
fn eval_csv(scores: Option<&Scores>) -> String {
    let Some(s) = scores else {
        return ",NaN,NaN,NaN,NaN".into();
    };
    let acc = s.class_accuracy.unwrap_or(f64::NAN);
    format!(
        ",{:.4},{:.4},{:.4},{acc:.4}",
        s.fcd, s.class_entropy, s.confidence
    )
}

/// `eval`: None without `--eval-every`, else this row's scores if it has some.
fn append_csv(path: &Path, row: &LossRow, eval: Option<Option<&Scores>>) -> Result<(), TrainError> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    if new {
        let extra = eval.map_or(String::new(), |_| format!(",{EVAL_HEADER}"));
        writeln!(f, "{}{extra}", row.header()).map_err(io_err(path))?;
    }
    let extra = eval.map_or(String::new(), eval_csv);
    writeln!(f, "{}{extra}", row.csv()).map_err(io_err(path))
}

/// Every loss column of `rows` against the step.
fn plot(path: &Path, rows: &[LossRow]) -> Result<(), TrainError> {
    let names: Vec<&str> = rows
        .first()
        .map_or(Vec::new(), |r| r.losses.iter().map(|(n, _)| *n).collect());
    let all: Vec<(&str, Vec<(f64, f64)>)> = names
        .iter()
        .map(|&name| {
            let points = rows
                .iter()
                .filter_map(|r| Some((r.step as f64, r.get(name)? as f64)));
            (name, points.collect())
        })
        .collect();
    crate::io::plot::plot_losses(path, &all, "wgpu-gan losses")?;
    Ok(())
}

fn progress(steps: usize, start: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_position(start as u64);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {per_sec} ETA {eta} {msg}",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar
}

/// The rows already in losses.csv (a resumed run plots its whole history), read as the loss
/// `columns` that start each row.
fn read_csv(path: &Path, columns: &[Column]) -> Vec<LossRow> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let n = columns.len();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let v: Vec<f64> = line.split(',').filter_map(|x| x.parse().ok()).collect();
            (v.len() >= n + 2).then(|| LossRow {
                step: v[0] as usize,
                losses: columns
                    .iter()
                    .zip(&v[1..=n])
                    .map(|(c, &x)| (c.name, x as f32))
                    .collect(),
                seconds: v[n + 1],
                heads: Vec::new(),
            })
        })
        .collect()
}

/// Iterations to run before the next output, capture or the end.
fn next_chunk(t: &Trainer) -> usize {
    let c = &t.cfg;
    let next_event = [
        c.log_every,
        c.sample_every,
        c.checkpoint_every,
        c.eval_every,
    ]
    .iter()
    .filter(|&&e| e > 0)
    .map(|e| (t.step / e + 1) * e)
    .chain(
        t.capture
            .iter()
            .map(|&s| s.saturating_sub(1))
            .filter(|&s| s > t.step),
    )
    .min()
    .unwrap_or(t.total_steps());
    (next_event.min(t.total_steps()) - t.step).clamp(1, MAX_CHUNK)
}

/// Runs the next chunk; an iteration listed in `capture` runs alone inside a RenderDoc capture.
fn advance(t: &mut Trainer) -> Result<(), TrainError> {
    if t.capture.contains(&(t.step + 1)) {
        t.exec.wait()?;
        t.exec.capture(true);
        let r = t.run_iterations(1);
        t.exec.capture(false);
        return r;
    }
    t.run_iterations(next_chunk(t))
}

fn save_checkpoint(t: &Trainer, ckpts: &Path, seconds: f64) -> Result<(), TrainError> {
    t.check_finite()?;
    let name = format!("step_{:06}.safetensors", t.step);
    t.save_checkpoint(&ckpts.join(&name), seconds)?;
    crate::io::atomic_write(&ckpts.join("latest"), name.as_bytes()).map_err(io_err(ckpts))?;
    super::resume::prune(&t.out, t.cfg.keep_checkpoints).map_err(io_err(ckpts))
}

/// Runs the trainer from its current step to its last (the stages, then `cfg.steps`), writing every output. A run that
/// starts at step 0 first saves its initial state, so there is always a good checkpoint.
pub fn train_loop(t: &mut Trainer) -> Result<Option<LossRow>, TrainError> {
    let samples = t.out.join("samples");
    let ckpts = t.out.join("checkpoints");
    for dir in [&t.out, &samples, &ckpts] {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let csv = t.out.join("losses.csv");
    let start = Instant::now();
    let seconds = |t: &Trainer| now_seconds(start) + t.seconds_before;
    let mut board = super::board::Board::open(t, seconds(t));
    if t.step == 0 {
        save_checkpoint(t, &ckpts, 0.0)?;
    }
    let bar = progress(t.total_steps(), t.step);
    let mut rows = read_csv(&csv, t.cfg.family().loss_columns());
    while t.step < t.total_steps() {
        advance(t)?;
        bar.set_position(t.step as u64);
        let last = t.step == t.total_steps();
        let eval_due = t.monitor.is_some() && (last || t.step.is_multiple_of(t.cfg.eval_every));
        if t.step.is_multiple_of(t.cfg.log_every) || last || eval_due {
            t.check_finite()?;
            let mut row = t.take_losses(seconds(t))?;
            let family = t.cfg.family();
            let host = family.host_values(t)?;
            row.heads
                .extend(family.host_columns(&t.cfg).into_iter().zip(host));
            let scores = if eval_due { t.evaluate()? } else { None };
            append_csv(&csv, &row, t.monitor.is_some().then_some(scores.as_ref()))?;
            board.log(&row, scores.as_ref());
            let columns = row.losses.iter().chain(&row.heads);
            let shown: Vec<String> = columns.map(|(name, v)| format!("{name} {v:.3}")).collect();
            let mut msg = shown.join(" | ");
            if let Some(s) = &scores {
                msg += &format!(
                    " | FCD {:.2} H {:.2} conf {:.2}",
                    s.fcd, s.class_entropy, s.confidence
                );
                warn_collapse(t, s, &bar);
            }
            bar.set_message(msg);
            if bar.is_hidden() {
                eprintln!("step {:>6}  {}", row.step, bar.message());
            }
            rows.push(row);
        }
        if t.step.is_multiple_of(t.cfg.sample_every) || last {
            let (c, h, w) = t.cfg.image_shape();
            let (cfg, step) = (t.cfg.clone(), t.step);
            let own = cfg
                .family()
                .write_samples(&cfg, &mut || t.sample_grid(), &samples, step);
            let grids = match own {
                Some(png) => {
                    board.sample(step, "samples", &png?, true)?;
                    Vec::new()
                }
                None => cfg.family().grids(&cfg),
            };
            for (i, grid) in grids.into_iter().enumerate() {
                let images = match (t.cfg.family().grid_images(t, &grid), grid.sweep) {
                    (Some(images), _) => images?,
                    (None, None) => t.sample_grid()?,
                    (None, Some(k)) => t.sweep_grid(k)?,
                };
                let path = samples.join(format!("step_{:06}{}.png", t.step, grid.suffix));
                let (tiles, columns) = (grid.tiles, grid.columns);
                crate::io::png::save_grid(&path, &images, tiles, c, h, w, columns)?;
                board.sample(t.step, &grid.tag, &path, i == 0)?;
            }
            plot(&t.out.join("losses.png"), &rows)?;
        }
        if t.step.is_multiple_of(t.cfg.checkpoint_every) || last {
            save_checkpoint(t, &ckpts, seconds(t))?;
        }
    }
    bar.finish();
    Ok(rows.pop())
}

/// Warns once per run when the class entropy says the generator makes few kinds of image.
fn warn_collapse(t: &mut Trainer, s: &Scores, bar: &ProgressBar) {
    let Some(m) = t.monitor.as_mut() else { return };
    if m.warned || s.class_entropy >= ENTROPY_WARNING {
        return;
    }
    m.warned = true;
    let max = (s.histogram.len() as f64).ln();
    bar.suspend(|| {
        eprintln!(
            "warning: step {}: class entropy {:.2} nats (max {max:.2}) is below {ENTROPY_WARNING}: \
             the generator makes few kinds of image (mode collapse?); predicted classes {:?}",
            t.step, s.class_entropy, s.histogram
        )
    });
}

/// The checkpoint a path names: a checkpoint file, or a run directory (its latest).
pub fn resolve_checkpoint(path: &Path) -> std::path::PathBuf {
    if path.is_dir() {
        let ckpts = path.join("checkpoints");
        let dir = if ckpts.is_dir() {
            ckpts
        } else {
            path.to_path_buf()
        };
        if let Ok(name) = std::fs::read_to_string(dir.join("latest")) {
            return dir.join(name.trim());
        }
        return dir;
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gan_columns_make_the_gan_header() {
        let names: Vec<&str> = super::super::families::GAN_COLUMNS
            .iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(csv_header(&names, &[]), CSV_HEADER);
    }
}

//! Watching a run: TensorBoard event files in RUN/tb/ (scalars at every log point, every
//! sample grid, the config once) and samples/progress.gif, the grids so far as one animation.
//!
//! TensorBoard is a view, not a record: when its files cannot be written the run warns once and
//! goes on without them. losses.csv, the grids and the checkpoints stay the run's record.

use super::outputs::LossRow;
use super::{TrainError, Trainer};
use crate::eval::Scores;
use crate::io::tensorboard::EventWriter;
use std::path::{Path, PathBuf};

pub struct Board {
    /// None with `--tensorboard false`, or once writing failed.
    events: Option<EventWriter>,
    dir: PathBuf,
    /// Step and seconds of the previous log point, for iterations/s.
    last: (usize, f64),
    /// The main grids so far as PNG bytes, oldest first: progress.gif's frames.
    frames: Vec<Vec<u8>>,
    gif: PathBuf,
}

impl Board {
    /// Opens a new event file in RUN/tb/. A folder that already holds events is a resumed or
    /// rolled-back run: the new file starts with a restart marker at the first step this run
    /// logs, so TensorBoard drops whatever the earlier files hold from there on and the curves
    /// never double back. The grids already in samples/ (up to this step) seed the GIF.
    pub fn open(t: &Trainer, seconds: f64) -> Self {
        let samples = t.out.join("samples");
        let mut board = Self {
            events: None,
            dir: t.out.join("tb"),
            last: (t.step, seconds),
            frames: grids_up_to(&samples, t.step),
            gif: samples.join("progress.gif"),
        };
        if t.cfg.tensorboard {
            let fresh = !holds_events(&board.dir);
            let restart = (!fresh).then_some(t.step as i64 + 1);
            let opened = EventWriter::create(&board.dir, restart).and_then(|mut w| {
                if fresh {
                    w.text(t.step as i64, "config", &config_markdown(t)?)?;
                }
                Ok(w)
            });
            match opened {
                Ok(w) => board.events = Some(w),
                Err(e) => board.give_up(&e),
            }
        }
        board
    }

    /// Warns (once: the writer is dropped) and goes on without TensorBoard.
    fn give_up(&mut self, e: &std::io::Error) {
        let file = self.events.take().map(|w| w.path().to_path_buf());
        let path = file.as_deref().unwrap_or(&self.dir);
        eprintln!(
            "warning: cannot write TensorBoard events to {}: {e}; training goes on without them",
            path.display()
        );
    }

    /// The row's losses.csv columns as scalars: `loss/…` (with the model's heads), `score/…`
    /// when this row has scores, and `speed/seconds` with `speed/iterations_per_second`.
    pub fn log(&mut self, row: &LossRow, scores: Option<&Scores>) {
        let (last_step, last_seconds) = std::mem::replace(&mut self.last, (row.step, row.seconds));
        let Some(w) = self.events.as_mut() else {
            return;
        };
        let mut values: Vec<(String, f32)> = (row.losses.iter().chain(&row.heads))
            .copied()
            .map(|(name, v)| (format!("loss/{name}"), v))
            .collect();
        if let Some(s) = scores {
            let all = [
                ("fcd", Some(s.fcd)),
                ("class_entropy", Some(s.class_entropy)),
                ("confidence", Some(s.confidence)),
                ("class_accuracy", s.class_accuracy),
            ];
            for (name, v) in all {
                if let Some(v) = v {
                    values.push((format!("score/{name}"), v as f32));
                }
            }
        }
        values.push(("speed/seconds".into(), row.seconds as f32));
        let dt = row.seconds - last_seconds;
        if row.step > last_step && dt > 0.0 {
            let rate = (row.step - last_step) as f64 / dt;
            values.push(("speed/iterations_per_second".into(), rate as f32));
        }
        if let Err(e) = w.scalars(row.step as i64, &values) {
            self.give_up(&e);
        }
    }

    /// The grid PNG at `path` as image `tag`; with `frame`, also the GIF's next frame.
    pub fn sample(
        &mut self,
        step: usize,
        tag: &str,
        path: &Path,
        frame: bool,
    ) -> Result<(), TrainError> {
        if self.events.is_none() && !frame {
            return Ok(());
        }
        let png = std::fs::read(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if let Some(w) = self.events.as_mut() {
            let image = image::load_from_memory(&png).map_err(|e| crate::io::IoError::Decode {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            let size = (image.width(), image.height(), image.color().channel_count());
            if let Err(e) = w.image(step as i64, tag, &png, size) {
                self.give_up(&e);
            }
        }
        if frame {
            self.frames.push(png);
            crate::io::gif::save_progress(&self.gif, &self.frames)?;
        }
        Ok(())
    }
}

/// The config as JSON in a markdown code block (the text plugin renders markdown).
fn config_markdown(t: &Trainer) -> std::io::Result<String> {
    let json = serde_json::to_string_pretty(&t.cfg).map_err(std::io::Error::other)?;
    let indented: Vec<String> = json.lines().map(|l| format!("    {l}")).collect();
    Ok(indented.join("\n"))
}

fn holds_events(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut it| {
        it.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().contains("tfevents")))
    })
}

/// The main grids samples/step_NNNNNN.png up to `step`, oldest first (a resumed run's GIF
/// keeps the frames before its checkpoint, and none a later step will redraw).
fn grids_up_to(samples: &Path, step: usize) -> Vec<Vec<u8>> {
    let mut grids: Vec<(usize, PathBuf)> = std::fs::read_dir(samples)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let s: usize = name
                .strip_prefix("step_")?
                .strip_suffix(".png")?
                .parse()
                .ok()?;
            (s <= step).then_some((s, path))
        })
        .collect();
    grids.sort();
    grids
        .into_iter()
        .filter_map(|(_, path)| std::fs::read(path).ok())
        .collect()
}

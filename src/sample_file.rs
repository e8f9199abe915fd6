//! `wgpu-gan sample`'s output file: images streamed from a [`Sampler`] into a `.npy` (the header
//! first, then batch by batch) or drawn tile by tile into a grid PNG, so memory stays bounded
//! whatever `--count` is. The output's size is checked before anything is allocated or
//! written: a grid against [`MAX_GRID_BYTES`], a `.npy` against the disk's free space. Either
//! file appears at its path only when complete, so a failure never replaces a good one.

use crate::checkpoint::Checkpoint;
use crate::gpu::GpuOptions;
use crate::io::npy::{npy_header, NpyStream};
use crate::io::png::{GridCanvas, GridLayout, MAX_GRID_BYTES};
use crate::sample::{checkpoint_config, Sampler};
use crate::train::TrainError;
use std::path::Path;

pub use crate::train::families::SampleRequest;

enum Sink {
    Npy(NpyStream),
    Png(GridCanvas),
}

/// Generates `req.count` images from `ckpt`'s generator into `req.out`.
pub fn write_samples(
    ckpt: &Checkpoint,
    req: &SampleRequest,
    gpu: &GpuOptions,
) -> Result<(), TrainError> {
    let count = req.count;
    if count == 0 {
        return Err(TrainError::Config("--count must be at least 1".into()));
    }
    let cfg = checkpoint_config(ckpt)?;
    if let Some(done) = cfg.family().write_sample_file(ckpt, req, gpu) {
        return done;
    }
    let ext = req
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase);
    if !matches!(ext.as_deref(), Some("npy" | "png")) {
        return Err(TrainError::Config(format!(
            "--out {}: a {} checkpoint writes .npy or .png",
            req.out.display(),
            cfg.model_name()
        )));
    }
    let (c, h, w) = cfg.image_shape();
    let shape = match c {
        1 => vec![count, h, w],
        c => vec![count, c, h, w],
    };
    let canvas = match is_png(req.out) {
        true => {
            let most = max_grid_count(c, h, w);
            if count > most {
                return Err(TrainError::Config(format!(
                    "--count {count}: a .png grid holds at most {most} images of {c}x{h}x{w} \
                     ({} MiB of pixels); write a .npy for more",
                    MAX_GRID_BYTES >> 20
                )));
            }
            Some(GridCanvas::new(req.out, count, c, h, w, grid_cols(count))?)
        }
        false => {
            check_disk(req.out, &shape)?;
            None
        }
    };
    let mut sampler = Sampler::new(ckpt, count, req.seed, req.label, req.device, gpu)?;
    let mut sink = match canvas {
        Some(canvas) => Sink::Png(canvas),
        None => Sink::Npy(NpyStream::create(req.out, &shape)?),
    };
    let len = sampler.image_len();
    let mut done = 0;
    while done < count {
        let batch = sampler.next_batch()?;
        let take = (count - done).min(sampler.batch);
        match &mut sink {
            Sink::Npy(s) => s.write(&batch[..take * len])?,
            Sink::Png(g) => {
                for (i, image) in batch.chunks_exact(len).take(take).enumerate() {
                    g.put(done + i, image);
                }
            }
        }
        done += take;
    }
    match sink {
        Sink::Npy(s) => s.finish()?,
        Sink::Png(g) => g.save()?,
    }
    Ok(())
}

/// A square-ish grid: as many columns as rows.
pub fn grid_cols(count: usize) -> usize {
    (count as f64).sqrt().ceil() as usize
}

fn is_png(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

/// The most images of `h` x `w` with `c` channels a square grid holds (for the message).
pub fn max_grid_count(c: usize, h: usize, w: usize) -> usize {
    let fits = |n: usize| {
        GridLayout::new(n, h, w, grid_cols(n))
            .bytes(c)
            .is_some_and(|b| b <= MAX_GRID_BYTES)
    };
    let (mut lo, mut hi) = (0usize, MAX_GRID_BYTES);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Refuses a `.npy` of `shape` that the disk under `out` has no room for. Where the free space
/// cannot be read (no such directory yet), writing is left to report what is wrong.
fn check_disk(out: &Path, shape: &[usize]) -> Result<(), TrainError> {
    let values: u128 = shape.iter().map(|&d| d as u128).product();
    let bytes = npy_header(shape).len() as u128 + 4 * values;
    let dir = crate::io::parent_dir(out);
    let Ok(free) = fs4::available_space(dir) else {
        return Ok(());
    };
    if bytes <= free as u128 {
        return Ok(());
    }
    let image: Vec<String> = shape[1..].iter().map(|d| d.to_string()).collect();
    Err(TrainError::Config(format!(
        "--count {}: {} would take {} ({bytes} bytes: {} images of {} float32), but {} has {} \
         free",
        shape[0],
        out.display(),
        human(bytes),
        shape[0],
        image.join("x"),
        dir.display(),
        human(free as u128)
    )))
}

/// Bytes in binary units, one decimal.
pub fn human(bytes: u128) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} bytes"),
        _ => format!("{value:.1} {}", units[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units_and_grids_have_a_ceiling() {
        assert_eq!(human(1000), "1000 bytes");
        assert_eq!(human(313_600_000_000_128), "285.2 TiB");
        let n = max_grid_count(1, 28, 28);
        let bytes = |n| GridLayout::new(n, 28, 28, grid_cols(n)).bytes(1).unwrap();
        assert!(
            bytes(n) <= MAX_GRID_BYTES && bytes(n + 1) > MAX_GRID_BYTES,
            "{n}"
        );
    }
}

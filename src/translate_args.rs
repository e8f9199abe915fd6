//! `wgpu-gan translate` (part of the binary, next to main.rs): a CycleGAN checkpoint's
//! generator on an image, a folder of images or a `.npy` array.

use anyhow::{bail, Context as _, Result};
use clap::Args;
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};
use wgpu_gan::checkpoint::Checkpoint;
use wgpu_gan::data::{folder, Dataset};
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::io::npy::{read_npy, write_npy};
use wgpu_gan::translate::{Direction, Translator};

#[derive(Args)]
pub struct TranslateArgs {
    /// A cyclegan checkpoint file, or its run directory (the latest checkpoint).
    #[arg(long)]
    checkpoint: PathBuf,
    /// a2b (domain A to B, G_AB) or b2a (B to A, G_BA).
    #[arg(long)]
    direction: String,
    /// An image (PNG, JPEG), a folder of them, or a .npy array ([N, H, W] or [N, C, H, W] in
    /// [-1, 1], as `sample` writes); brought to the trained size and channels.
    #[arg(long)]
    input: PathBuf,
    /// Where to write: a PNG for an image, a folder (one PNG per image, same names) for a
    /// folder, a .npy for a .npy.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = DeviceKind::Auto)]
    device: DeviceKind,
}

/// Bytes 0..255 of images in [-1, 1].
fn to_bytes(x: &[f32]) -> Vec<u8> {
    x.iter()
        .map(|v| ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8)
        .collect()
}

fn dataset(images: Vec<u8>, count: usize, (c, h, w): (usize, usize, usize)) -> Dataset {
    Dataset {
        name: "translate input".into(),
        images,
        labels: vec![0; count],
        count,
        channels: c,
        height: h,
        width: w,
    }
}

pub fn translate(a: &TranslateArgs, gpu: &GpuOptions) -> Result<()> {
    let direction = Direction::parse(&a.direction)?;
    if !a.input.exists() {
        bail!(
            "cannot read {}: no such file or directory",
            a.input.display()
        );
    }
    let path = wgpu_gan::train::resolve_checkpoint(&a.checkpoint);
    let ckpt = Checkpoint::load(&path)?;
    let mut t = Translator::new(&ckpt, direction, a.device, gpu)?;
    let (c, h, w) = t.shape;
    if a.input.is_dir() {
        return translate_folder(&mut t, &a.input, &a.out);
    }
    let is_npy = a
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        let (x, shape) = read_npy(&a.input)?;
        let (n, shape3) = match shape[..] {
            [n, h, w] => (n, (1, h, w)),
            [n, c, h, w] if c == 1 || c == 3 => (n, (c, h, w)),
            _ => bail!(
                "{}: shape {shape:?}; expected [N, H, W] or [N, C, H, W] with C 1 or 3",
                a.input.display()
            ),
        };
        let y = t.dataset(dataset(to_bytes(&x), n, shape3))?;
        let out_shape: Vec<usize> = if c == 1 {
            vec![n, h, w]
        } else {
            vec![n, c, h, w]
        };
        write_npy(&a.out, &y, &out_shape)?;
        eprintln!("wrote {} ({n} images)", a.out.display());
        return Ok(());
    }
    let bytes = folder::decode(&a.input, c, h)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", a.input.display()))?;
    let y = t.dataset(dataset(bytes, 1, (c, h, w)))?;
    save_image(&a.out, &y, t.shape)?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

/// One image (C, H, W) in [-1, 1] as a PNG of exactly its size.
fn save_image(path: &Path, x: &[f32], (c, h, w): (usize, usize, usize)) -> Result<()> {
    let bytes = to_bytes(x);
    let (wu, hu) = (w as u32, h as u32);
    let plane = h * w;
    let saved = if c == 1 {
        image::GrayImage::from_raw(wu, hu, bytes).map(|img| img.save(path))
    } else {
        let rgb = (0..plane).flat_map(|i| (0..3).map(move |k| (k, i)));
        let rgb: Vec<u8> = rgb.map(|(k, i)| bytes[k * plane + i]).collect();
        image::RgbImage::from_raw(wu, hu, rgb).map(|img| img.save(path))
    };
    match saved {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => bail!("cannot write {}: {e}", path.display()),
        None => bail!(
            "cannot write {}: {c}x{h}x{w} is not an image",
            path.display()
        ),
    }
}

/// Every image of `dir` to `out/<its name>.png`; unreadable files are named and skipped.
fn translate_folder(t: &mut Translator, dir: &Path, out: &Path) -> Result<()> {
    let (c, h, w) = t.shape;
    let files = folder::list(dir)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let bar = ProgressBar::new(files.len() as u64);
    let mut written = 0;
    for file in &files {
        bar.inc(1);
        let bytes = match folder::decode(file, c, h) {
            Ok(b) => b,
            Err(e) => {
                bar.suspend(|| eprintln!("warning: skipped {}: {e}", file.display()));
                continue;
            }
        };
        let y = t.dataset(dataset(bytes, 1, (c, h, w)))?;
        let rel = file.strip_prefix(dir).unwrap_or(file).with_extension("png");
        let name = rel
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "_");
        save_image(&out.join(name), &y, t.shape)?;
        written += 1;
    }
    bar.finish_and_clear();
    if written == 0 {
        bail!(
            "{}: no readable PNG or JPEG image to translate",
            dir.display()
        );
    }
    eprintln!("wrote {written} images to {}", out.display());
    Ok(())
}

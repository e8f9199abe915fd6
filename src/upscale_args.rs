//! `wgpu-gan upscale` (part of the binary, next to main.rs): reads LR images (a PNG/JPEG, a
//! folder of them, or an .npy), super-resolves them with an srgan checkpoint's G
//! (`wgpu_gan::upscale`) and writes PNGs (or an .npy); with `--reference`, prints PSNR against
//! the HR images, and bicubic's for comparison.

use anyhow::{bail, Context, Result};
use clap::Args;
use image::DynamicImage;
use std::path::{Path, PathBuf};
use wgpu_gan::checkpoint::Checkpoint;
use wgpu_gan::eval::image_quality::{psnr, upscale_bicubic};
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::upscale::Upscaler;

#[derive(Args)]
pub struct UpscaleArgs {
    /// An srgan checkpoint file, or its run directory (its latest checkpoint).
    #[arg(long)]
    checkpoint: PathBuf,
    /// A PNG or JPEG image, a folder of them, or an .npy of LR images ([N, H, W] or
    /// [N, C, H, W], values in [-1, 1]).
    #[arg(long)]
    input: PathBuf,
    /// Where to write: a .png for one image, a folder for a folder, an .npy for an .npy.
    #[arg(long)]
    out: PathBuf,
    /// The HR images of the input (same kind: image, folder with the same file names, .npy):
    /// prints the PSNR of the SR images and of bicubic upscaling against them.
    #[arg(long)]
    reference: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceKind::Auto)]
    device: DeviceKind,
}

/// One image, (C, H, W) in [-1, 1].
struct Image {
    data: Vec<f32>,
    h: usize,
    w: usize,
}

fn is_image(p: &Path) -> bool {
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    matches!(ext.as_str(), "png" | "jpg" | "jpeg")
}

fn is_npy(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()) == Some("npy")
}

/// An image file as `channels` channels; refuses one with another count.
fn read_image(path: &Path, channels: usize) -> Result<Image> {
    let img = image::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let has = img.color().channel_count() as usize - usize::from(img.color().has_alpha());
    if has != channels {
        bail!(
            "{} has {has} channel{} but the model upscales {channels}-channel images ({})",
            path.display(),
            if has == 1 { "" } else { "s" },
            if channels == 1 { "grayscale" } else { "RGB" }
        );
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let bytes = match channels {
        1 => img.to_luma8().into_raw(),
        _ => img.to_rgb8().into_raw(),
    };
    // Interleaved HWC bytes to planar CHW in [-1, 1].
    let mut data = vec![0.0; channels * h * w];
    for (i, &b) in bytes.iter().enumerate() {
        let (pixel, ch) = (i / channels, i % channels);
        data[ch * h * w + pixel] = (b as f32 - 127.5) / 127.5;
    }
    Ok(Image { data, h, w })
}

fn write_png(path: &Path, img: &Image, channels: usize) -> Result<()> {
    let (h, w) = (img.h, img.w);
    let mut bytes = vec![0u8; channels * h * w];
    for (i, b) in bytes.iter_mut().enumerate() {
        let (pixel, ch) = (i / channels, i % channels);
        *b = wgpu_gan::io::png::to_byte(img.data[ch * h * w + pixel]);
    }
    let (wu, hu) = (w as u32, h as u32);
    let dynamic = match channels {
        1 => image::GrayImage::from_raw(wu, hu, bytes).map(DynamicImage::ImageLuma8),
        _ => image::RgbImage::from_raw(wu, hu, bytes).map(DynamicImage::ImageRgb8),
    };
    let dynamic = dynamic.context("image buffer")?;
    let mut png = Vec::new();
    dynamic.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    wgpu_gan::io::atomic_write(path, &png)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The images of an .npy of LR images for a `channels`-channel model.
fn read_npy(path: &Path, channels: usize) -> Result<Vec<Image>> {
    let (values, shape) = wgpu_gan::io::npy::read_npy(path)?;
    let (n, c, h, w) = match shape[..] {
        [n, h, w] => (n, 1, h, w),
        [n, c, h, w] => (n, c, h, w),
        _ => bail!(
            "{}: shape {shape:?}; expected [N, H, W] or [N, C, H, W]",
            path.display()
        ),
    };
    if c != channels {
        bail!(
            "{}: images of {c} channel(s) but the model upscales {channels}-channel images",
            path.display()
        );
    }
    if n == 0 || h == 0 || w == 0 {
        bail!("{}: no images (shape {shape:?})", path.display());
    }
    let len = c * h * w;
    Ok(values
        .chunks_exact(len)
        .map(|v| Image {
            data: v.to_vec(),
            h,
            w,
        })
        .collect())
}

/// (input, output, reference) paths of each image.
fn jobs(a: &UpscaleArgs) -> Result<Vec<(PathBuf, PathBuf, Option<PathBuf>)>> {
    if !a.input.is_dir() {
        return Ok(vec![(a.input.clone(), a.out.clone(), a.reference.clone())]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.input)
        .with_context(|| format!("cannot read {}", a.input.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_image(p))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{} holds no PNG or JPEG images", a.input.display());
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    Ok(files
        .into_iter()
        .map(|f| {
            let name = f.file_name().map(PathBuf::from).unwrap_or_default();
            let out = a.out.join(&name).with_extension("png");
            let reference = a.reference.as_ref().map(|r| r.join(&name));
            (f, out, reference)
        })
        .collect())
}

/// PSNR of `sr` and of bicubic of `lr` against the reference HR image `hr`.
fn report(up: &Upscaler, lr: &Image, sr: &Image, hr: &Image, name: &str) -> Result<(f64, f64)> {
    let (c, s) = (up.model.channels, up.model.scale);
    if (hr.h, hr.w) != (sr.h, sr.w) {
        bail!(
            "{name}: the reference is {}x{}, the SR image {}x{}",
            hr.w,
            hr.h,
            sr.w,
            sr.h
        );
    }
    let bicubic = upscale_bicubic(&lr.data, (c, lr.h, lr.w), s, (-1.0, 1.0))?;
    Ok((
        psnr(&sr.data, &hr.data, 2.0)?,
        psnr(&bicubic, &hr.data, 2.0)?,
    ))
}

pub fn upscale(a: &UpscaleArgs, gpu: &GpuOptions) -> Result<()> {
    let path = wgpu_gan::train::resolve_checkpoint(&a.checkpoint);
    let ckpt = Checkpoint::load(&path)?;
    let mut up = Upscaler::new(&ckpt, a.device, gpu)?;
    let (c, s) = (up.model.channels, up.model.scale);
    if is_npy(&a.input) {
        return upscale_npy(a, &mut up);
    }
    if !a.input.is_dir() && !is_image(&a.input) {
        bail!(
            "--input {}: expected a PNG/JPEG image, a folder or an .npy",
            a.input.display()
        );
    }
    if !a.input.is_dir() && !is_image(&a.out) {
        bail!("--out {}: one image is written as a .png", a.out.display());
    }
    let jobs = jobs(a)?;
    let bar = indicatif::ProgressBar::new(jobs.len() as u64);
    let mut scores = Vec::new();
    for (input, out, reference) in &jobs {
        let lr = read_image(input, c)?;
        let data = up.upscale(&lr.data, (lr.h, lr.w))?;
        let sr = Image {
            data,
            h: lr.h * s,
            w: lr.w * s,
        };
        if let Some(r) = reference {
            let hr = read_image(r, c)?;
            let (p, b) = report(&up, &lr, &sr, &hr, &input.display().to_string())?;
            bar.suspend(|| println!("{}: PSNR {p:.2} dB (bicubic {b:.2} dB)", input.display()));
            scores.push((p, b));
        }
        write_png(out, &sr, c)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    summary(&scores);
    eprintln!("wrote {} image(s) to {}", jobs.len(), a.out.display());
    Ok(())
}

fn summary(scores: &[(f64, f64)]) {
    if scores.len() > 1 {
        let n = scores.len() as f64;
        let (p, b) = scores
            .iter()
            .fold((0.0, 0.0), |(p, b), s| (p + s.0, b + s.1));
        println!(
            "mean PSNR {:.2} dB (bicubic {:.2} dB) over {} images",
            p / n,
            b / n,
            scores.len()
        );
    }
}

fn upscale_npy(a: &UpscaleArgs, up: &mut Upscaler) -> Result<()> {
    let (c, s) = (up.model.channels, up.model.scale);
    if !is_npy(&a.out) {
        bail!(
            "--out {}: an .npy input is written as an .npy",
            a.out.display()
        );
    }
    let lrs = read_npy(&a.input, c)?;
    let hrs = match &a.reference {
        Some(r) => Some(read_npy(r, c)?),
        None => None,
    };
    if hrs.as_ref().is_some_and(|h| h.len() != lrs.len()) {
        bail!("--reference holds another number of images than --input");
    }
    let (h, w) = (lrs[0].h * s, lrs[0].w * s);
    let mut all = Vec::with_capacity(lrs.len() * c * h * w);
    let mut scores = Vec::new();
    let bar = indicatif::ProgressBar::new(lrs.len() as u64);
    for (i, lr) in lrs.iter().enumerate() {
        let sr = Image {
            data: up.upscale(&lr.data, (lr.h, lr.w))?,
            h,
            w,
        };
        if let Some(hr) = hrs.as_ref().map(|v| &v[i]) {
            scores.push(report(up, lr, &sr, hr, &format!("image {i}"))?);
        }
        all.extend_from_slice(&sr.data);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if scores.len() == 1 {
        println!("PSNR {:.2} dB (bicubic {:.2} dB)", scores[0].0, scores[0].1);
    }
    summary(&scores);
    wgpu_gan::io::npy::write_npy(&a.out, &all, &[lrs.len(), c, h, w])?;
    eprintln!("wrote {} image(s) to {}", lrs.len(), a.out.display());
    Ok(())
}

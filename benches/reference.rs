//! Data for reference runs of a recipe outside the engine (PyTorch), and their results scored
//! with the project's own classifier, as `eval` scores the engine's:
//!
//! ```sh
//! cargo bench --bench reference -- cyclegan-dump /tmp/ref   # CycleGAN's split domains, .npy
//! python3 benches/pytorch_cyclegan_run.py /tmp/ref 0        # the issue's recipe in PyTorch
//! cargo bench --bench reference -- cyclegan-score /tmp/ref torch_s0_5000.npy
//! cargo bench --bench reference -- dvdgan-dump /tmp/dvd      # the embedded digits, .npy
//! python3 benches/pytorch_dvdgan_run.py /tmp/dvd 0 2000
//! cargo bench --bench reference -- dvdgan-score /tmp/dvd torch_s0_2000.npy
//! ```
//!
//! `cyclegan-dump` writes A's and B's training and held-out images (N, 1, 28, 28) in [-1, 1]
//! and their labels, split as `train --model cyclegan` splits them; `cyclegan-score` classifies
//! translations of B's held-out images (same order) and prints the class kept, per class, the
//! most common flips and the Fréchet classifier distance to 2,000 of A's training images.
//! `dvdgan-dump` writes the embedded MNIST (N, 28, 28) as bytes 0..255 and its labels;
//! `dvdgan-score` scores clips (N, T, S, S) in [-1, 1] as `eval` scores a dvdgan checkpoint's,
//! against as many real clips made by the engine, in `eval`'s report. Both scores use `eval`'s
//! classifier (`classifiers/embedded.safetensors`, trained first when missing). Run by plain
//! `cargo bench` it does nothing.

use std::path::Path;
use wgpu_gan::eval::classifier::to_unit;
use wgpu_gan::eval::{frechet, load_or_train, Classify};
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::io::npy::{read_npy, write_npy};
use wgpu_gan::train::families::cyclegan::data;
use wgpu_gan::train::families::dvdgan::{eval as video_eval, video};
use wgpu_gan::train::{ModelKind, TrainConfig};

/// `eval`'s classifier of `cfg`'s dataset on the CPU path (its default file, trained first
/// when missing).
fn classifier(cfg: &TrainConfig) -> Result<Classify, Box<dyn std::error::Error>> {
    let gpu = GpuOptions::default();
    let (c, _) = load_or_train(&cfg.data, None, DeviceKind::Cpu, &gpu, &mut |l| {
        eprintln!("{l}")
    })?;
    Ok(Classify::new(&c, DeviceKind::Cpu, &gpu)?)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let result = match args.first().map(String::as_str) {
        Some("cyclegan-dump") if args.len() == 2 => dump(Path::new(&args[1])),
        Some("cyclegan-score") if args.len() > 2 => score(Path::new(&args[1]), &args[2..]),
        Some("dvdgan-dump") if args.len() == 2 => dvdgan_dump(Path::new(&args[1])),
        Some("dvdgan-score") if args.len() > 2 => dvdgan_score(Path::new(&args[1]), &args[2..]),
        None => {
            println!("reference: nothing to time (see its doc comment)");
            Ok(())
        }
        _ => Err("usage: reference cyclegan-dump|dvdgan-dump DIR, \
                  or cyclegan-score|dvdgan-score DIR FILE.npy..."
            .into()),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn dump(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let [a, b] = data::split(&TrainConfig::for_model(ModelKind::Cyclegan))?;
    std::fs::create_dir_all(dir)?;
    let sets = [
        ("a_train", &a.train),
        ("b_train", &b.train),
        ("a_held", &a.held),
        ("b_held", &b.held),
    ];
    for (name, ds) in sets {
        let shape = [ds.count, ds.channels, ds.height, ds.width];
        write_npy(
            &dir.join(format!("{name}.npy")),
            &to_unit(&ds.images),
            &shape,
        )?;
        let labels: Vec<f32> = ds.labels.iter().map(|&l| l as f32).collect();
        write_npy(
            &dir.join(format!("{name}_labels.npy")),
            &labels,
            &[ds.count],
        )?;
        println!("{name}: {} images", ds.count);
    }
    Ok(())
}

fn score(dir: &Path, files: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = TrainConfig::for_model(ModelKind::Cyclegan);
    let [a, b] = data::split(&cfg)?;
    let mut classify = classifier(&cfg)?;
    let n = 2000.min(a.train.count) * a.train.image_len();
    let real = classify.run(&to_unit(&a.train.images[..n]))?;
    let (mr, sr) = frechet::gaussian(&real.features, real.feature_len);
    for f in files {
        let (x, _) = read_npy(&dir.join(f))?;
        if x.len() != b.held.images.len() {
            return Err(format!(
                "{f}: {} values, not B's {} held-out images",
                x.len(),
                b.held.count
            )
            .into());
        }
        let out = classify.run(&x)?;
        let (mf, sf) = frechet::gaussian(&out.features, out.feature_len);
        let predicted: Vec<usize> = out.predictions().iter().map(|p| p.0).collect();
        let (by_class, flips) = wgpu_gan::translate::class_changes(&predicted, &b.held.labels, 10);
        let by_class: Vec<String> = by_class
            .iter()
            .enumerate()
            .map(|(c, &(n, k))| format!("{c} {:.0}%", 100.0 * k as f64 / n.max(1) as f64))
            .collect();
        println!(
            "{f}: class kept {:.2}% | FCD to A {:.1} | by class {} | most changed {:?}",
            100.0 * out.accuracy(&b.held.labels),
            frechet::frechet_distance(&mr, &sr, &mf, &sf),
            by_class.join(" "),
            flips
        );
    }
    Ok(())
}

fn dvdgan_dump(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let ds = TrainConfig::for_model(ModelKind::Dvdgan).data.load()?;
    std::fs::create_dir_all(dir)?;
    let bytes: Vec<f32> = ds.images.iter().map(|&b| b as f32).collect();
    write_npy(
        &dir.join("digits.npy"),
        &bytes,
        &[ds.count, ds.height, ds.width],
    )?;
    let labels: Vec<f32> = ds.labels.iter().map(|&l| l as f32).collect();
    write_npy(&dir.join("digit_labels.npy"), &labels, &[ds.count])?;
    println!("digits: {} images of {}x{}", ds.count, ds.height, ds.width);
    Ok(())
}

fn dvdgan_score(dir: &Path, files: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = TrainConfig::for_model(ModelKind::Dvdgan);
    let v = video(&cfg)?;
    let (t, s) = (v.model.frames, v.model.size);
    let mut classify = classifier(&cfg)?;
    for f in files {
        let (fake, shape) = read_npy(&dir.join(f))?;
        if shape.len() != 4 || shape[1] != t || shape[2] != s || shape[3] != s {
            return Err(format!("{f}: shape {shape:?}, not (N, {t}, {s}, {s})").into());
        }
        print!("{f}:\n{}", video_eval::report(&cfg, &mut classify, &fake)?);
    }
    Ok(())
}

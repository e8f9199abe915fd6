//! CycleGAN's default pair for a reference run outside the engine, and that run's translations
//! scored by the project's own classifier (the figures of `eval`):
//!
//! ```sh
//! cargo bench --bench cyclegan_reference -- dump /tmp/ref     # the split domains as .npy
//! python3 benches/pytorch_cyclegan_run.py /tmp/ref 0          # the issue's recipe in PyTorch
//! cargo bench --bench cyclegan_reference -- score /tmp/ref torch_s0_5000.npy
//! ```
//!
//! `dump` writes A's and B's training and held-out images (N, 1, 28, 28) in [-1, 1] and their
//! labels, split as `train --model cyclegan` splits them. `score` classifies translations of B's
//! held-out images (same order) with `classifiers/embedded.safetensors` (train it first with
//! `wgpu-gan classifier train`) and prints the class kept, per class, the most common flips and
//! the Fréchet classifier distance to 2,000 of A's training images. Run by plain `cargo bench`
//! it does nothing.

use std::path::Path;
use wgpu_gan::eval::classifier::{to_unit, Classifier};
use wgpu_gan::eval::{frechet, Classify};
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::io::npy::{read_npy, write_npy};
use wgpu_gan::train::families::cyclegan::data;
use wgpu_gan::train::{ModelKind, TrainConfig};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let result = match args.first().map(String::as_str) {
        Some("dump") if args.len() == 2 => dump(Path::new(&args[1])),
        Some("score") if args.len() > 2 => score(Path::new(&args[1]), &args[2..]),
        None => {
            println!("cyclegan_reference: nothing to time (see its doc comment: dump, score)");
            Ok(())
        }
        _ => Err("usage: cyclegan_reference dump DIR | score DIR FILE.npy...".into()),
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
    let [a, b] = data::split(&TrainConfig::for_model(ModelKind::Cyclegan))?;
    let c = Classifier::load(Path::new("classifiers/embedded.safetensors"))?;
    let mut classify = Classify::new(&c, DeviceKind::Cpu, &GpuOptions::default())?;
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

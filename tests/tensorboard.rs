//! RUN/tb/ read back with TensorBoard's own reader (the `tensorboard` package's
//! EventAccumulator, installed from PyPI into a venv under the target dir), a resume that does
//! not double back, samples/progress.gif, `--tensorboard false` and a tb/ that cannot be written.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use wgpu_gan::io::png::GridLayout;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

/// Runs `c`, which must succeed without a panic; returns its stderr.
fn ok(c: &mut Command) -> String {
    let out = c.output().expect("spawn");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{c:?} failed: {err}");
    err
}

/// cgan with scores: losses.csv has the base columns, the mismatch head's two and the four
/// score columns, so every group (loss/, score/, speed/) is read back.
const FLAGS: [&str; 16] = [
    "--model",
    "cgan",
    "--device",
    "cpu",
    "--log-every",
    "2",
    "--sample-every",
    "2",
    "--checkpoint-every",
    "4",
    "--eval-every",
    "4",
    "--eval-count",
    "100",
    "--seed",
    "3",
];

/// The Python of a venv with `tensorboard` from PyPI, made once and kept under the target dir.
fn tensorboard_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tensorboard-venv");
        let python = venv.join("bin").join("python");
        let ready = venv.join("ready");
        if !ready.exists() {
            let _ = std::fs::remove_dir_all(&venv);
            ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
            ok(Command::new(&python).args(["-m", "pip", "install", "-q", "tensorboard"]));
            std::fs::write(&ready, "").unwrap();
        }
        python
    })
}

/// What EventAccumulator finds in RUN/tb/ (see tests/tensorboard_read.py).
fn read_back(run: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tensorboard_read.py");
    let out = Command::new(tensorboard_python())
        .arg(script)
        .arg(run.join("tb"))
        .output()
        .expect("spawn python");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "reading tb/ failed: {err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// losses.csv: the header and the rows (NaN where a row has no score).
fn csv(run: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(run.join("losses.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    (header, rows)
}

/// A tag's events as (step, the other fields).
fn series(board: &Value, kind: &str, tag: &str) -> Vec<(i64, Vec<Value>)> {
    let events = board[kind][tag].as_array();
    let events = events.unwrap_or_else(|| panic!("no {kind} {tag} in {board}"));
    events
        .iter()
        .map(|e| {
            let e = e.as_array().unwrap();
            (e[0].as_i64().unwrap(), e[1..].to_vec())
        })
        .collect()
}

fn group(column: &str) -> &'static str {
    match column {
        "seconds" => "speed",
        "fcd" | "class_entropy" | "confidence" | "class_accuracy" => "score",
        _ => "loss",
    }
}

/// Every losses.csv column is a scalar series with the rows' steps and values, and every
/// series steps strictly forward (no duplicate, no step back).
fn check_scalars(run: &Path, board: &Value, steps: &[i64]) {
    let (header, rows) = csv(run);
    let row_steps: Vec<i64> = rows.iter().map(|r| r[0] as i64).collect();
    assert_eq!(row_steps, steps, "losses.csv");
    for (i, column) in header.iter().enumerate().skip(1) {
        let tag = format!("{}/{column}", group(column));
        let want: Vec<(i64, f64)> = rows
            .iter()
            .filter(|r| !r[i].is_nan())
            .map(|r| (r[0] as i64, r[i]))
            .collect();
        assert!(!want.is_empty(), "{column} has no value to check");
        let got: Vec<(i64, f64)> = series(board, "scalars", &tag)
            .into_iter()
            .map(|(s, v)| (s, v[0].as_f64().unwrap()))
            .collect();
        let got_steps: Vec<i64> = got.iter().map(|g| g.0).collect();
        let want_steps: Vec<i64> = want.iter().map(|w| w.0).collect();
        assert_eq!(got_steps, want_steps, "{tag}");
        for ((step, g), (_, w)) in got.iter().zip(&want) {
            // losses.csv prints losses as f32 exactly, seconds to 1 ms and scores to 4 places.
            let tolerance = match group(column) {
                "loss" => 0.0,
                _ => 1e-3 + 1e-6 * w.abs(),
            };
            let close = (*g as f32 == *w as f32) || (g - w).abs() <= tolerance;
            assert!(close, "{tag} at step {step}: {g} in tb/, {w} in losses.csv");
        }
    }
    for (tag, events) in board["scalars"].as_object().unwrap() {
        let s: Vec<i64> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[0].as_i64().unwrap())
            .collect();
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{tag} steps {s:?}");
    }
    let rate = series(board, "scalars", "speed/iterations_per_second");
    assert_eq!(rate.iter().map(|r| r.0).collect::<Vec<_>>(), steps);
}

/// cgan's grids: 10x10, a row per class, of 28x28 digits.
fn check_images(board: &Value, steps: &[i64]) {
    let layout = GridLayout::new(100, 28, 28, 10);
    let size = [layout.width_px(), layout.height_px()].map(|v| Value::from(v as u64));
    let images = series(board, "images", "samples");
    assert_eq!(images.iter().map(|i| i.0).collect::<Vec<_>>(), steps);
    assert!(images.iter().all(|(_, wh)| wh[..] == size), "{images:?}");
}

fn gif_frames(run: &Path) -> usize {
    use image::AnimationDecoder;
    let file = std::fs::File::open(run.join("samples/progress.gif")).unwrap();
    let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(file)).unwrap();
    decoder.into_frames().collect_frames().unwrap().len()
}

fn event_files(run: &Path) -> usize {
    std::fs::read_dir(run.join("tb")).unwrap().count()
}

#[test]
fn tensorboard_reads_every_column_and_grid_and_a_resume_does_not_double_back() {
    let dir = tempfile::tempdir().unwrap();
    let classifier = dir.path().join("c.safetensors");
    ok(bin()
        .args([
            "classifier",
            "train",
            "--steps",
            "20",
            "--device",
            "cpu",
            "--out",
        ])
        .arg(&classifier));
    let run = dir.path().join("run");
    let train = |steps: &str| {
        let mut c = bin();
        c.args(["train", "--steps", steps]).args(FLAGS);
        c.arg("--classifier").arg(&classifier);
        c
    };
    ok(train("6").arg("--out").arg(&run));
    let board = read_back(&run);
    check_scalars(&run, &board, &[2, 4, 6]);
    check_images(&board, &[2, 4, 6]);
    let config = series(&board, "text", "config");
    assert_eq!(config.len(), 1, "{config:?}");
    let (step, plugin_and_text) = &config[0];
    assert_eq!((*step, plugin_and_text[0].as_str()), (0, Some("text")));
    let text = plugin_and_text[1].as_str().unwrap();
    assert!(
        text.contains("\"model\": \"cgan\"") && text.contains("\"steps\": 6"),
        "{text}"
    );
    assert_eq!(gif_frames(&run), 3);

    // Resume from step 4 (the step-6 checkpoint gone): the first file's events at step 6
    // must give way to the resumed run's.
    std::fs::remove_file(run.join("checkpoints/step_000006.safetensors")).unwrap();
    let err = ok(train("8").arg("--resume").arg(&run));
    assert!(err.contains("at step 4"), "{err}");
    assert_eq!(event_files(&run), 2);
    let board = read_back(&run);
    check_scalars(&run, &board, &[2, 4, 6, 8]);
    check_images(&board, &[2, 4, 6, 8]);
    assert_eq!(series(&board, "text", "config").len(), 1);
    assert_eq!(gif_frames(&run), 4);
}

#[test]
fn an_unwritable_tb_folder_warns_once_and_training_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    // A file where the folder should be: no event file can be made (even as root).
    std::fs::write(run.join("tb"), "not a folder").unwrap();
    let args = [
        "train",
        "--steps",
        "4",
        "--log-every",
        "1",
        "--sample-every",
        "2",
    ];
    let err = ok(bin()
        .args(args)
        .args(["--device", "cpu", "--out"])
        .arg(&run));
    let warnings = err
        .matches("warning: cannot write TensorBoard events")
        .count();
    assert_eq!(warnings, 1, "{err}");
    assert_eq!(csv(&run).1.len(), 4);
    assert_eq!(gif_frames(&run), 2);
    assert_eq!(std::fs::read(run.join("tb")).unwrap(), b"not a folder");
}

#[test]
fn tensorboard_false_writes_no_events_but_still_the_gif() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = [
        "train",
        "--steps",
        "2",
        "--log-every",
        "1",
        "--sample-every",
        "1",
    ];
    let err = ok(bin()
        .args(args)
        .args(["--device", "cpu", "--tensorboard", "false", "--out"])
        .arg(&run));
    assert!(!run.join("tb").exists());
    assert!(!err.contains("TensorBoard"), "{err}");
    assert_eq!(gif_frames(&run), 2);
}

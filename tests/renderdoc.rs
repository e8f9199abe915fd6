//! RenderDoc acceptance: a short training run under `renderdoccmd capture` with
//! `--renderdoc-capture`, then the capture opened with RenderDoc's Python module
//! (scripts/renderdoc_check.py) must list the labelled passes and dispatches. Skips, loudly,
//! where renderdoccmd or python3-renderdoc is missing, unless WGPU_GAN_REQUIRE_RENDERDOC is set
//! (CI installs both and sets it).

mod common;

use std::path::Path;
use std::process::Command;

fn available() -> bool {
    let has = |c: &mut Command| c.output().map(|o| o.status.success()).unwrap_or(false);
    let ok = has(Command::new("renderdoccmd").arg("version"))
        && has(Command::new("/usr/bin/python3").args(["-c", "import renderdoc"]));
    if !ok {
        if std::env::var_os("WGPU_GAN_REQUIRE_RENDERDOC").is_some() {
            panic!("WGPU_GAN_REQUIRE_RENDERDOC is set but renderdoccmd or python3-renderdoc is missing");
        }
        eprintln!(
            "\n*** SKIPPING RENDERDOC TEST: install renderdoccmd and python3-renderdoc ***\n"
        );
    }
    ok
}

#[test]
fn renderdoc_capture_lists_the_labelled_dispatches() {
    if common::gpu().is_none() || !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("capture");
    let out = Command::new("renderdoccmd")
        .args(["capture", "-w", "-c"])
        .arg(&template)
        .arg(env!("CARGO_BIN_EXE_wgpu-gan"))
        .args([
            "train",
            "--steps",
            "3",
            "--renderdoc-capture",
            "2",
            "--device",
            "gpu",
            "--out",
        ])
        .arg(dir.path().join("run"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off")
        .output()
        .expect("run renderdoccmd");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "capture run failed: {log}");
    let rdc = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "rdc"))
        .unwrap_or_else(|| panic!("no .rdc written: {log}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/renderdoc_check.py");
    let labels = [
        "D real",
        "D fake",
        "G 1",
        "G 2",
        "g.fc1 forward",
        "d.fc1 backward",
        "d.adam",
    ];
    let check = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&rdc)
        .args(labels)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(report.contains("dispatches"), "{report}");
}

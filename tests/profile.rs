//! `wgpu-gan profile`: the per-op and per-phase table, the host times and the Chrome trace, on
//! the adapter (timestamp queries); skipped without one.

mod common;

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgpu-gan"));
    // The fixed kernel choice: no timing, no cache (tests/tune.rs covers autotuning).
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_GAN_TUNE", "off");
    c
}

/// The stdout of a run that must succeed (its stderr otherwise).
#[track_caller]
fn stdout_of(out: std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rows of the table section titled `per {title}`: (name, GPU ms, share %).
fn section(out: &str, title: &str) -> Vec<(String, f64, f64)> {
    out.lines()
        .skip_while(|l| !l.starts_with(&format!("per {title}")))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let n = f.len();
            let share = f[n - 2].trim_end_matches('%').parse().unwrap();
            (f[..n - 3].join(" "), f[n - 3].parse().unwrap(), share)
        })
        .collect()
}

#[test]
fn profile_times_every_phase_and_writes_a_chrome_trace() {
    let Some(ctx) = common::gpu() else { return };
    if !ctx
        .device
        .features()
        .contains(wgpu::Features::TIMESTAMP_QUERY)
    {
        eprintln!("SKIPPED: the adapter has no timestamp queries");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (model, phases) in [
        (
            "mlp",
            &["inputs", "G predict", "D real", "D fake", "G 1", "G 2"][..],
        ),
        ("wgan-gp", &["inputs", "D 1", "D 5", "G 1"][..]),
    ] {
        let trace = dir.path().join(format!("{model}.json"));
        let out = bin()
            .args([
                "profile",
                "--device",
                "gpu",
                "--model",
                model,
                "--warmup",
                "1",
                "--iterations",
                "2",
            ])
            .arg("--trace")
            .arg(&trace)
            .output()
            .unwrap();
        let text = stdout_of(out);
        let ops = section(&text, "op");
        let by_phase = section(&text, "phase");
        for p in phases {
            assert!(
                by_phase.iter().any(|(n, _, _)| n == p),
                "{model}: no phase {p}\n{text}"
            );
        }
        for rows in [&ops, &by_phase] {
            let share: f64 = rows.iter().map(|r| r.2).sum();
            assert!(
                (share - 100.0).abs() < 1.0,
                "{model}: shares sum to {share}\n{text}"
            );
            assert!(rows.iter().all(|r| r.1 >= 0.0));
        }
        let total_ops: f64 = ops.iter().map(|r| r.1).sum();
        let total_phases: f64 = by_phase.iter().map(|r| r.1).sum();
        assert!(
            (total_ops - total_phases).abs() < 0.01 * total_ops + 0.01,
            "{text}"
        );
        assert!(text.contains("host per iteration: encode"), "{text}");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
        let events = json["traceEvents"].as_array().unwrap();
        assert!(events
            .iter()
            .all(|e| e["ph"] == "X" && e["dur"].as_f64().unwrap() >= 0.0));
        assert!(
            events.iter().any(|e| e["cat"] == "G 1"),
            "{model}: the trace carries the phases"
        );
    }
}

#[test]
fn profile_refuses_zero_iterations_in_one_line() {
    let out = bin()
        .args(["profile", "--iterations", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--iterations must be at least 1"), "{err}");
}

/// The CPU path, op by op: the same table from the wall clock, on any machine.
#[test]
fn profile_on_the_cpu_path_times_every_phase() {
    let out = bin()
        .args([
            "profile",
            "--device",
            "cpu",
            "--warmup",
            "1",
            "--iterations",
            "2",
        ])
        .output()
        .unwrap();
    let text = stdout_of(out);
    assert!(text.contains("CPU time per iteration"), "{text}");
    let by_phase = section(&text, "phase");
    for p in ["inputs", "G predict", "D real", "D fake", "G 1", "G 2"] {
        assert!(
            by_phase.iter().any(|(n, _, _)| n == p),
            "no phase {p}\n{text}"
        );
    }
    let share: f64 = section(&text, "op").iter().map(|r| r.2).sum();
    assert!((share - 100.0).abs() < 1.0, "shares sum to {share}\n{text}");
    assert!(text.contains("wall per iteration"), "{text}");
    let trained = text
        .lines()
        .find_map(|l| l.strip_prefix("as trained: "))
        .and_then(|l| l.split(" ms").next()?.parse::<f64>().ok());
    assert!(trained.is_some_and(|ms| ms > 0.0), "{text}");
}

/// An iteration longer than one query set holds (2 timestamps per op, 4,096 at most; DVD-GAN has
/// 2,468 ops) is timed in segments: every op gets a time, those past the first segment too.
#[test]
fn op_times_covers_more_ops_than_one_query_set_holds() {
    let Some(ctx) = common::gpu() else { return };
    let mut prog = wgpu_gan::program::Program::new();
    let [x, y, z] = ["x", "y", "z"].map(|name| prog.tensor(name, 4096));
    let count = wgpu::QUERY_SET_MAX_QUERIES as usize / 2 + 52;
    for _ in 0..count {
        wgpu_gan::ops::axpby(&mut prog, (0.5, x), (0.5, y), z, "mix").unwrap();
    }
    let gpu = wgpu_gan::gpu::GpuProgram::new(&ctx, &prog).expect("plan");
    let Some(times) = gpu.op_times(&ctx, 0..count, 2).expect("timed") else {
        eprintln!("\n*** SKIPPING: the adapter has no timestamp queries ***\n");
        return;
    };
    assert_eq!(times.len(), count);
    assert!(times.iter().all(|t| t.is_finite() && *t >= 0.0));
    let tail: f64 = times[count - 52..].iter().sum();
    assert!(tail > 0.0, "the second segment's ops were not timed");
}

//! `--model cyclegan` through the binary: a short training on two small image folders of
//! different sizes and channels, then `translate` on a folder; resume equals one go, pools
//! included; and bad input (one clear line, a non-zero exit, no panic).

mod cyclegan_helpers;

use cyclegan_helpers::*;
use std::path::Path;

#[test]
fn cyclegan_trains_on_two_folders_of_different_sizes_and_channels_then_translates_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("gray"), dir.path().join("colour"));
    gray_folder(&a, 6, (20, 20));
    rgb_folder(&b, 7, (30, 24));
    let run = dir.path().join("run");
    let args = small(&a, &b, &run, "20");
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let csv = std::fs::read_to_string(run.join("losses.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "step,g_adv_ab,g_adv_ba,cycle_a,cycle_b,idt_a,idt_b,d_a,d_b,seconds,cycle_error_a,cycle_error_b"
    );
    let last: Vec<f64> = csv
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(last[0], 20.0);
    assert!(last.iter().all(|v| v.is_finite()), "{csv}");
    // One held-out image per domain: a grid of 6 rows of 1, 8x8 RGB.
    let grid = image::open(run.join("samples/step_000020.png")).unwrap();
    assert!(grid.color().has_color());
    let ckpt = tensors(&run.join("checkpoints/step_000020.safetensors"));
    let names: Vec<&str> = ckpt.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "g_ab.c0.weight",
        "g_ba.c_out.bias",
        "d_a.c0.weight",
        "d_b.c2.weight",
        "pool.a.images",
        "pool.b.state",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    let out = dir.path().join("translated");
    let r = run.to_string_lossy().to_string();
    ok(&[
        "translate",
        "--checkpoint",
        &r,
        "--direction",
        "a2b",
        "--input",
        &a.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--device",
        "cpu",
    ]);
    let mut made: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    made.sort();
    assert_eq!(
        made,
        (0..6).map(|k| format!("g{k}.png")).collect::<Vec<_>>()
    );
    let img = image::open(out.join("g3.png")).unwrap();
    assert_eq!((img.width(), img.height()), (8, 8), "the trained size");
    assert!(img.color().has_color(), "the trained channels");
}

/// 40 iterations in one go equal 20, a stop and a resume to 40, bit for bit: weights, Adam
/// moments, counters, the rate (lowered at 30) and both pools (full after 25 iterations of batch 2, so their random
/// swaps are exercised).
#[test]
fn cyclegan_resume_is_exact_pools_included() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("gray"), dir.path().join("colour"));
    gray_folder(&a, 6, (12, 12));
    rgb_folder(&b, 6, (16, 16));
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let args = small(&a, &b, &one, "40");
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let args = small(&a, &b, &two, "20");
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    ok(&[
        "train",
        "--resume",
        &two.to_string_lossy(),
        "--steps",
        "40",
        "--device",
        "cpu",
    ]);
    let ckpt = "checkpoints/step_000040.safetensors";
    let (x, y) = (tensors(&one.join(ckpt)), tensors(&two.join(ckpt)));
    assert_eq!(x.len(), y.len());
    for ((n, u), (_, v)) in x.iter().zip(&y) {
        assert!(u == v, "{n} differs after a resume");
    }
    let state = &x.iter().find(|(n, _)| n == "pool.a.state").unwrap().1;
    assert_eq!(
        u32::from_le_bytes([state[0], state[1], state[2], state[3]]),
        50,
        "a full pool"
    );
}

#[test]
fn cyclegan_bad_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let (gray, colour, empty) = (
        dir.path().join("gray"),
        dir.path().join("colour"),
        dir.path().join("empty"),
    );
    gray_folder(&gray, 4, (10, 10));
    rgb_folder(&colour, 4, (10, 10));
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("broken.png"), b"not a png").unwrap();
    let s = |p: &Path| p.to_string_lossy().to_string();
    let out = s(&dir.path().join("run"));
    let train = |a: &str, b: &str, more: &[&str]| {
        let mut v = vec![
            "train", "--model", "cyclegan", "--steps", "1", "--device", "cpu", "--out", &out,
        ];
        v.extend(["--data-a", a, "--data-b", b]);
        v.extend(more);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |v: Vec<String>, wants: &[&str]| {
        fails(&v.iter().map(String::as_str).collect::<Vec<_>>(), wants)
    };
    run(
        train(&s(&empty), "optdigits", &[]),
        &["empty", "no readable"],
    );
    run(
        train(&s(&empty), "optdigits", &["--channels", "1"]),
        &["empty"],
    );
    run(
        train(&s(&colour), &s(&gray), &[]),
        &["3 channel", "--channels"],
    );
    run(
        train("embedded", "optdigits", &["--d-layers", "4"]),
        &["--d-layers 4"],
    );
    let fashion = &["--dataset", "fashion"];
    run(
        train("embedded", "optdigits", fashion),
        &["--data-a and --data-b"],
    );
    // A run to translate with.
    let ckpt = dir.path().join("tiny");
    let args = small(&gray, &colour, &ckpt, "1");
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let c = s(&ckpt);
    let tr = |direction: &str, input: &str| {
        vec![
            "translate",
            "--checkpoint",
            &c,
            "--direction",
            direction,
            "--input",
            input,
            "--out",
            &out,
            "--device",
            "cpu",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    run(tr("c2d", &s(&gray)), &["--direction c2d", "a2b", "b2a"]);
    run(
        tr("a2b", &s(&empty.join("broken.png"))),
        &["cannot read", "broken.png"],
    );
    run(
        tr("a2b", &s(&dir.path().join("missing.png"))),
        &["cannot read", "missing.png"],
    );
    run(tr("a2b", &s(&empty)), &["no readable"]);
}

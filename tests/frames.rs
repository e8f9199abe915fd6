//! Frame picks: both kernels on the GPU against their CPU twins, the pick against its
//! definition and the gradient (frames picked twice, frames never picked) against finite
//! differences.

mod common;

use common::*;
use wgpu_gan::ops::frames::{gather_frames, gather_frames_backward, FramePick};
use wgpu_gan::program::{Program, View};

/// 3 clips of 4 frames of 5 values, 2 picked from each; clip 1 picks frame 2 twice.
const PICK: FramePick = FramePick {
    clips: 3,
    frames: 4,
    picked: 2,
    frame_len: 5,
};
const INDICES: [f32; 6] = [0.0, 3.0, 2.0, 2.0, 1.0, 0.0];

fn record(pick: FramePick) -> (Program, [View; 5]) {
    let mut prog = Program::new();
    let clip_len = pick.clips * pick.frames * pick.frame_len;
    let picked_len = pick.clips * pick.picked * pick.frame_len;
    let x = prog.tensor("x", clip_len);
    let idx = prog.tensor("indices", pick.clips * pick.picked);
    let y = prog.tensor("y", picked_len);
    let dy = prog.tensor("dy", picked_len);
    let dx = prog.tensor("dx", clip_len);
    gather_frames(&mut prog, pick, x, idx, y, "pick").unwrap();
    gather_frames_backward(&mut prog, pick, dy, idx, dx, "pick back").unwrap();
    (prog, [x, idx, y, dy, dx])
}

fn reference(p: &FramePick, x: &[f32], indices: &[f32]) -> Vec<f32> {
    let f = p.frame_len;
    (0..p.clips * p.picked)
        .flat_map(|row| {
            let b = row / p.picked;
            let t = indices[row] as usize;
            x[(b * p.frames + t) * f..][..f].to_vec()
        })
        .collect()
}

fn inputs(v: &[View; 5], seed: u64) -> Vec<(View, Vec<u32>)> {
    vec![
        (v[0], bits(&rand_vec(v[0].len, seed, -1.0, 1.0))),
        (v[1], bits(&INDICES)),
        (v[3], bits(&rand_vec(v[3].len, seed + 1, -1.0, 1.0))),
    ]
}

#[test]
fn gather_frames_gpu_matches_cpu() {
    let (prog, v) = record(PICK);
    let ins = inputs(&v, 1);
    let y = floats(&run_cpu(&prog, &ins, &[v[2]])[0]);
    assert_close(
        "pick",
        &y,
        &reference(&PICK, &floats(&ins[0].1), &INDICES),
        0.0,
        0.0,
    );
    gpu_matches_cpu(&prog, &ins, &[("y", v[2])], 0.0, 0.0);
}

#[test]
fn gather_frames_backward_gpu_matches_cpu() {
    let (prog, v) = record(PICK);
    let ins = inputs(&v, 2);
    let dx = floats(&run_cpu(&prog, &ins, &[v[4]])[0]);
    let (x, dy) = (floats(&ins[0].1), floats(&ins[2].1));
    gradcheck("pick", |x| reference(&PICK, x, &INDICES), &x, &dy, &dx);
    // Clip 1, frame 2 was picked twice: the sum of both rows of dy.
    let f = PICK.frame_len;
    let both: Vec<f32> = (0..f).map(|c| dy[2 * f + c] + dy[3 * f + c]).collect();
    assert_close("twice", &dx[6 * f..7 * f], &both, 0.0, 0.0);
    gpu_matches_cpu(&prog, &ins, &[("dx", v[4])], 0.0, 0.0);
}

#[test]
fn gather_frames_rejects_indices_of_the_wrong_length() {
    let mut prog = Program::new();
    let (x, idx, y) = (
        prog.tensor("x", 60),
        prog.tensor("indices", 5),
        prog.tensor("y", 30),
    );
    let err = gather_frames(&mut prog, PICK, x, idx, y, "pick").unwrap_err();
    assert!(
        err.to_string()
            .contains("'indices' has 5 elements, expected 6"),
        "{err}"
    );
}

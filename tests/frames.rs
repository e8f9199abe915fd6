//! Frame picks: both kernels on the GPU against their CPU twins, the pick against its
//! definition and the gradient (frames picked twice, frames never picked) against finite
//! differences.

mod common;

use common::*;
use wgpu_gan::ops::frames::{gather_frames, gather_frames_backward, random_frames, FramePick};
use wgpu_gan::ops::RandomStream;
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

fn draw(pick: FramePick, iteration: u32) -> (Program, View, Vec<(View, Vec<u32>)>) {
    let mut prog = Program::new();
    let counters = prog.tensor("counters", 3);
    let idx = prog.tensor("indices", pick.clips * pick.picked);
    let rs = RandomStream {
        seed: 11,
        stream: 2,
        slot: 2,
    };
    random_frames(&mut prog, pick, rs, counters, idx, "draw").unwrap();
    (prog, idx, vec![(counters, vec![0, 0, iteration])])
}

/// Distinct frames in range for every clip, every frame drawn about equally often, another
/// draw at another iteration.
#[test]
fn random_frames_gpu_matches_cpu() {
    let pick = FramePick {
        clips: 300,
        frames: 8,
        picked: 4,
        frame_len: 1,
    };
    let (prog, idx, ins) = draw(pick, 1);
    gpu_matches_cpu(&prog, &ins, &[("indices", idx)], 0.0, 0.0);
    let got = floats(&run_cpu(&prog, &ins, &[idx])[0]);
    let mut seen = [0usize; 8];
    for clip in got.chunks_exact(4) {
        let mut frames: Vec<usize> = clip.iter().map(|&f| f as usize).collect();
        frames.iter().for_each(|&f| seen[f] += 1);
        frames.sort_unstable();
        frames.dedup();
        assert_eq!(frames.len(), 4, "distinct frames: {clip:?}");
        assert!(frames.iter().all(|&f| f < 8));
    }
    // 1,200 picks over 8 frames: 150 each on average.
    assert!(seen.iter().all(|&n| (100..200).contains(&n)), "{seen:?}");
    let (prog2, idx2, ins2) = draw(pick, 2);
    assert_ne!(got, floats(&run_cpu(&prog2, &ins2, &[idx2])[0]));
    // All frames of a clip: a permutation.
    let all = FramePick { picked: 8, ..pick };
    let (prog, idx, ins) = draw(all, 1);
    let got = floats(&run_cpu(&prog, &ins, &[idx])[0]);
    assert!(got.chunks_exact(8).all(|c| {
        let mut c = c.to_vec();
        c.sort_by(f32::total_cmp);
        c == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    }));
}

#[test]
fn random_frames_rejects_more_frames_than_the_clip_has() {
    let pick = FramePick {
        clips: 2,
        frames: 4,
        picked: 5,
        frame_len: 1,
    };
    let mut prog = Program::new();
    let (c, idx) = (prog.tensor("counters", 1), prog.tensor("indices", 10));
    let rs = RandomStream {
        seed: 0,
        stream: 0,
        slot: 0,
    };
    let err = random_frames(&mut prog, pick, rs, c, idx, "draw").unwrap_err();
    assert!(err.to_string().contains("5 distinct frames of 4"), "{err}");
}

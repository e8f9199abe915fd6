//! random_shift (the classifier's augmentation): GPU against CPU twin, and every output image
//! is its input moved whole by a shift within range, filled with -1.

mod common;

use common::*;
use std::collections::HashSet;
use wgpu_gan::ops::{self, RandomStream};
use wgpu_gan::program::{Program, View};

const N: usize = 40;
const C: usize = 2;
const S: usize = 6;

fn case(max_shift: usize) -> (Program, [View; 3]) {
    let mut prog = Program::new();
    let counters = prog.tensor("counters", 1);
    let x = prog.tensor("x", N * C * S * S);
    let out = prog.tensor("out", x.len);
    let rs = RandomStream {
        seed: 5,
        stream: 1,
        slot: 0,
    };
    let shape = (C, S);
    ops::augment::random_shift(&mut prog, rs, counters, x, out, shape, max_shift, "shift").unwrap();
    (prog, [counters, x, out])
}

#[test]
fn random_shift_gpu_matches_cpu() {
    for max_shift in [0, 1, 2, 7] {
        let (prog, [counters, x, out]) = case(max_shift);
        let inputs = [
            (counters, vec![7]),
            (x, bits(&rand_vec(x.len, 3, 0.0, 1.0))),
        ];
        gpu_matches_cpu(&prog, &inputs, &[("out", out)], 0.0, 0.0);
    }
}

/// Image `img` (C, S, S) moved down by dy and right by dx, filled with -1.
fn shifted(img: &[f32], dy: i32, dx: i32) -> Vec<f32> {
    let s = S as i32;
    (0..C * S * S)
        .map(|i| {
            let (c, y, x) = ((i / (S * S)) as i32, (i / S % S) as i32, (i % S) as i32);
            let (sy, sx) = (y - dy, x - dx);
            if (0..s).contains(&sy) && (0..s).contains(&sx) {
                img[((c * s + sy) * s + sx) as usize]
            } else {
                -1.0
            }
        })
        .collect()
}

#[test]
fn random_shift_moves_each_image_whole_within_range() {
    let (prog, [counters, x, out]) = case(2);
    let xs = rand_vec(x.len, 3, 0.0, 1.0);
    let got = floats(&run_cpu(&prog, &[(counters, vec![7]), (x, bits(&xs))], &[out])[0]);
    let len = C * S * S;
    let mut seen = HashSet::new();
    for row in 0..N {
        let img = &xs[row * len..(row + 1) * len];
        let mut shifts = (-2..=2).flat_map(|dy| (-2..=2).map(move |dx| (dy, dx)));
        let found =
            shifts.find(|&(dy, dx)| shifted(img, dy, dx) == got[row * len..(row + 1) * len]);
        seen.insert(found.unwrap_or_else(|| panic!("image {row} is not a shift of its input")));
    }
    assert!(seen.len() > 10, "shifts should vary: {seen:?}");
    // max_shift 0 is the identity.
    let (prog, [counters, x, out]) = case(0);
    let got = floats(&run_cpu(&prog, &[(counters, vec![7]), (x, bits(&xs))], &[out])[0]);
    assert_eq!(got, xs);
}

//! CycleGAN's pool of past fakes on the GPU against its CPU twin, and the twin against the
//! semantics of pytorch-CycleGAN-and-pix2pix's ImagePool.query.

mod common;

use common::*;
use wgpu_gan::ops::{self, ImagePoolViews, RandomStream};
use wgpu_gan::program::{Program, View};

const IMAGE: usize = 5;

/// `queries` queries of `batch` fakes each on one pool of `size`; query q reads the iteration
/// counter in counters[q]. Returns the program, the fakes, the answers, the pool and counters.
fn case(
    size: usize,
    batch: usize,
    queries: usize,
) -> (Program, Vec<View>, Vec<View>, ImagePoolViews, View) {
    let mut prog = Program::new();
    let counters = prog.tensor("counters", queries);
    let pool = ImagePoolViews {
        images: prog.tensor("pool", size * IMAGE),
        state: prog.tensor("pool state", 1),
    };
    let (mut fakes, mut outs) = (Vec::new(), Vec::new());
    for q in 0..queries {
        let fake = prog.tensor(&format!("fake{q}"), batch * IMAGE);
        let out = prog.tensor(&format!("out{q}"), batch * IMAGE);
        let rs = RandomStream {
            seed: 0x5EED_C1C1,
            stream: 7,
            slot: q,
        };
        ops::image_pool_query(
            &mut prog,
            rs,
            counters,
            pool,
            (batch, IMAGE),
            fake,
            out,
            "pool",
        )
        .unwrap();
        fakes.push(fake);
        outs.push(out);
    }
    (prog, fakes, outs, pool, counters)
}

/// Fake image k (in query order) has every element equal to k, so answers name their source.
fn inputs(fakes: &[View], counters: View) -> Vec<(View, Vec<u32>)> {
    let mut ins = Vec::new();
    let mut k = 0.0f32;
    for &f in fakes {
        let mut v = Vec::new();
        for _ in 0..f.len / IMAGE {
            k += 1.0;
            v.extend([k; IMAGE]);
        }
        ins.push((f, bits(&v)));
    }
    let iterations: Vec<u32> = (0..counters.len as u32).map(|q| 100 + q).collect();
    ins.push((counters, iterations));
    ins
}

#[test]
fn image_pool_query_gpu_matches_cpu() {
    for (size, batch, queries) in [(4, 3, 8), (50, 16, 6), (1, 1, 5)] {
        let (prog, fakes, outs, pool, counters) = case(size, batch, queries);
        let ins = inputs(&fakes, counters);
        let mut named: Vec<(String, View)> =
            vec![("pool".into(), pool.images), ("state".into(), pool.state)];
        named.extend(
            outs.iter()
                .enumerate()
                .map(|(q, &v)| (format!("out{q}"), v)),
        );
        let outputs: Vec<(&str, View)> = named.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        gpu_matches_cpu(&prog, &ins, &outputs, 0.0, 0.0);
    }
}

/// The first `size` fakes are returned as they are and stored; after that each answer is the
/// fake itself or a stored one that the fake replaces, about half the time each, and what the
/// pool holds plus what it returned is always what it held plus what it was given.
#[test]
fn image_pool_keeps_cyclegans_semantics() {
    let (size, batch, queries) = (4, 3, 40);
    let (prog, fakes, outs, pool, counters) = case(size, batch, queries);
    let ins = inputs(&fakes, counters);
    let mut read = outs.clone();
    read.extend([pool.images, pool.state]);
    let got = run_cpu(&prog, &ins, &read);
    let ids = |v: &[u32]| -> Vec<f32> { floats(v).chunks(IMAGE).map(|c| c[0]).collect() };
    let answers: Vec<f32> = got[..queries].iter().flat_map(|v| ids(v)).collect();
    let given: Vec<f32> = (1..=batch * queries).map(|k| k as f32).collect();
    assert_eq!(
        &answers[..size],
        &given[..size],
        "a filling pool returns the current fakes"
    );
    assert_eq!(
        got[queries + 1],
        vec![size as u32],
        "the pool counts itself full"
    );
    let swapped = answers[size..]
        .iter()
        .zip(&given[size..])
        .filter(|(a, g)| a != g)
        .count();
    let later = given.len() - size;
    assert!(
        swapped * 10 > later * 3 && swapped * 10 < later * 7,
        "{swapped} of {later} answers came from the pool"
    );
    // Every answer is an image given no later than its own query's.
    for (i, a) in answers.iter().enumerate() {
        assert!(*a >= 1.0 && *a <= given[i], "answer {i} is image {a}");
    }
    let mut held = ids(&got[queries]);
    held.extend(&answers);
    held.sort_by(f32::total_cmp);
    // The first `size` were both returned and stored.
    let mut want = given.clone();
    want.extend(&given[..size]);
    want.sort_by(f32::total_cmp);
    assert_eq!(
        held, want,
        "each image is held or was returned, once (twice while filling)"
    );
}

/// The draws depend on the seed and the iteration counter only: the same pool and counter give
/// the same answers (what makes a resumed run exact), another counter others.
#[test]
fn image_pool_draws_are_a_function_of_the_iteration() {
    let (prog, fakes, outs, pool, counters) = case(2, 8, 1);
    let full: Vec<f32> = (0..2 * IMAGE).map(|i| 100.0 + (i / IMAGE) as f32).collect();
    let run = |iteration: u32| {
        let mut ins = inputs(&fakes, counters);
        ins.retain(|(v, _)| *v != counters);
        ins.push((counters, vec![iteration]));
        ins.push((pool.images, bits(&full)));
        ins.push((pool.state, vec![2]));
        run_cpu(&prog, &ins, &[outs[0], pool.images])
    };
    assert_eq!(run(41), run(41));
    assert_ne!(run(41), run(42));
}

//! WGAN-GP's double backward: the gradient penalty's parameter gradients of an MLP critic
//! against finite differences of the penalty, on the CPU twins and on the GPU.

mod common;

use common::*;
use wgpu_gan::nn::{Layer, Net};
use wgpu_gan::ops::{self, columns, Activation, Head};
use wgpu_gan::program::{Program, View};

struct Case {
    prog: Program,
    net: Net,
    x: View,
    metrics: View,
}

/// Critic 6 -> 5 -> 4 -> 1 with LeakyReLU(0.2) and ReLU; penalty weight 10 on a batch of 3.
/// The program zeroes the gradients, then forward, backward of ones, penalty, double backward.
fn case() -> Case {
    let (b, f) = (3, 6);
    let layers = vec![
        Layer::linear("fc1", f, 5),
        Layer::Act(Activation::LeakyRelu(0.2)),
        Layer::linear("fc2", 5, 4),
        Layer::Act(Activation::Relu),
        Layer::linear("fc3", 4, 1),
    ];
    let mut prog = Program::new();
    let net = Net::new(&mut prog, "d", f, layers);
    let acts = net.acts(&mut prog, b, "train");
    let tangents = net.acts(&mut prog, b, "penalty");
    let x = prog.tensor("x", b * f);
    let ones = prog.tensor("ones", b);
    let gg = prog.tensor("gg", b * f);
    let metrics = prog.tensor("metrics", 3);
    let n = net.grads.len;
    columns::fill_columns(&mut prog, ones, Head::SINGLE, 1, 1.0, "ones").unwrap();
    let all = Head {
        stride: n,
        offset: 0,
    };
    columns::fill_columns(&mut prog, net.grads, all, n, 0.0, "zero grads").unwrap();
    net.forward(&mut prog, &acts, x, true).unwrap();
    let g = net
        .backward(&mut prog, &acts, x, ones, false, true, false)
        .unwrap()
        .unwrap();
    ops::gradient_penalty(&mut prog, g, gg, f, (metrics, 0), 10.0, "gp").unwrap();
    net.input_grad_backward(&mut prog, &acts, &tangents, (x, ones), gg)
        .unwrap();
    Case {
        prog,
        net,
        x,
        metrics,
    }
}

fn inputs(c: &Case, params: &[f32]) -> Vec<(View, Vec<u32>)> {
    vec![
        (c.net.params, bits(params)),
        (c.x, bits(&rand_vec(c.x.len, 7, -1.0, 1.0))),
    ]
}

#[test]
fn penalty_parameter_gradients_match_finite_differences() {
    let c = case();
    let params = rand_vec(c.net.params.len, 8, -0.8, 0.8);
    let grads = floats(&run_cpu(&c.prog, &inputs(&c, &params), &[c.net.grads])[0]);
    assert!(
        grads.iter().any(|g| g.abs() > 1e-2),
        "the penalty has gradients"
    );
    let penalty = |p: &[f32]| {
        let m = floats(&run_cpu(&c.prog, &inputs(&c, p), &[c.metrics])[0]);
        vec![m[0]]
    };
    gradcheck("penalty d/dθ", penalty, &params, &[1.0], &grads);
    // Biases do not reach the input gradient.
    for t in c.net.tensors.iter().filter(|t| t.name.ends_with(".bias")) {
        assert!(grads[t.offset..t.offset + t.len].iter().all(|&g| g == 0.0));
    }
}

#[test]
fn penalty_parameter_gradients_gpu_matches_cpu() {
    let c = case();
    let params = rand_vec(c.net.params.len, 9, -0.8, 0.8);
    let outputs = [("grads", c.net.grads), ("penalty", c.metrics)];
    gpu_matches_cpu(&c.prog, &inputs(&c, &params), &outputs, 1e-5, 1e-4);
}

#[test]
fn penalty_rejects_layers_without_a_double_backward() {
    let mut prog = Program::new();
    let layers = vec![
        Layer::linear("fc1", 4, 4),
        Layer::Act(Activation::Tanh),
        Layer::linear("fc2", 4, 1),
    ];
    let net = Net::new(&mut prog, "d", 4, layers);
    let acts = net.acts(&mut prog, 2, "train");
    let tangents = net.acts(&mut prog, 2, "penalty");
    let (x, ones, gg) = (
        prog.tensor("x", 8),
        prog.tensor("ones", 2),
        prog.tensor("gg", 8),
    );
    let err = net
        .input_grad_backward(&mut prog, &acts, &tangents, (x, ones), gg)
        .unwrap_err();
    assert!(err.to_string().contains("Linear and (Leaky)ReLU"), "{err}");
}

//! Nets as graphs (`nn::graph`): a residual block, fan-out, and one generator taking its gradient
//! from two discriminators and an L1 term in one backward; and the L1 loss it uses.

mod common;

use common::*;
use wgpu_gan::exec::CpuProgram;
use wgpu_gan::nn::{Layer, Net, NetActs};
use wgpu_gan::ops::{self, Activation, AdamConfig, Loss};
use wgpu_gan::program::{Program, View};

#[test]
fn l1_loss_gpu_matches_cpu() {
    let (rows, cols) = (5, 37);
    let n = rows * cols;
    let mut prog = Program::new();
    let (pred, targets) = (prog.tensor("pred", n), prog.tensor("targets", n));
    let (grad, metrics) = (prog.tensor("grad", n), prog.tensor("metrics", 3));
    let io = (metrics, 0);
    ops::l1_loss(&mut prog, (pred, targets), rows, grad, io, 0.5, "l1").unwrap();
    let p = rand_vec(n, 1, -1.0, 1.0);
    let mut t = rand_vec(n, 2, -1.0, 1.0);
    t[3] = p[3]; // a tie: gradient 0, as PyTorch's
    let inputs = [(pred, bits(&p)), (targets, bits(&t))];
    let out = run_cpu(&prog, &inputs, &[grad, metrics]);
    let (g, m) = (floats(&out[0]), floats(&out[1]));
    let mean: f32 = p.iter().zip(&t).map(|(a, b)| (a - b).abs()).sum::<f32>() / n as f32;
    assert_close("loss", &m[..1], &[mean], 1e-6, 1e-5);
    let want: Vec<f32> = p
        .iter()
        .zip(&t)
        .map(|(a, b)| 0.5 * (a - b).signum() * f32::from(a != b) / n as f32)
        .collect();
    assert_close("grad", &g, &want, 0.0, 1e-6);
    loss_gpu_matches_cpu(&prog, &inputs, grad, metrics);
}

/// G: an identity residual block (`Tap`, two linears, `Add`), then a block with a learned
/// skip (a branch: `Tap`, the skip's linear, `From` back to the block's input, the main path,
/// `Add` of the skip), as DVD-GAN's up blocks: every graph layer at work, and two activations
/// read twice (fan-out).
fn generator() -> Vec<Layer> {
    let act = Layer::Act(Activation::LeakyRelu(0.2));
    let tap = |name: &str| Layer::Tap(name.into());
    vec![
        Layer::linear("fc_in", 6, 10),
        act.clone(),
        tap("block_in"),
        Layer::linear("res.fc1", 10, 10),
        Layer::Act(Activation::Tanh),
        Layer::linear("res.fc2", 10, 10),
        Layer::Add("block_in".into()),
        act.clone(),
        tap("h"),
        Layer::linear("up.skip", 10, 12),
        tap("skip"),
        Layer::From("h".into()),
        Layer::linear("up.fc1", 10, 12),
        act,
        Layer::linear("up.fc2", 12, 12),
        Layer::Add("skip".into()),
        Layer::Act(Activation::Tanh),
    ]
}

fn discriminator(width: usize) -> Vec<Layer> {
    vec![
        Layer::linear("fc1", 12, width),
        Layer::Act(Activation::LeakyRelu(0.2)),
        Layer::linear("fc2", width, 1),
    ]
}

const BATCH: usize = 4;
const L1_WEIGHT: f32 = 2.0;
const ADAM: AdamConfig = AdamConfig {
    lr: 1e-2,
    beta1: 0.5,
    beta2: 0.999,
    eps: 1e-8,
};

/// The test family's program: G with two discriminators, and the views its checks read.
struct Family {
    prog: Program,
    nets: [Net; 3],
    acts: [NetActs; 3],
    z: View,
    real: View,
    counters: View,
    metrics: View,
    /// G's loss alone (forward), then its gradient, then a whole iteration.
    g_loss: std::ops::Range<usize>,
    g_grad: std::ops::Range<usize>,
}

/// Metric slots: D1, D2 and the L1 term of G's loss, then D's own losses.
const G_SLOTS: [usize; 3] = [0, 3, 6];

impl Family {
    fn new() -> Self {
        let mut prog = Program::new();
        let g = Net::new(&mut prog, "g", 6, generator());
        let d1 = Net::new(&mut prog, "d1", 12, discriminator(8));
        let d2 = Net::new(&mut prog, "d2", 12, discriminator(5));
        let acts = [&g, &d1, &d2].map(|n| n.acts(&mut prog, BATCH, "train"));
        let z = prog.tensor("z", BATCH * 6);
        let real = prog.tensor("real", BATCH * 12);
        let counters = prog.tensor("counters", 4);
        let metrics = prog.tensor("metrics", 16);
        let mut f = Family {
            prog,
            nets: [g, d1, d2],
            acts,
            z,
            real,
            counters,
            metrics,
            g_loss: 0..0,
            g_grad: 0..0,
        };
        f.record().unwrap();
        f
    }

    /// G's loss: BCE(D1(G(z)), 1) + BCE(D2(G(z)), 1) + L1_WEIGHT·L1(G(z), real); with
    /// `backward`, its gradient into G's parameters (D frozen).
    fn g_pass(&mut self, backward: bool) -> ops::Result {
        let (p, [g, d1, d2], [ga, d1a, d2a]) = (&mut self.prog, &self.nets, &self.acts);
        let fake = g.forward(p, ga, self.z, true)?;
        let mut dfake = Vec::new();
        for (k, (d, da)) in [(d1, d1a), (d2, d2a)].into_iter().enumerate() {
            let logit = d.forward(p, da, fake, true)?;
            let dlogit = p.tensor(&format!("g.dlogit{k}"), BATCH);
            let slot = G_SLOTS[k];
            ops::loss(
                p,
                Loss::BceWithLogits,
                logit,
                dlogit,
                self.metrics,
                slot,
                1.0,
                1.0,
                "g adv",
            )?;
            if backward {
                dfake.extend(d.backward(p, da, fake, dlogit, false, true, false)?);
            }
        }
        let dl1 = p.tensor("g.dl1", fake.len);
        let m = (self.metrics, G_SLOTS[2]);
        ops::l1_loss(p, (fake, self.real), BATCH, dl1, m, L1_WEIGHT, "g l1")?;
        if !backward {
            return Ok(());
        }
        let (s1, s2) = (p.tensor("g.dsum1", fake.len), p.tensor("g.dsum2", fake.len));
        ops::axpby(p, (1.0, dfake[0]), (1.0, dfake[1]), s1, "g grad sum")?;
        ops::axpby(p, (1.0, s1), (1.0, dl1), s2, "g grad sum")?;
        g.backward(p, ga, self.z, s2, true, false, false)?;
        Ok(())
    }

    /// Each D's step on real (target 1) and detached fake (target 0), then G's.
    fn iteration(&mut self) -> ops::Result {
        let fake = self.acts[0].outs.last().copied().unwrap();
        for k in 1..3 {
            let (p, d, da) = (&mut self.prog, &self.nets[k], &self.acts[k]);
            for (x, target, acc) in [(self.real, 1.0, false), (fake, 0.0, true)] {
                let logit = d.forward(p, da, x, true)?;
                let dlogit = p.tensor("d.dlogit", BATCH);
                ops::loss(
                    p,
                    Loss::BceWithLogits,
                    logit,
                    dlogit,
                    self.metrics,
                    9,
                    target,
                    1.0,
                    "d",
                )?;
                d.backward(p, da, x, dlogit, true, false, acc)?;
            }
            d.adam_step(p, (ADAM, None), self.counters, k, (self.metrics, 12))?;
        }
        self.g_pass(true)?;
        let (p, g) = (&mut self.prog, &self.nets[0]);
        g.adam_step(p, (ADAM, None), self.counters, 0, (self.metrics, 12))
    }

    fn record(&mut self) -> ops::Result {
        let start = self.prog.ops.len();
        self.g_pass(false)?;
        self.g_loss = start..self.prog.ops.len();
        let start = self.prog.ops.len();
        self.g_pass(true)?;
        self.g_grad = start..self.prog.ops.len();
        self.iteration()
    }

    /// Random weights for every net, z and the reals.
    fn inputs(&self) -> Vec<(View, Vec<u32>)> {
        let mut v: Vec<(View, Vec<u32>)> = self
            .nets
            .iter()
            .enumerate()
            .map(|(k, n)| {
                (
                    n.params,
                    bits(&rand_vec(n.params.len, 10 + k as u64, -0.5, 0.5)),
                )
            })
            .collect();
        v.push((self.z, bits(&rand_vec(self.z.len, 1, -1.0, 1.0))));
        v.push((self.real, bits(&rand_vec(self.real.len, 2, -1.0, 1.0))));
        v
    }

    fn cpu(&self) -> CpuProgram {
        let mut cpu = CpuProgram::new(&self.prog);
        for (view, data) in self.inputs() {
            cpu.write(view, &data);
        }
        cpu
    }

    /// G's loss at parameters `params`, on the CPU twins.
    fn loss_at(&self, params: &[f32]) -> f64 {
        let mut cpu = self.cpu();
        cpu.write_f32(self.nets[0].params, params);
        cpu.run_range(&self.prog, self.g_loss.clone());
        let m = cpu.read_f32(self.metrics);
        // The metrics hold each term's mean, before its weight.
        let [d1, d2, l1] = G_SLOTS.map(|s| m[s] as f64);
        d1 + d2 + L1_WEIGHT as f64 * l1
    }
}

/// Central differences of G's loss in every parameter of G against the backward pass: the
/// residual's two paths and the three losses' gradients all arrive.
#[test]
fn generator_gradient_through_a_residual_and_two_discriminators_matches_finite_differences() {
    let f = Family::new();
    let mut cpu = f.cpu();
    cpu.run_range(&f.prog, f.g_grad.clone());
    let g = &f.nets[0];
    let analytic = cpu.read_f32(g.grads);
    let params = cpu.read_f32(g.params);
    // Small enough that no L1 or LeakyReLU kink falls inside a step at these weights.
    let h = 2e-3f32;
    let mut checked = 0;
    let numeric: Vec<f32> = (0..params.len())
        .map(|i| {
            let in_tensor = g
                .tensors
                .iter()
                .any(|t| (t.offset..t.offset + t.len).contains(&i));
            if !in_tensor {
                return analytic[i]; // arena padding: no parameter
            }
            checked += 1;
            let (mut up, mut down) = (params.clone(), params.clone());
            up[i] += h;
            down[i] -= h;
            ((f.loss_at(&up) - f.loss_at(&down)) / (2.0 * h as f64)) as f32
        })
        .collect();
    assert_eq!(checked, g.param_count());
    assert_close("G's gradient", &analytic, &numeric, 1e-3, 1e-2);
}

/// One whole iteration (both D steps, then G's) on the GPU against the CPU twins.
#[test]
fn residual_two_discriminator_iteration_gpu_matches_cpu() {
    let f = Family::new();
    let outputs: Vec<(&str, View)> = f
        .nets
        .iter()
        .map(|n| (n.prefix.as_str(), n.params))
        .collect();
    gpu_matches_cpu(&f.prog, &f.inputs(), &outputs, 1e-5, 1e-4);
}

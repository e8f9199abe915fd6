//! Nets as graphs (`nn::graph`): a residual block, fan-out, and one generator taking its gradient
//! from two discriminators and an L1 term in one backward; and the L1 loss it uses.

mod common;

use common::*;
use wgpu_gan::exec::CpuProgram;
use wgpu_gan::nn::{ConvSpec, Layer, Net, Shape};
use wgpu_gan::ops::{self, Activation, AdamConfig, Loss};
use wgpu_gan::program::{Program, View};
use wgpu_gan::train::schedule::planner::{ActsId, NetId};
use wgpu_gan::train::schedule::{MetricLayout, NetSpec, OptimizerSpec, Planner, Rate};

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

/// The test family's program, declared as a family declares its own (`schedule::planner`): G
/// and two discriminators by name, one optimizer over both D and one over G; and the views its
/// checks read.
struct Family {
    prog: Program,
    nets: Vec<Net>,
    z: View,
    real: View,
    metrics: View,
    /// G's loss alone (forward), then its gradient, then a whole iteration.
    g_loss: std::ops::Range<usize>,
    g_grad: std::ops::Range<usize>,
}

/// Metric slots: D1, D2 and the L1 term of G's loss, then D's own losses, then the NaN flag.
const G_SLOTS: [usize; 3] = [0, 3, 6];
const D_SLOT: usize = 9;
const METRICS: MetricLayout = MetricLayout {
    len: 16,
    nonfinite: 12,
};

fn declaration() -> (Vec<NetSpec>, Vec<OptimizerSpec>) {
    let nets = vec![
        NetSpec::new("g", 6, generator()),
        NetSpec::new("d1", 12, discriminator(8)),
        NetSpec::new("d2", 12, discriminator(5)),
    ];
    let group = |name: &str, nets: &[&str], rate| OptimizerSpec {
        name: name.into(),
        nets: nets.iter().map(|n| n.to_string()).collect(),
        rate,
        adam: ADAM,
    };
    let groups = vec![
        group("d", &["d1", "d2"], Rate::D),
        group("g", &["g"], Rate::G),
    ];
    (nets, groups)
}

/// The planner with its nets' activations, in net order.
struct Recorder {
    p: Planner,
    ids: [NetId; 3],
    acts: [ActsId; 3],
    z: View,
    real: View,
}

impl Recorder {
    /// G's loss: BCE(D1(G(z)), 1) + BCE(D2(G(z)), 1) + L1_WEIGHT·L1(G(z), real); with
    /// `backward`, its gradient into G's parameters (D frozen): the three parts summed.
    fn g_pass(&mut self, backward: bool) -> ops::Result {
        let (ids, acts, m) = (self.ids, self.acts, self.p.metrics);
        let fake = self.p.forward(ids[0], acts[0], self.z, true)?;
        let mut parts = Vec::new();
        for k in 1..3 {
            let logit = self.p.forward(ids[k], acts[k], fake, true)?;
            let dlogit = self.p.prog.tensor(&format!("g.dlogit{k}"), BATCH);
            let slot = G_SLOTS[k - 1];
            let bce = Loss::BceWithLogits;
            let p = &mut self.p.prog;
            ops::loss(p, bce, logit, dlogit, m, slot, 1.0, 1.0, "g adv")?;
            if backward {
                parts.extend(
                    self.p
                        .backward(ids[k], acts[k], fake, dlogit, false, true, false)?,
                );
            }
        }
        let dl1 = self.p.prog.tensor("g.dl1", fake.len);
        let io = (fake, self.real);
        ops::l1_loss(
            &mut self.p.prog,
            io,
            BATCH,
            dl1,
            (m, G_SLOTS[2]),
            L1_WEIGHT,
            "g l1",
        )?;
        if !backward {
            return Ok(());
        }
        parts.push(dl1);
        let dfake = self.p.sum("g.grad_image", &parts)?;
        self.p
            .backward(ids[0], acts[0], self.z, dfake, true, false, false)?;
        Ok(())
    }

    /// Each D's gradients on real (target 1) and detached fake (target 0), one step of D's
    /// optimizer, then G's pass and step.
    fn iteration(&mut self) -> ops::Result {
        let (ids, acts, m) = (self.ids, self.acts, self.p.metrics);
        let fake = *self.p.activations(acts[0]).outs.last().unwrap();
        for k in 1..3 {
            for (x, target, acc) in [(self.real, 1.0, false), (fake, 0.0, true)] {
                let logit = self.p.forward(ids[k], acts[k], x, true)?;
                let dlogit = self.p.prog.tensor("d.dlogit", BATCH);
                let (p, bce) = (&mut self.p.prog, Loss::BceWithLogits);
                ops::loss(p, bce, logit, dlogit, m, D_SLOT, target, 1.0, "d")?;
                self.p
                    .backward(ids[k], acts[k], x, dlogit, true, false, acc)?;
            }
        }
        let d = self.p.optimizer("d")?;
        self.p.step(d)?;
        self.g_pass(true)?;
        let g = self.p.optimizer("g")?;
        self.p.step(g)
    }
}

impl Family {
    fn new() -> Self {
        let (nets, groups) = declaration();
        let mut p = Planner::new(Program::new(), nets, groups, METRICS, 0).unwrap();
        let ids = ["g", "d1", "d2"].map(|n| p.id(n).unwrap());
        let acts = ids.map(|id| p.acts(id, BATCH, "train"));
        let z = p.prog.tensor("z", BATCH * 6);
        let real = p.prog.tensor("real", BATCH * 12);
        let mut r = Recorder {
            p,
            ids,
            acts,
            z,
            real,
        };
        let start = r.p.prog.ops.len();
        r.g_pass(false).unwrap();
        let g_loss = start..r.p.prog.ops.len();
        r.g_pass(true).unwrap();
        let g_grad = g_loss.end..r.p.prog.ops.len();
        r.iteration().unwrap();
        Family {
            nets: r.p.nets.iter().map(|e| e.net.clone()).collect(),
            metrics: r.p.metrics,
            prog: r.p.prog,
            z,
            real,
            g_loss,
            g_grad,
        }
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

/// A net that concatenates channels (`Concat`, as DVD-GAN's ConvGRU reads `[x, h]`): the input
/// image is tapped, convolved, and its own channels appended to the result's before the next
/// convolution, so the input's gradient arrives by both paths.
struct ConcatNet {
    prog: Program,
    net: Net,
    x: View,
    dout: View,
    out: View,
    dx: View,
    forward: std::ops::Range<usize>,
}

const IMAGE: Shape = Shape::image(2, 4, 4);

impl ConcatNet {
    fn new() -> Self {
        let spec = |c_in, c_out| ConvSpec {
            c_in,
            c_out,
            h: 4,
            w: 4,
            kernel: 3,
            stride: 1,
            pad: 1,
        };
        let layers = vec![
            Layer::Tap("x".into()),
            Layer::conv2d("conv_h", spec(2, 3), true),
            Layer::Act(Activation::Tanh),
            Layer::Concat("x".into()),
            Layer::conv2d("conv_out", spec(5, 2), true),
        ];
        let mut prog = Program::new();
        let net = Net::shaped(&mut prog, "c", IMAGE, layers).unwrap();
        let acts = net.acts(&mut prog, BATCH, "train");
        let n = BATCH * IMAGE.len();
        let (x, dout) = (prog.tensor("x", n), prog.tensor("dout", n));
        let out = net.forward(&mut prog, &acts, x, true).unwrap();
        let forward = 0..prog.ops.len();
        let dx = net.backward(&mut prog, &acts, x, dout, true, true, false);
        ConcatNet {
            prog,
            net,
            x,
            dout,
            out,
            dx: dx.unwrap().unwrap(),
            forward,
        }
    }

    fn inputs(&self, x: &[f32], params: &[f32]) -> Vec<(View, Vec<u32>)> {
        let r = rand_vec(self.dout.len, 6, -1.0, 1.0);
        vec![
            (self.net.params, bits(params)),
            (self.x, bits(x)),
            (self.dout, bits(&r)),
        ]
    }

    /// The output for input `x` and parameters `params`, on the CPU twins.
    fn out(&self, x: &[f32], params: &[f32]) -> Vec<f32> {
        let mut cpu = CpuProgram::new(&self.prog);
        for (view, data) in self.inputs(x, params) {
            cpu.write(view, &data);
        }
        cpu.run_range(&self.prog, self.forward.clone());
        cpu.read_f32(self.out)
    }
}

/// `Concat`'s shape, its input and parameter gradients against finite differences, and the
/// whole forward and backward on the GPU against the CPU.
#[test]
fn concatenated_channels_get_their_gradients_on_both_paths() {
    let c = ConcatNet::new();
    assert_eq!(c.net.out_shape(), IMAGE);
    assert_eq!(
        c.net.wiring.shapes[4],
        Shape::image(5, 4, 4),
        "3 + 2 channels"
    );
    let x = rand_vec(c.x.len, 3, -1.0, 1.0);
    let params = rand_vec(c.net.params.len, 5, -0.5, 0.5);
    let mut cpu = CpuProgram::new(&c.prog);
    for (view, data) in c.inputs(&x, &params) {
        cpu.write(view, &data);
    }
    cpu.run_range(&c.prog, 0..c.prog.ops.len());
    let (dx, dparams) = (cpu.read_f32(c.dx), cpu.read_f32(c.net.grads));
    let r = rand_vec(c.dout.len, 6, -1.0, 1.0);
    gradcheck("input", |x| c.out(x, &params), &x, &r, &dx);
    let n = c.net.param_count();
    let used = |p: &[f32]| c.out(&x, &[p, &params[n..]].concat());
    gradcheck("parameters", used, &params[..n], &r, &dparams[..n]);
    let outputs = [("dx", c.dx), ("grads", c.net.grads)];
    gpu_matches_cpu(&c.prog, &c.inputs(&x, &params), &outputs, 1e-5, 1e-4);
}

/// A `Concat` of maps of different sizes is refused, naming both shapes.
#[test]
fn concat_of_different_sizes_is_an_error() {
    let spec = ConvSpec {
        c_in: 2,
        c_out: 3,
        h: 4,
        w: 4,
        kernel: 4,
        stride: 2,
        pad: 1,
    };
    let layers = vec![
        Layer::Tap("x".into()),
        Layer::conv2d("down", spec, false),
        Layer::Concat("x".into()),
    ];
    let err = Net::shaped(&mut Program::new(), "c", IMAGE, layers).unwrap_err();
    assert!(err.contains("Concat(\"x\") of 2x4x4 to 3x2x2"), "{err}");
}

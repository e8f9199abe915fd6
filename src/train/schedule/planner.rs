//! The model-independent part of a training program. A family declares its nets by name and
//! its optimizer groups (`NetSpec`, `OptimizerSpec`); its schedule records one iteration through
//! a `Planner`: forward and backward calls of named nets on activations of any batch, loss ops
//! into the metric accumulators, optimizer steps that read their rates from the device table,
//! on-device input draws, phases and records. Nothing here knows what a generator is.

use super::fills::{Input, InputKind};
use super::spec::{NetSpec, OptimizerSpec, Rate};
use super::ITERATION;
use crate::lr::{self, LR_TABLE};
use crate::nn::{Net, NetActs};
use crate::ops::{self, AdamConfig};
use crate::program::{Program, View};
use std::ops::Range;

/// A planned net: the net, the counter slot of its Adam steps and, when it keeps one, the net
/// that reads its moving averages.
#[derive(Clone, Debug)]
pub struct NetEntry {
    pub net: Net,
    pub step_slot: usize,
    pub ema: Option<(Net, f32)>,
}

impl NetEntry {
    pub fn name(&self) -> &str {
        &self.net.prefix
    }

    /// The net samples use: its moving average when it keeps one, else itself.
    pub fn sampler(&self) -> &Net {
        self.ema.as_ref().map_or(&self.net, |(n, _)| n)
    }
}

/// A planned optimizer group: its nets and its row of the rate table.
#[derive(Clone, Debug)]
pub struct Optimizer {
    pub name: String,
    pub nets: Vec<NetId>,
    pub rate: Rate,
    pub adam: AdamConfig,
    pub row: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetId(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActsId(usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptId(pub usize);

/// The metric accumulators: their count and the slot Adam flags a non-finite gradient in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricLayout {
    pub len: usize,
    pub nonfinite: usize,
}

/// Records a training program for declared nets and optimizers.
pub struct Planner {
    pub prog: Program,
    pub nets: Vec<NetEntry>,
    acts: Vec<NetActs>,
    pub optimizers: Vec<Optimizer>,
    pub counters: View,
    pub metrics: View,
    pub nonfinite: usize,
    pub lrs: View,
    pub inputs: Vec<Input>,
    pub phases: Vec<(String, Range<usize>)>,
    pub records: Vec<(String, View)>,
    pub seed: u64,
}

fn missing(what: &str) -> ops::ShapeError {
    ops::ShapeError {
        op: "planner".into(),
        tensor: what.into(),
        got: 0,
        expected: 1,
    }
}

impl Planner {
    /// Makes the nets' arenas, the counters (the iteration, then one Adam step count per net
    /// in optimizer order), the metrics and the rate table (each row at its group's rate).
    pub fn new(
        mut prog: Program,
        nets: Vec<NetSpec>,
        optimizers: Vec<OptimizerSpec>,
        metrics: MetricLayout,
        seed: u64,
    ) -> ops::Result<Self> {
        let mut entries = Vec::with_capacity(nets.len());
        for s in &nets {
            let net = Net::shaped(&mut prog, &s.name, s.input, s.layers.clone())
                .map_err(|e| ops::ShapeError::net(&s.name, e))?;
            entries.push(NetEntry {
                net,
                step_slot: 0,
                ema: None,
            });
        }
        let mut groups = Vec::new();
        let mut slot = ITERATION + 1;
        for (row, o) in optimizers.iter().enumerate() {
            let mut ids = Vec::new();
            for name in &o.nets {
                let i = entries
                    .iter()
                    .position(|e| e.name() == name)
                    .ok_or_else(|| missing(name))?;
                entries[i].step_slot = slot;
                slot += 1;
                ids.push(NetId(i));
            }
            groups.push(Optimizer {
                name: o.name.clone(),
                nets: ids,
                rate: o.rate,
                adam: o.adam,
                row,
            });
        }
        // Four at least: the counters' length is part of every checkpoint made so far.
        let counters = prog.tensor("counters", slot.max(4));
        let metrics_view = prog.tensor("metrics", metrics.len);
        let mut rates = Vec::with_capacity(groups.len() * LR_TABLE);
        for g in &groups {
            rates.extend(std::iter::repeat_n(g.adam.lr.to_bits(), LR_TABLE));
        }
        let lrs = prog.constant("lrs", &rates);
        Ok(Self {
            prog,
            nets: entries,
            acts: Vec::new(),
            optimizers: groups,
            counters,
            metrics: metrics_view,
            nonfinite: metrics.nonfinite,
            lrs,
            inputs: Vec::new(),
            phases: Vec::new(),
            records: Vec::new(),
            seed,
        })
        .map(|p| p.with_averages(&nets))
    }

    /// Gives each net declared with a moving average its arenas and the net that reads them.
    fn with_averages(mut self, specs: &[NetSpec]) -> Self {
        for (entry, spec) in self.nets.iter_mut().zip(specs) {
            if spec.ema <= 0.0 {
                continue;
            }
            let net = &entry.net;
            let params = self
                .prog
                .tensor(&format!("{}_ema.params", net.prefix), net.params.len);
            let state = self
                .prog
                .tensor(&format!("{}_ema.state", net.prefix), net.state.len.max(1));
            let mut sampler = net.clone();
            sampler.params = params;
            sampler.state = View {
                len: net.state.len,
                ..state
            };
            entry.ema = Some((sampler, spec.ema));
        }
        self
    }

    pub fn id(&self, name: &str) -> ops::Result<NetId> {
        self.nets
            .iter()
            .position(|e| e.name() == name)
            .map(NetId)
            .ok_or_else(|| missing(name))
    }

    pub fn net(&self, id: NetId) -> &Net {
        &self.nets[id.0].net
    }

    pub fn optimizer(&self, name: &str) -> ops::Result<OptId> {
        self.optimizers
            .iter()
            .position(|o| o.name == name)
            .map(OptId)
            .ok_or_else(|| missing(name))
    }

    /// Activations of `net` for batches of `rows`, named by `tag`: one set per call site whose
    /// activations must live until its backward.
    pub fn acts(&mut self, net: NetId, rows: usize, tag: &str) -> ActsId {
        let acts = self.nets[net.0].net.acts(&mut self.prog, rows, tag);
        self.acts.push(acts);
        ActsId(self.acts.len() - 1)
    }

    pub fn activations(&self, acts: ActsId) -> &NetActs {
        &self.acts[acts.0]
    }

    /// `net` on `x` (training mode: batch statistics, and running statistics updated).
    pub fn forward(&mut self, net: NetId, acts: ActsId, x: View, train: bool) -> ops::Result<View> {
        let (n, a) = (&self.nets[net.0].net, &self.acts[acts.0]);
        n.forward(&mut self.prog, a, x, train)
    }

    /// `net`, a copy of a planned net (say its moving average), on `x`.
    pub fn forward_net(
        &mut self,
        net: &Net,
        acts: ActsId,
        x: View,
        train: bool,
    ) -> ops::Result<View> {
        net.forward(&mut self.prog, &self.acts[acts.0], x, train)
    }

    /// The backward of the last forward on `acts` from output gradient `dy`: parameter
    /// gradients when `param_grads` (added to those there when `accumulate`), and the input
    /// gradient when `input_grad`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &mut self,
        net: NetId,
        acts: ActsId,
        x: View,
        dy: View,
        param_grads: bool,
        input_grad: bool,
        accumulate: bool,
    ) -> ops::Result<Option<View>> {
        let (n, a) = (&self.nets[net.0].net, &self.acts[acts.0]);
        n.backward(
            &mut self.prog,
            a,
            x,
            dy,
            param_grads,
            input_grad,
            accumulate,
        )
    }

    /// The double backward of `net`'s input gradient (WGAN-GP): the parameter gradients of
    /// `gg`, the gradient with respect to the input gradient of the backward of `dout` at
    /// `input`, using the tangent activations `tangents`.
    pub fn input_grad_backward(
        &mut self,
        net: NetId,
        acts: ActsId,
        tangents: ActsId,
        (input, dout): (View, View),
        gg: View,
    ) -> ops::Result {
        let (n, a, t) = (
            &self.nets[net.0].net,
            &self.acts[acts.0],
            &self.acts[tangents.0],
        );
        n.input_grad_backward(&mut self.prog, a, t, (input, dout), gg)
    }

    /// The sum of gradient parts (say a tensor's gradients from the two paths that read it),
    /// into a new tensor `name` (`ops::axpby`, a fixed order); one part is itself.
    pub fn sum(&mut self, name: &str, parts: &[View]) -> ops::Result<View> {
        let Some((&first, rest)) = parts.split_first() else {
            return Err(missing(name));
        };
        let mut acc = first;
        for (k, &part) in rest.iter().enumerate() {
            let out = self.prog.tensor(&format!("{name}.sum{}", k + 1), first.len);
            ops::axpby(&mut self.prog, (1.0, acc), (1.0, part), out, name)?;
            acc = out;
        }
        Ok(acc)
    }

    /// One step of optimizer group `opt`: Adam on each of its nets at the group's rate from
    /// the table, then the moving averages of those that keep one.
    pub fn step(&mut self, opt: OptId) -> ops::Result {
        let o = &self.optimizers[opt.0];
        let lr = ops::LrSource {
            table: lr::row(self.lrs, o.row),
            iteration_slot: ITERATION,
        };
        let nonfinite = (self.metrics, self.nonfinite);
        for &id in &o.nets {
            let entry = &self.nets[id.0];
            let (net, p) = (&entry.net, &mut self.prog);
            net.adam_step(
                p,
                (o.adam, Some(lr)),
                self.counters,
                entry.step_slot,
                nonfinite,
            )?;
            let Some((avg, decay)) = &entry.ema else {
                continue;
            };
            let c = (self.counters, entry.step_slot);
            let name = &net.prefix;
            let label = format!("{name}.ema params");
            ops::ema_update(p, net.params, avg.params, *decay, c, &label)?;
            if net.state.len > 0 {
                let label = format!("{name}.ema running statistics");
                ops::ema_update(p, net.state, avg.state, *decay, c, &label)?;
            }
        }
        Ok(())
    }

    /// Starts the phase `name` (RenderDoc's and `profile`'s label for its ops); `end_phase`
    /// closes it.
    pub fn start_phase(&mut self, name: &str) -> usize {
        self.prog.set_phase(name);
        self.phases.push((name.to_string(), self.prog.ops.len()..0));
        self.phases.len() - 1
    }

    pub fn end_phase(&mut self, phase: usize) {
        let end = self.prog.ops.len();
        self.phases[phase].1.end = end;
    }

    /// Records `f` as the phase `name`.
    pub fn phase(&mut self, name: &str, f: impl FnOnce(&mut Self) -> ops::Result) -> ops::Result {
        let i = self.start_phase(name);
        f(self)?;
        self.end_phase(i);
        Ok(())
    }

    pub fn record(&mut self, name: &str, view: View) {
        self.records.push((name.to_string(), view));
    }

    /// An input of `len` values drawn on the device before each step (`kind`); a real batch
    /// of `rows` images also gets its labels.
    pub fn input(&mut self, name: &str, kind: InputKind, len: usize, rows: usize) -> View {
        let view = self.prog.tensor(name, len);
        let labels = matches!(kind, InputKind::Real)
            .then(|| self.prog.tensor(&format!("{name}.labels"), rows));
        self.inputs.push(Input {
            name: name.into(),
            view,
            kind,
            labels,
        });
        view
    }
}

//! CycleGAN's iteration through the planner, in the reference's order (pytorch-CycleGAN-and-
//! pix2pix `CycleGANModel.optimize_parameters`): the six generator passes, the G step with both
//! discriminators frozen (LSGAN adversarial terms, cycle and identity L1 terms, one optimizer
//! over both generators), then the D step on the real images and on fakes from the 50-image
//! pools (one optimizer over both discriminators). The golden test runs the same program with
//! the inputs supplied instead of drawn.

use crate::models::CycleganConfig;
use crate::nn::Shape;
use crate::ops::{self, AdamConfig, ImagePoolViews, Loss, RandomStream};
use crate::program::{Program, View};
use crate::train::schedule::planner::{ActsId, NetId, Planner};
use crate::train::schedule::{self, DatasetViews, GanProgram, InputKind, MetricLayout};
use crate::train::schedule::{NetSpec, OptimizerSpec, Rate, ITERATION};

/// Metric slots, (loss, accuracy, count) each: the G step's terms (the L1 terms unweighted),
/// then each D on reals and on pooled fakes, then Adam's non-finite flag.
pub const G_ADV_AB: usize = 0;
pub const G_ADV_BA: usize = 3;
pub const CYCLE_A: usize = 6;
pub const CYCLE_B: usize = 9;
pub const IDT_A: usize = 12;
pub const IDT_B: usize = 15;
pub const D_A_REAL: usize = 18;
pub const D_A_FAKE: usize = 21;
pub const D_B_REAL: usize = 24;
pub const D_B_FAKE: usize = 27;
pub const NONFINITE: usize = 30;
pub const METRICS: usize = 31;

/// The random streams of the pools (the inputs take the first ones).
const POOL_STREAMS: [u32; 2] = [64, 65];

/// Everything CycleGAN's program depends on.
#[derive(Clone, Debug)]
pub struct CycleSpec {
    pub model: CycleganConfig,
    pub batch: usize,
    pub adam_g: AdamConfig,
    pub adam_d: AdamConfig,
    pub lambda_cycle: f32,
    pub lambda_identity: f32,
    /// Past fakes each pool keeps (CycleGAN: 50).
    pub pool_size: usize,
    pub seed: u64,
    /// (count, image_len) of domains A and B, whose batches are drawn on the device; None:
    /// the caller writes `input.a` and `input.b` (golden tests).
    pub data: Option<[(usize, usize); 2]>,
    /// Held-out images per domain the sample program translates.
    pub sample_count: usize,
}

impl CycleSpec {
    fn image(&self) -> Shape {
        let m = &self.model;
        Shape::image(m.channels, m.size, m.size)
    }

    pub fn image_len(&self) -> usize {
        self.image().len()
    }
}

/// The nets `g_ab`, `g_ba`, `d_a`, `d_b` and the groups `g` (both G) and `d` (both D).
pub fn declaration(spec: &CycleSpec) -> (Vec<NetSpec>, Vec<OptimizerSpec>) {
    let image = spec.image();
    let nets = vec![
        NetSpec::shaped("g_ab", image, spec.model.generator()),
        NetSpec::shaped("g_ba", image, spec.model.generator()),
        NetSpec::shaped("d_a", image, spec.model.discriminator()),
        NetSpec::shaped("d_b", image, spec.model.discriminator()),
    ];
    let group = |name: &str, nets: [&str; 2], rate, adam| OptimizerSpec {
        name: name.into(),
        nets: nets.iter().map(|n| n.to_string()).collect(),
        rate,
        adam,
    };
    let groups = vec![
        group("g", ["g_ab", "g_ba"], Rate::G, spec.adam_g),
        group("d", ["d_a", "d_b"], Rate::D, spec.adam_d),
    ];
    (nets, groups)
}

/// A net and the activations of one of its call sites.
#[derive(Clone, Copy)]
struct Site {
    net: NetId,
    acts: ActsId,
}

struct Recorder<'a> {
    spec: &'a CycleSpec,
    p: Planner,
    a: View,
    b: View,
    d_a: Site,
    d_b: Site,
    pools: [ImagePoolViews; 2],
}

/// The six generator passes' outputs and where they were made.
struct Passes {
    fake_b: (View, Site),
    fake_a: (View, Site),
    rec_a: (View, Site),
    rec_b: (View, Site),
    idt: Option<[(View, Site); 2]>,
}

impl Recorder<'_> {
    fn site(&mut self, net: &str, tag: &str) -> ops::Result<Site> {
        let net = self.p.id(net)?;
        let acts = self.p.acts(net, self.spec.batch, tag);
        Ok(Site { net, acts })
    }

    fn pass(&mut self, net: &str, tag: &str, x: View) -> ops::Result<(View, Site)> {
        let s = self.site(net, tag)?;
        let y = self.p.forward(s.net, s.acts, x, true)?;
        self.p.record(&format!("step.{tag}"), y);
        Ok((y, s))
    }

    fn passes(&mut self) -> ops::Result<Passes> {
        let (a, b) = (self.a, self.b);
        let fake_b = self.pass("g_ab", "fake_b", a)?;
        let fake_a = self.pass("g_ba", "fake_a", b)?;
        let rec_a = self.pass("g_ba", "rec_a", fake_b.0)?;
        let rec_b = self.pass("g_ab", "rec_b", fake_a.0)?;
        let idt = if self.spec.lambda_identity > 0.0 {
            Some([
                self.pass("g_ab", "idt_b", b)?,
                self.pass("g_ba", "idt_a", a)?,
            ])
        } else {
            None
        };
        Ok(Passes {
            fake_b,
            fake_a,
            rec_a,
            rec_b,
            idt,
        })
    }

    /// The LSGAN term mse(D(fake), 1) through the frozen D: the fake's gradient.
    fn adversarial(&mut self, d: Site, fake: View, slot: usize, tag: &str) -> ops::Result<View> {
        let logits = self.p.forward(d.net, d.acts, fake, true)?;
        let g = self
            .p
            .prog
            .tensor(&format!("{tag}.grad_logits"), logits.len);
        let m = self.p.metrics;
        ops::loss(
            &mut self.p.prog,
            Loss::Mse,
            logits,
            g,
            m,
            slot,
            1.0,
            1.0,
            tag,
        )?;
        let dx = self
            .p
            .backward(d.net, d.acts, fake, g, false, true, false)?;
        dx.ok_or_else(|| missing(tag))
    }

    /// scale · l1(pred, target): its gradient back through the pass that made `pred` from
    /// `x` (parameter gradients added when `accumulate`), and the gradient of `x` if asked.
    #[allow(clippy::too_many_arguments)]
    fn l1_back(
        &mut self,
        (pred, site): (View, Site),
        (x, target): (View, View),
        slot: usize,
        scale: f32,
        accumulate: bool,
        input_grad: bool,
        tag: &str,
    ) -> ops::Result<Option<View>> {
        let g = self.p.prog.tensor(&format!("{tag}.grad"), pred.len);
        let (m, rows) = (self.p.metrics, self.spec.batch);
        ops::l1_loss(
            &mut self.p.prog,
            (pred, target),
            rows,
            g,
            (m, slot),
            scale,
            tag,
        )?;
        self.p
            .backward(site.net, site.acts, x, g, true, input_grad, accumulate)
    }

    fn g_step(&mut self, ps: &Passes) -> ops::Result {
        let (a, b, s) = (self.a, self.b, self.spec);
        let (d_a, d_b) = (self.d_a, self.d_b);
        let adv_b = self.adversarial(d_b, ps.fake_b.0, G_ADV_AB, "g_adv_ab")?;
        let adv_a = self.adversarial(d_a, ps.fake_a.0, G_ADV_BA, "g_adv_ba")?;
        let lc = s.lambda_cycle;
        let io = (ps.fake_b.0, a);
        let cyc_b = self.l1_back(ps.rec_a, io, CYCLE_A, lc, false, true, "g_cycle_a")?;
        let io = (ps.fake_a.0, b);
        let cyc_a = self.l1_back(ps.rec_b, io, CYCLE_B, lc, false, true, "g_cycle_b")?;
        if let Some([idt_b, idt_a]) = ps.idt {
            let li = lc * s.lambda_identity;
            self.l1_back(idt_a, (a, a), IDT_A, li, true, false, "g_idt_a")?;
            self.l1_back(idt_b, (b, b), IDT_B, li, true, false, "g_idt_b")?;
        }
        let parts = |adv, cyc: Option<View>| cyc.map(|c| [adv, c]).ok_or_else(|| missing("cycle"));
        let dfake_b = self.p.sum("g.grad_fake_b", &parts(adv_b, cyc_b)?)?;
        let dfake_a = self.p.sum("g.grad_fake_a", &parts(adv_a, cyc_a)?)?;
        let site = ps.fake_b.1;
        self.p
            .backward(site.net, site.acts, a, dfake_b, true, false, true)?;
        let site = ps.fake_a.1;
        self.p
            .backward(site.net, site.acts, b, dfake_a, true, false, true)?;
        let g = self.p.optimizer("g")?;
        self.p.step(g)
    }

    /// 0.5·(mse(D(real), 1) + mse(D(pooled fake), 0)) into D's parameter gradients.
    fn d_loss(&mut self, d: Site, real: View, fake: View, slots: [usize; 2]) -> ops::Result {
        for (k, (x, target)) in [(real, 1.0), (fake, 0.0)].into_iter().enumerate() {
            let logits = self.p.forward(d.net, d.acts, x, true)?;
            let tag = format!("d step target {target}");
            let g = self
                .p
                .prog
                .tensor(&format!("{tag}.grad_logits"), logits.len);
            let (m, p) = (self.p.metrics, &mut self.p.prog);
            ops::loss(p, Loss::Mse, logits, g, m, slots[k], target, 0.5, &tag)?;
            self.p.backward(d.net, d.acts, x, g, true, false, k > 0)?;
        }
        Ok(())
    }

    fn d_step(&mut self, ps: &Passes) -> ops::Result {
        let (batch, len) = (self.spec.batch, self.spec.image_len());
        let mut pooled = [ps.fake_a.0, ps.fake_b.0];
        for (k, fake) in pooled.iter_mut().enumerate() {
            let name = ["d.pooled_fake_a", "d.pooled_fake_b"][k];
            let out = self.p.prog.tensor(name, batch * len);
            let rs = RandomStream {
                seed: self.p.seed,
                stream: POOL_STREAMS[k],
                slot: ITERATION,
            };
            let c = self.p.counters;
            let pool = self.pools[k];
            ops::image_pool_query(
                &mut self.p.prog,
                rs,
                c,
                pool,
                (batch, len),
                *fake,
                out,
                name,
            )?;
            *fake = out;
        }
        let (a, b, d_a, d_b) = (self.a, self.b, self.d_a, self.d_b);
        self.d_loss(d_a, a, pooled[0], [D_A_REAL, D_A_FAKE])?;
        self.d_loss(d_b, b, pooled[1], [D_B_REAL, D_B_FAKE])?;
        let d_net = self.p.net(d_a.net);
        let grad = d_net.view(
            d_net.find("c1.weight").ok_or_else(|| missing("c1"))?,
            crate::nn::ArenaKind::Grads,
        );
        self.p.record("step.d_grad_d_a_c1_weight", grad);
        let d = self.p.optimizer("d")?;
        self.p.step(d)
    }
}

fn missing(what: &str) -> ops::ShapeError {
    ops::ShapeError {
        op: "cyclegan".into(),
        tensor: what.into(),
        got: 0,
        expected: 1,
    }
}

/// The whole training program: inputs, G step, D step, then the sample program on held-out
/// images. Its `state` holds both pools (`pool.a.*`: fakes of A, `pool.b.*`), which
/// checkpoints keep; its `extra_datasets` domain B.
pub fn build(spec: &CycleSpec) -> ops::Result<GanProgram> {
    let layout = MetricLayout {
        len: METRICS,
        nonfinite: NONFINITE,
    };
    let (nets, groups) = declaration(spec);
    let mut p = Planner::new(Program::new(), nets, groups, layout, spec.seed)?;
    let (n, len) = (spec.batch, spec.image_len());
    let datasets = spec.data.map(|[a, b]| {
        let a = p.dataset(a.0, a.1, n);
        // Domain B stays whole on the device: only the first dataset may stream.
        let b = crate::train::stream::place(&mut p.prog, b, n, usize::MAX);
        [a, b]
    });
    let a = match datasets {
        Some(_) => p.input("input.a", InputKind::Real, n * len, n),
        None => p.prog.tensor("input.a", n * len),
    };
    let b = p.prog.tensor("input.b", n * len);
    let b_labels = p.prog.tensor("input.b.labels", n);
    p.record("input.a", a);
    p.record("input.b", b);
    let pools = POOLS.map(|name| pool(&mut p, name, spec.pool_size.max(1) * len));
    let d_site = |p: &mut Planner, name: &str| -> ops::Result<Site> {
        let net = p.id(name)?;
        let acts = p.acts(net, n, "train");
        Ok(Site { net, acts })
    };
    let (d_a, d_b) = (d_site(&mut p, "d_a")?, d_site(&mut p, "d_b")?);
    let mut r = Recorder {
        spec,
        p,
        a,
        b,
        d_a,
        d_b,
        pools,
    };
    let i = r.p.start_phase("G");
    let passes = r.passes()?;
    r.g_step(&passes)?;
    r.p.end_phase(i);
    let i = r.p.start_phase("D");
    r.d_step(&passes)?;
    r.p.end_phase(i);
    let mut p = r.p;
    let fills = draws(&p, datasets, (b, b_labels))?;
    let step_len = p.prog.ops.len();
    let sample = super::sample::sample_program(&mut p, spec)?;
    let mut gan = schedule::finish(p, fills, datasets.map(|d| d[0]), step_len, sample)?;
    gan.extra_datasets = datasets.map_or(Vec::new(), |d| vec![d[1]]);
    for (name, v) in POOLS.iter().zip(pools) {
        gan.state.push((format!("{name}.images"), v.images));
        gan.state.push((format!("{name}.state"), v.state));
    }
    Ok(gan)
}

/// The pools' tensor names: fakes of A, of B.
const POOLS: [&str; 2] = ["pool.a", "pool.b"];

/// A pool of `len` values of past fakes and its fill count.
fn pool(p: &mut Planner, name: &str, len: usize) -> ImagePoolViews {
    ImagePoolViews {
        images: p.prog.tensor(&format!("{name}.images"), len),
        state: p.prog.tensor(&format!("{name}.state"), 1),
    }
}

/// The input draws before each step: a batch of A (the planner's input `input.a`, stream 0)
/// and one of B (`input.b`, the next stream), from their datasets; none for golden tests.
fn draws(
    p: &Planner,
    datasets: Option<[DatasetViews; 2]>,
    (b, b_labels): (View, View),
) -> ops::Result<Vec<crate::program::OpCall>> {
    let Some([ds_a, ds_b]) = datasets else {
        return Ok(Vec::new());
    };
    let mut fills = p.fills(Some(ds_a))?;
    let rs = RandomStream {
        seed: p.seed,
        stream: p.inputs.len() as u32,
        slot: ITERATION,
    };
    let gather = (rs, p.counters);
    let label = "draw input.b";
    crate::train::stream::record_gather(&mut fills, gather, ds_b, (b, b_labels), label)?;
    Ok(fills.ops)
}

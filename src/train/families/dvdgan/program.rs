//! DVD-GAN's iteration through the planner: `d_steps` D steps (a power iteration of every
//! spectrally normalised weight, fresh fakes, each discriminator on a real and the detached
//! fake batch of clips, hinge losses, one Adam step over both), then one G step through both
//! (hinge: -mean(D_S) - mean(D_T)). Clips, noise and D_S's frames are drawn on the device
//! (moving MNIST from the dataset's digits, counter-based), or written by the caller (golden).

use super::generator::{GIds, GPass};
use crate::models::DvdganConfig;
use crate::ops::frames::{gather_frames, gather_frames_backward, random_frames, FramePick};
use crate::ops::hinge::{hinge_loss, Hinge};
use crate::ops::moving_mnist::{moving_mnist, DigitSource, MovingMnist};
use crate::ops::{self, RandomStream, Transpose};
use crate::program::View;
use crate::train::schedule::planner::{ActsId, MetricLayout, NetId, OptId, Planner};
use crate::train::schedule::{self, GanProgram, InputKind, NetSpec, OptimizerSpec, ITERATION};

/// Metric slots (loss, accuracy, count): each discriminator on reals and fakes, G's two terms.
pub const D_S_REAL: usize = 0;
pub const D_S_FAKE: usize = 3;
pub const D_T_REAL: usize = 6;
pub const D_T_FAKE: usize = 9;
pub const G_S: usize = 12;
pub const G_T: usize = 15;
pub const NONFINITE: usize = 18;
pub const METRICS: usize = 19;

/// What the program is built from besides the nets.
#[derive(Clone, Debug)]
pub struct VideoSchedule {
    pub model: DvdganConfig,
    pub batch: usize,
    pub d_steps: usize,
    pub spatial: bool,
    pub temporal: bool,
    pub seed: u64,
    /// Draw clips, noise and frames on the device (training), or leave them to the caller.
    pub generated: bool,
    /// The moving-MNIST clips' digits, size and speed (training).
    pub clips: MovingMnist,
    pub sample_count: usize,
}

/// A discriminator: D_S (one net on picked frames) or D_T (a 3-D net, a fold, a 2-D net).
#[derive(Clone, Copy)]
enum Disc {
    Spatial {
        net: NetId,
        acts: ActsId,
    },
    Temporal {
        t3: (NetId, ActsId),
        t2: (NetId, ActsId),
        fold: (usize, usize, usize),
    },
}

struct Video<'a> {
    s: &'a VideoSchedule,
    p: Planner,
    g: GIds,
    pass: GPass,
    d_opt: OptId,
    g_opt: OptId,
    discs: Vec<Disc>,
    /// Frames per clip and values per frame.
    frames: usize,
    frame_len: usize,
}

fn ones(p: &mut Planner, n: usize) -> View {
    p.prog
        .constant(&format!("ones{n}"), &vec![1f32.to_bits(); n])
}

impl Video<'_> {
    fn pick(&self, clips: usize) -> FramePick {
        FramePick {
            clips,
            frames: self.frames,
            picked: self.s.model.ds_frames,
            frame_len: self.frame_len,
        }
    }

    /// Clip scores (B) of `disc` on `clips`, D_S on the frames `picked`; and the input of
    /// the net whose backward comes first (D_S's frames, D_T's folded 3-D features).
    fn scores(
        &mut self,
        disc: Disc,
        clips: View,
        picked: View,
        tag: &str,
    ) -> ops::Result<(View, View)> {
        let b = self.s.batch;
        let name = disc.name();
        let (per_frame, k, input) = match disc {
            Disc::Spatial { net, acts } => {
                let k = self.s.model.ds_frames;
                let frames = self
                    .p
                    .prog
                    .tensor(&format!("d_s.frames_{tag}"), b * k * self.frame_len);
                let pick = self.pick(b);
                gather_frames(&mut self.p.prog, pick, clips, picked, frames, "d_s frames")?;
                (self.p.forward(net, acts, frames, true)?, k, frames)
            }
            Disc::Temporal {
                t3,
                t2,
                fold: (c, t, hw),
            } => {
                let y = self.p.forward(t3.0, t3.1, clips, true)?;
                let folded = self.p.prog.tensor(&format!("d_t.folded_{tag}"), y.len);
                let label = "d_t fold time";
                ops::permute::swap_axes(&mut self.p.prog, (b, c, t, hw), y, folded, label)?;
                (self.p.forward(t2.0, t2.1, folded, true)?, t, folded)
            }
        };
        let clip = self.p.prog.tensor(&format!("{name}.clip_{tag}"), b);
        let ones = ones(&mut self.p, k);
        let label = format!("{name} clip score (sum over frames)");
        let dims = (b, 1, k);
        ops::matmul(
            &mut self.p.prog,
            Transpose::None,
            per_frame,
            ones,
            None,
            clip,
            dims,
            0,
            &label,
        )?;
        Ok((clip, input))
    }

    /// The backward of `scores` (whose input was `input`) from clip-score gradient `dclip`:
    /// D's parameter gradients (added when `accumulate`) or, for G's step, the clips' gradient.
    fn scores_backward(
        &mut self,
        disc: Disc,
        (clips, picked, input, dclip): (View, View, View, View),
        g_step: bool,
        accumulate: bool,
    ) -> ops::Result<Option<View>> {
        let b = self.s.batch;
        let name = disc.name();
        let k = match disc {
            Disc::Spatial { .. } => self.s.model.ds_frames,
            Disc::Temporal { fold, .. } => fold.1,
        };
        let dframes = self
            .p
            .prog
            .tensor(&format!("{name}.grad_frame_scores"), b * k);
        let ones = ones(&mut self.p, k);
        let label = format!("{name} clip score backward");
        let dims = (b, k, 1);
        ops::matmul(
            &mut self.p.prog,
            Transpose::None,
            dclip,
            ones,
            None,
            dframes,
            dims,
            0,
            &label,
        )?;
        let params = !g_step;
        let pick = self.pick(b);
        let p = &mut self.p;
        match disc {
            Disc::Spatial { net, acts } => {
                let dx = p.backward(net, acts, input, dframes, params, g_step, accumulate)?;
                let Some(dx) = dx else { return Ok(None) };
                let dclips = p.prog.tensor("d_s.grad_clips", clips.len);
                let label = "d_s frames backward";
                gather_frames_backward(&mut p.prog, pick, dx, picked, dclips, label)?;
                Ok(Some(dclips))
            }
            Disc::Temporal {
                t3,
                t2,
                fold: (c, t, hw),
            } => {
                let df = p.backward(t2.0, t2.1, input, dframes, params, true, accumulate)?;
                let df = df.ok_or_else(|| super::generator::missing("d_t2 input gradient"))?;
                let dy = p.prog.tensor("d_t.grad_unfolded", df.len);
                ops::permute::swap_axes(&mut p.prog, (b, t, c, hw), df, dy, "d_t unfold time")?;
                p.backward(t3.0, t3.1, clips, dy, params, g_step, accumulate)
            }
        }
    }

    /// One D step on real clips `real` and fakes from noise `z`, D_S on frames `picked`.
    fn d_step(&mut self, (real, z, picked): (View, View, View), k: usize) -> ops::Result {
        for id in self.d_ids() {
            let net = self.p.net(id).clone();
            net.spectral_norm_power(&mut self.p.prog)?;
        }
        let fake = self.pass.forward(&mut self.p, z, true)?;
        if k == 1 {
            self.p.record("step.fake", fake);
        }
        for disc in self.discs.clone() {
            let (real_slot, fake_slot, _) = disc.slots();
            for (x, kind, slot, acc) in [
                (real, Hinge::Real, real_slot, false),
                (fake, Hinge::Fake, fake_slot, true),
            ] {
                let tag = if acc { "fake" } else { "real" };
                let (clip, input) = self.scores(disc, x, picked, tag)?;
                if k == 1 {
                    self.p.record(&format!("step.{}_{tag}", disc.name()), clip);
                }
                let dclip = self
                    .p
                    .prog
                    .tensor(&format!("{}.grad_clip", disc.name()), clip.len);
                let m = (self.p.metrics, slot);
                hinge_loss(
                    &mut self.p.prog,
                    kind,
                    clip,
                    dclip,
                    m,
                    1.0,
                    &format!("{} hinge {tag}", disc.name()),
                )?;
                self.scores_backward(disc, (x, picked, input, dclip), false, acc)?;
            }
        }
        self.p.step(self.d_opt)
    }

    /// G's step on fakes from noise `z` through both discriminators, D_S on frames `picked`.
    fn g_step(&mut self, z: View, picked: View) -> ops::Result {
        let fake = self.pass.forward(&mut self.p, z, true)?;
        self.p.record("step.g_fake", fake);
        let mut parts = Vec::new();
        for disc in self.discs.clone() {
            let (clip, input) = self.scores(disc, fake, picked, "g")?;
            let dclip = self
                .p
                .prog
                .tensor(&format!("{}.grad_clip_g", disc.name()), clip.len);
            let m = (self.p.metrics, disc.slots().2);
            let label = format!("{} hinge G", disc.name());
            hinge_loss(
                &mut self.p.prog,
                Hinge::Generator,
                clip,
                dclip,
                m,
                1.0,
                &label,
            )?;
            parts.extend(self.scores_backward(disc, (fake, picked, input, dclip), true, false)?);
        }
        let dfake = self.p.sum("g.grad_clips", &parts)?;
        self.pass.backward(&mut self.p, self.g, z, dfake)?;
        self.p.step(self.g_opt)
    }

    fn d_ids(&self) -> Vec<NetId> {
        self.discs
            .iter()
            .flat_map(|d| match *d {
                Disc::Spatial { net, .. } => vec![net],
                Disc::Temporal { t3, t2, .. } => vec![t3.0, t2.0],
            })
            .collect()
    }
}

impl Disc {
    fn name(&self) -> &'static str {
        match self {
            Disc::Spatial { .. } => "d_s",
            Disc::Temporal { .. } => "d_t",
        }
    }

    /// Metric slots on reals, on fakes, and G's term.
    fn slots(&self) -> (usize, usize, usize) {
        match self {
            Disc::Spatial { .. } => (D_S_REAL, D_S_FAKE, G_S),
            Disc::Temporal { .. } => (D_T_REAL, D_T_FAKE, G_T),
        }
    }
}

/// The inputs of one D step: real clips, noise, D_S's frames.
type DInputs = (View, View, View);

/// Builds DVD-GAN's training program for `nets` (G's five, then `d_s`, `d_t`, `d_t2` as
/// enabled) and optimizer groups `d` and `g`, on a dataset of `count` digit images of `len`
/// values.
pub fn build(
    s: &VideoSchedule,
    nets: Vec<NetSpec>,
    optimizers: Vec<OptimizerSpec>,
    dataset: Option<(usize, usize)>,
) -> ops::Result<GanProgram> {
    let layout = MetricLayout {
        len: METRICS,
        nonfinite: NONFINITE,
    };
    let mut p = Planner::new(
        crate::program::Program::new(),
        nets,
        optimizers,
        layout,
        s.seed,
    )?;
    let (g, m, b) = (GIds::find(&p)?, &s.model, s.batch);
    let (d_opt, g_opt) = (p.optimizer("d")?, p.optimizer("g")?);
    let mut discs = Vec::new();
    if s.spatial {
        let net = p.id("d_s")?;
        let acts = p.acts(net, b * m.ds_frames, "train");
        discs.push(Disc::Spatial { net, acts });
    }
    if s.temporal {
        let (t3, t2) = (p.id("d_t")?, p.id("d_t2")?);
        let (c, t, side) = m.temporal_fold();
        let t3 = (t3, p.acts(t3, b, "train"));
        let t2 = (t2, p.acts(t2, b * t, "train"));
        discs.push(Disc::Temporal {
            t3,
            t2,
            fold: (c, t, side * side),
        });
    }
    let pass = GPass::new(&mut p, g, (b, m.frames), "train", false);
    let dataset = dataset.map(|(count, len)| p.dataset(count, len, b));
    let mut v = Video {
        s,
        p,
        g,
        pass,
        d_opt,
        g_opt,
        discs,
        frames: m.frames,
        frame_len: m.size * m.size,
    };
    let suffix = |k: usize| {
        if k == 1 {
            String::new()
        } else {
            format!("_{k}")
        }
    };
    let clips_len = b * m.frames * v.frame_len;
    let mut d_inputs: Vec<DInputs> = Vec::new();
    for k in 1..=s.d_steps {
        let real =
            v.p.prog
                .tensor(&format!("input.real{}", suffix(k)), clips_len);
        let z = v.p.input(
            &format!("input.z_d{}", suffix(k)),
            InputKind::Noise,
            b * m.latent,
            b,
        );
        let picked =
            v.p.prog
                .tensor(&format!("input.frames_d{}", suffix(k)), b * m.ds_frames);
        v.p.record(&format!("input.real{}", suffix(k)), real);
        v.p.record(&format!("input.frames_d{}", suffix(k)), picked);
        d_inputs.push((real, z, picked));
    }
    let z_g = v.p.input("input.z_g", InputKind::Noise, b * m.latent, b);
    let frames_g = v.p.prog.tensor("input.frames_g", b * m.ds_frames);
    v.p.record("input.frames_g", frames_g);
    for (k, &inputs) in d_inputs.iter().enumerate() {
        let phase = v.p.start_phase(&format!("D {}", k + 1));
        v.d_step(inputs, k + 1)?;
        v.p.end_phase(phase);
    }
    let phase = v.p.start_phase("G");
    v.g_step(z_g, frames_g)?;
    v.p.end_phase(phase);
    let fills = if s.generated {
        v.draws(dataset, &d_inputs, frames_g)?
    } else {
        Vec::new()
    };
    let step_len = v.p.prog.ops.len();
    let sample = v.sample_program()?;
    schedule::finish(v.p, fills, dataset, step_len, sample)
}

impl Video<'_> {
    /// The on-device draws before the step: the planner's noise, then each D step's clips and
    /// D_S's frames, and G's frames.
    fn draws(
        &mut self,
        dataset: Option<schedule::DatasetViews>,
        d_inputs: &[DInputs],
        frames_g: View,
    ) -> ops::Result<Vec<crate::program::OpCall>> {
        let ds = dataset.ok_or_else(|| super::generator::missing("dataset"))?;
        if ds.ring.is_some() {
            return Err(super::generator::missing(
                "a dataset small enough to stay on the device",
            ));
        }
        let side = (ds.image_len as f64).sqrt() as usize;
        let src = DigitSource {
            images: ds.images,
            labels: ds.labels,
            count: ds.count,
            side,
        };
        let labels = self
            .p
            .prog
            .tensor("input.clip_labels", self.s.batch * self.s.clips.digits);
        let mut fills = self.p.fills(dataset)?;
        let counters = self.p.counters;
        let rs = |stream: u32| RandomStream {
            seed: self.s.seed,
            stream,
            slot: ITERATION,
        };
        let pick = self.pick(self.s.batch);
        for (k, &(real, _, picked)) in d_inputs.iter().enumerate() {
            let k = k as u32;
            let label = format!("moving MNIST clips {}", k + 1);
            moving_mnist(
                &mut fills,
                rs(100 + 2 * k),
                (counters, src),
                self.s.clips,
                (real, labels),
                &label,
            )?;
            random_frames(
                &mut fills,
                pick,
                rs(101 + 2 * k),
                counters,
                picked,
                "D_S frames",
            )?;
        }
        random_frames(
            &mut fills,
            pick,
            rs(99),
            counters,
            frames_g,
            "D_S frames (G)",
        )?;
        Ok(fills.ops)
    }

    /// The sample clips' program: G's moving averages on `sample.noise`, inference mode.
    fn sample_program(&mut self) -> ops::Result<(View, Vec<(String, View)>)> {
        let n = self.s.sample_count;
        let z = self.p.prog.tensor("sample.noise", n * self.s.model.latent);
        let pass = GPass::new(&mut self.p, self.g, (n, self.frames), "sample", true);
        self.p.prog.set_phase("sample");
        let out = pass.forward(&mut self.p, z, false)?;
        Ok((out, vec![("sample.noise".into(), z)]))
    }
}

//! DVD-GAN's generator through the planner: `g` maps z to the ConvGRU's input x (C0, s0, s0);
//! the GRU's gate nets run once per frame from h = 0, each frame on its own activations with
//! shared weights (their gradients accumulate over the frames); the states h_1 … h_T are
//! stacked (T, B, ·), swapped to clip-major (B, T, ·) and decoded frame by frame by
//! `g_frames`. The backward runs the frames in reverse, carrying dh.

use crate::nn::Net;
use crate::ops::{self, columns, gru, Head};
use crate::program::View;
use crate::train::schedule::planner::{ActsId, NetId, Planner};

/// The five nets of G, in the family's order.
pub const G_NETS: [&str; 5] = ["g_frames", "g", "g_gru_r", "g_gru_u", "g_gru_c"];

#[derive(Clone, Copy, Debug)]
pub struct GIds {
    pub frames: NetId,
    pub fc: NetId,
    pub r: NetId,
    pub u: NetId,
    pub c: NetId,
}

impl GIds {
    pub fn find(p: &Planner) -> ops::Result<Self> {
        Ok(Self {
            frames: p.id(G_NETS[0])?,
            fc: p.id(G_NETS[1])?,
            r: p.id(G_NETS[2])?,
            u: p.id(G_NETS[3])?,
            c: p.id(G_NETS[4])?,
        })
    }

    fn all(&self) -> [NetId; 5] {
        [self.frames, self.fc, self.r, self.u, self.c]
    }
}

/// One frame's GRU buffers: [x, h], r·h, [x, r·h], the new h, and the gates' activations.
struct Step {
    xh: View,
    rh: View,
    xrh: View,
    h: View,
    acts: [ActsId; 3],
}

/// The buffers of G's passes over `rows` clips of `frames` frames.
pub struct GPass {
    rows: usize,
    frames: usize,
    /// Values of one state per clip.
    len: usize,
    /// The nets this pass runs (G's own, or their moving averages for samples).
    nets: [Net; 5],
    fc_acts: ActsId,
    frames_acts: ActsId,
    h0: View,
    steps: Vec<Step>,
    /// (T, B, len) states, and (B, T, len) the decoder reads.
    stacked: View,
    folded: View,
}

impl GPass {
    /// Buffers for a pass of `ids`' nets (their moving averages when `average`).
    pub fn new(
        p: &mut Planner,
        ids: GIds,
        (rows, frames): (usize, usize),
        tag: &str,
        average: bool,
    ) -> Self {
        let nets = ids.all().map(|id| {
            let e = &p.nets[id.0];
            if average {
                e.sampler().clone()
            } else {
                e.net.clone()
            }
        });
        let len = nets[1].out_features();
        let fc_acts = p.acts(ids.fc, rows, tag);
        let frames_acts = p.acts(ids.frames, rows * frames, tag);
        let name = |what: &str, t: usize| format!("g.{tag}.{what}{t}");
        let h0 = p.prog.tensor(&name("h", 0), rows * len);
        let steps = (1..=frames)
            .map(|t| {
                let acts = [ids.r, ids.u, ids.c].map(|id| p.acts(id, rows, &format!("{tag}{t}")));
                Step {
                    xh: p.prog.tensor(&name("xh", t), 2 * rows * len),
                    rh: p.prog.tensor(&name("rh", t), rows * len),
                    xrh: p.prog.tensor(&name("xrh", t), 2 * rows * len),
                    h: p.prog.tensor(&name("h", t), rows * len),
                    acts,
                }
            })
            .collect();
        let stacked = p
            .prog
            .tensor(&format!("g.{tag}.states"), frames * rows * len);
        let folded = p
            .prog
            .tensor(&format!("g.{tag}.frames_in"), frames * rows * len);
        Self {
            rows,
            frames,
            len,
            nets,
            fc_acts,
            frames_acts,
            h0,
            steps,
            stacked,
            folded,
        }
    }

    fn out(&self, p: &Planner, acts: ActsId) -> ops::Result<View> {
        let outs = &p.activations(acts).outs;
        outs.last().copied().ok_or_else(|| missing("net output"))
    }

    fn h_prev(&self, t: usize) -> View {
        if t == 0 {
            self.h0
        } else {
            self.steps[t - 1].h
        }
    }

    fn slot(&self, v: View, t: usize) -> View {
        let n = self.rows * self.len;
        View {
            offset: v.offset + t * n,
            len: n,
            ..v
        }
    }

    /// Clips (B·T, 1, S, S), clip-major, from noise z (B, latent).
    pub fn forward(&self, p: &mut Planner, z: View, train: bool) -> ops::Result<View> {
        let [frames_net, fc, r_net, u_net, c_net] = &self.nets;
        let x = p.forward_net(fc, self.fc_acts, z, train)?;
        for (t, s) in self.steps.iter().enumerate() {
            let h = self.h_prev(t);
            let b = self.rows;
            let l = format!("g.gru frame {}", t + 1);
            columns::concat_columns(&mut p.prog, x, h, b, s.xh, &format!("{l} [x, h]"))?;
            let r = p.forward_net(r_net, s.acts[0], s.xh, train)?;
            let u = p.forward_net(u_net, s.acts[1], s.xh, train)?;
            gru::gru_reset_forward(&mut p.prog, r, h, s.rh, &format!("{l} r·h"))?;
            let label = format!("{l} [x, r·h]");
            columns::concat_columns(&mut p.prog, x, s.rh, b, s.xrh, &label)?;
            let c = p.forward_net(c_net, s.acts[2], s.xrh, train)?;
            gru::gru_update_forward(&mut p.prog, (u, h, c), s.h, &format!("{l} update"))?;
            let slot = self.slot(self.stacked, t);
            ops::axpby(
                &mut p.prog,
                (1.0, s.h),
                (0.0, s.h),
                slot,
                &format!("{l} stack"),
            )?;
        }
        let dims = (1, self.frames, self.rows, self.len);
        ops::permute::swap_axes(
            &mut p.prog,
            dims,
            self.stacked,
            self.folded,
            "g.gru to clip-major",
        )?;
        p.forward_net(frames_net, self.frames_acts, self.folded, train)
    }

    /// G's parameter gradients from the gradient of its clips `dclips`, after `forward`.
    pub fn backward(&self, p: &mut Planner, ids: GIds, z: View, dclips: View) -> ops::Result {
        let (b, n) = (self.rows, self.rows * self.len);
        let dfolded = p
            .backward(
                ids.frames,
                self.frames_acts,
                self.folded,
                dclips,
                true,
                true,
                false,
            )?
            .ok_or_else(|| missing("frames input gradient"))?;
        let dstacked = p.prog.tensor("g.grad_states", self.frames * n);
        let dims = (1, b, self.frames, self.len);
        ops::permute::swap_axes(
            &mut p.prog,
            dims,
            dfolded,
            dstacked,
            "g.gru grad to frame-major",
        )?;
        let x = self.out(p, self.fc_acts)?;
        let (mut carry, mut dx_parts) = (None, Vec::new());
        for t in (0..self.frames).rev() {
            let s = &self.steps[t];
            let from_frame = self.slot(dstacked, t);
            let dh = match carry {
                None => from_frame,
                Some(c) => p.sum(&format!("g.grad_h{}", t + 1), &[from_frame, c])?,
            };
            let h = self.h_prev(t);
            let (r, u, c) = (
                self.out(p, s.acts[0])?,
                self.out(p, s.acts[1])?,
                self.out(p, s.acts[2])?,
            );
            let acc = t + 1 != self.frames;
            let name = |what: &str| format!("g.grad_{what}{}", t + 1);
            let [du, dh_a, dc, drh, dr, dh_b, dx_c, dh_c, dx_ru] = [
                "u", "h_update", "c", "rh", "r", "h_reset", "x_c", "h_gates", "x_gates",
            ]
            .map(|w| p.prog.tensor(&name(w), n));
            let l = format!("g.gru frame {} backward", t + 1);
            gru::gru_update_backward(&mut p.prog, (u, h, c, dh), (du, dh_a, dc), &l)?;
            let dxrh = p.backward(ids.c, s.acts[2], s.xrh, dc, true, true, acc)?;
            let dxrh = dxrh.ok_or_else(|| missing("candidate input gradient"))?;
            self.split(p, dxrh, (dx_c, drh), &l)?;
            gru::gru_reset_backward(&mut p.prog, (r, h, drh), (dr, dh_b), &l)?;
            let dr_in = p.backward(ids.r, s.acts[0], s.xh, dr, true, true, acc)?;
            let du_in = p.backward(ids.u, s.acts[1], s.xh, du, true, true, acc)?;
            let parts: Vec<View> = [dr_in, du_in].into_iter().flatten().collect();
            let dxh = p.sum(&name("xh"), &parts)?;
            self.split(p, dxh, (dx_ru, dh_c), &l)?;
            dx_parts.extend([dx_c, dx_ru]);
            if t > 0 {
                carry = Some(p.sum(&name("h_prev"), &[dh_a, dh_b, dh_c])?);
            }
        }
        let dx = p.sum("g.grad_x", &dx_parts)?;
        debug_assert_eq!(dx.len, x.len);
        p.backward(ids.fc, self.fc_acts, z, dx, true, false, false)?;
        Ok(())
    }

    /// (first, second) = the halves of each row of a concatenation's gradient `d`.
    fn split(&self, p: &mut Planner, d: View, (a, b): (View, View), label: &str) -> ops::Result {
        let stride = 2 * self.len;
        for (offset, out) in [(0, a), (self.len, b)] {
            let head = Head { stride, offset };
            columns::slice_columns(&mut p.prog, d, head, self.len, out, label)?;
        }
        Ok(())
    }
}

pub(super) fn missing(what: &str) -> ops::ShapeError {
    ops::ShapeError {
        op: "dvdgan".into(),
        tensor: what.into(),
        got: 0,
        expected: 1,
    }
}

//! Plan-time kernel choice and fusion, for one program on one device. Each product of the
//! program gets its kernel from `gpu::tune` (checkpoint, cache, timing on the device, a forced
//! list, or the fixed rule of `gpu::variants`); where the op after a product is its activation,
//! its activation derivative or its bias gradient, and the chosen kernel has that epilogue
//! (`shaders/matmul_tiled.wgsl`), the two ops become one dispatch. The program itself, and
//! with it the CPU path, is unchanged: an op keeps its own dispatch for runs that start after
//! the product, and the fused one equals the pair on the GPU bit for bit (the same arithmetic
//! on the same stored value).

use super::tune::{Choice, TuneMode};
use super::{timing, variants, Context};
use crate::cpu::activation::ActivationParams;
use crate::cpu::batch_norm::BatchNormParams;
use crate::cpu::matmul::{MatmulParams, ACCUMULATE};
use crate::cpu::matmul_fused::{
    ActCode, ACT_BACKWARD_SHIFT, ACT_FORWARD_SHIFT, BIAS_GRAD, BIAS_GRAD_ACCUMULATE,
};
use crate::cpu::{params, words};
use crate::kernels::Kernel;
use crate::ops::{tiling, Transpose};
use crate::program::{OpCall, Program, View};

/// What a dispatch binds at each of its kernel's storage bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bind {
    View(View),
    /// An unused fused output or input: small buffers of the GPU program's own, one written,
    /// one read (wgpu allows no buffer both ways in one dispatch).
    Dummy,
}

#[derive(Clone, Debug)]
pub struct Dispatch {
    pub kernel: Kernel,
    pub params: Vec<u32>,
    pub binds: Vec<Bind>,
    pub workgroups: [u32; 3],
}

/// Op i's own dispatch, and the one that also runs the ops after it that were fused into it
/// (`span` ops in all: 2, or 3 for a product, its activation and the batch norm after them).
#[derive(Clone, Debug)]
pub struct Planned {
    pub own: Dispatch,
    pub fused: Option<Dispatch>,
    pub span: usize,
}

/// The training batch norm after a Linear's forward (and its activation) that
/// `matmul_bt_skinny_bn` can take over: its parameters and the views it binds.
#[derive(Clone, Copy, Debug)]
pub struct BnFollow {
    /// Index of the batch-norm op in the program.
    pub at: usize,
    pub flags: u32,
    pub eps: f32,
    pub momentum: f32,
    pub gamma_beta: View,
    pub y: View,
    pub running: View,
    pub saved: View,
}

/// The elementwise op after a product that an epilogue can take over.
#[derive(Clone, Copy, Debug)]
pub enum Follow {
    Forward {
        code: ActCode,
        slope: f32,
        y: View,
    },
    Backward {
        code: ActCode,
        slope: f32,
        saved: View,
        dx: View,
    },
    BiasGrad {
        db: View,
        accumulate: bool,
    },
}

pub fn transpose_of(kernel: Kernel) -> Option<Transpose> {
    match kernel {
        Kernel::Matmul | Kernel::MatmulVec4 => Some(Transpose::None),
        Kernel::MatmulAt | Kernel::MatmulAtVec4 => Some(Transpose::A),
        Kernel::MatmulBt | Kernel::MatmulBtVec4 => Some(Transpose::B),
        _ => None,
    }
}

/// Kernels with fused epilogues (bindings y and saved): matmul_tiled.wgsl's and
/// matmul_subgroup.wgsl's.
pub fn has_epilogue(kernel: Kernel) -> bool {
    matches!(
        kernel,
        Kernel::MatmulTiled
            | Kernel::MatmulAtTiled
            | Kernel::MatmulBtTiled
            | Kernel::MatmulSkinny
            | Kernel::MatmulBtSkinny
            | Kernel::MatmulBtSkinnyBn
            | Kernel::MatmulAtSmallK
            | Kernel::MatmulDirect
            | Kernel::MatmulAtDirect
            | Kernel::MatmulBtDirect
            | Kernel::MatmulSubgroup
            | Kernel::MatmulAtSubgroup
            | Kernel::MatmulBtSubgroup
    )
}

/// Whether `kernel` can run `follow` in its epilogue for a product of shape `p`: the subgroup
/// kernels store eight floats at a time, so their bias gradient needs m % 8 == 0.
fn can_fuse(kernel: Kernel, follow: &Follow, p: &MatmulParams) -> bool {
    match follow {
        Follow::BiasGrad { .. } => {
            matches!(kernel, Kernel::MatmulAtSmallK | Kernel::MatmulAtDirect)
                || (kernel == Kernel::MatmulAtSubgroup && p.m.is_multiple_of(8))
        }
        _ => has_epilogue(kernel),
    }
}

/// Every kernel that may run a product recorded as `kernel` with shape (m, n, k) here.
pub fn candidates(ctx: &Context, kernel: Kernel, p: &MatmulParams, words: &[u32]) -> Vec<Kernel> {
    let Some(t) = transpose_of(kernel) else {
        return vec![kernel];
    };
    let mut list = vec![kernel];
    if let Some(v) = variants::subgroup_variant(ctx, kernel, words) {
        list.push(v);
    }
    let (tiled, skinny, direct) = match t {
        Transpose::None => (
            Kernel::MatmulTiled,
            Some(Kernel::MatmulSkinny),
            Kernel::MatmulDirect,
        ),
        Transpose::A => (Kernel::MatmulAtTiled, None, Kernel::MatmulAtDirect),
        Transpose::B => (
            Kernel::MatmulBtTiled,
            Some(Kernel::MatmulBtSkinny),
            Kernel::MatmulBtDirect,
        ),
    };
    list.extend([tiled, direct]);
    if let Some(s) = skinny.filter(|_| p.m <= 64) {
        list.push(s);
    }
    if t == Transpose::A && p.k <= 32 {
        list.push(Kernel::MatmulAtSmallK);
    }
    list
}

/// wgpu allows no buffer to be bound read-write and read-only in one dispatch, so written and
/// read views of a fused dispatch must lie in different buffers (which also rules out races).
fn overlaps(a: View, b: View) -> bool {
    a.buf == b.buf
}

/// Whether two views share a word (two written views may share a buffer: one usage).
pub(crate) fn intersects(a: View, b: View) -> bool {
    a.buf == b.buf && a.offset < b.offset + b.len.max(1) && b.offset < a.offset + a.len.max(1)
}

pub(crate) fn act_code(kernel: Kernel) -> Option<(ActCode, bool)> {
    Some(match kernel {
        Kernel::LeakyReluForward => (ActCode::LeakyRelu, true),
        Kernel::ReluForward => (ActCode::Relu, true),
        Kernel::TanhForward => (ActCode::Tanh, true),
        Kernel::SigmoidForward => (ActCode::Sigmoid, true),
        Kernel::LeakyReluBackward => (ActCode::LeakyRelu, false),
        Kernel::ReluBackward => (ActCode::Relu, false),
        Kernel::TanhBackward => (ActCode::Tanh, false),
        Kernel::SigmoidBackward => (ActCode::Sigmoid, false),
        _ => return None,
    })
}

/// The op after product `i` when an epilogue can do its work: same phase, it reads exactly what
/// the product wrote, and nothing it writes is read by the product's other invocations.
pub fn follower(program: &Program, i: usize) -> Option<Follow> {
    let (op, next) = (&program.ops[i], program.ops.get(i + 1)?);
    let t = transpose_of(op.kernel)?;
    if op.phase != next.phase {
        return None;
    }
    let p: MatmulParams = params(&op.params);
    let [a, b, out, bias] = [0, 1, 2, 3].map(|j| op.bindings[j].0);
    let clear = |w: View| ![a, b, bias].iter().any(|&r| overlaps(w, r));
    if next.kernel == Kernel::BiasGrad {
        let bp: MatmulParams = params(&next.params);
        let (dy, db) = (next.bindings[0].0, next.bindings[1].0);
        let fits = t == Transpose::A && dy == a && bp.m == p.k && bp.n == p.m;
        return (fits && clear(db) && !intersects(db, out)).then_some(Follow::BiasGrad {
            db,
            accumulate: bp.flags & ACCUMULATE != 0,
        });
    }
    let (code, forward) = act_code(next.kernel)?;
    if p.flags & ACCUMULATE != 0 {
        return None;
    }
    let ap: ActivationParams = params(&next.params);
    if forward {
        let (x, y) = (next.bindings[0].0, next.bindings[1].0);
        return (x == out && clear(y)).then_some(Follow::Forward {
            code,
            slope: ap.slope,
            y,
        });
    }
    let (saved, dy, dx) = (next.bindings[0].0, next.bindings[1].0, next.bindings[2].0);
    let ok = dy == out && clear(dx) && !overlaps(saved, out) && !overlaps(saved, dx);
    ok.then_some(Follow::Backward {
        code,
        slope: ap.slope,
        saved,
        dx,
    })
}

/// Storage bindings `matmul_bt_skinny_bn` needs per shader stage (its nine and the parameters).
const SKINNY_BN_BINDINGS: u32 = 10;

/// The batch norm after product `i` (after its activation, when `follow` fuses that) that
/// `matmul_bt_skinny_bn` can run in the same dispatch: a Linear's forward of at most 64 rows,
/// BatchNorm1d over exactly what the product (or activation) wrote, in the same phase, and
/// nothing it writes read or written by the product's other bindings.
pub fn bn_follower(
    ctx: &Context,
    program: &Program,
    i: usize,
    follow: Option<&Follow>,
) -> Option<BnFollow> {
    let op = &program.ops[i];
    if transpose_of(op.kernel)? != Transpose::B
        || ctx.limits.max_storage_buffers_per_shader_stage < SKINNY_BN_BINDINGS
    {
        return None;
    }
    let (at, x) = match follow {
        Some(Follow::Forward { y, .. }) => (i + 2, *y),
        Some(_) => return None,
        None => (i + 1, op.bindings[2].0),
    };
    let bn = program.ops.get(at)?;
    let p: MatmulParams = params(&op.params);
    if bn.kernel != Kernel::BatchNormForwardTrain || bn.phase != op.phase || p.m > 64 {
        return None;
    }
    if p.flags & ACCUMULATE != 0 {
        return None;
    }
    let bp: BatchNormParams = params(&bn.params);
    let views: Vec<View> = bn.bindings.iter().map(|b| b.0).collect();
    let (gamma_beta, written) = (views[1], [views[2], views[3], views[4]]);
    let fits = bp.n == p.m && bp.c == p.n && bp.hw == 1 && views[0] == x;
    let mut taken: Vec<View> = op.bindings.iter().map(|b| b.0).collect();
    if let Some(Follow::Forward { y, .. }) = follow {
        taken.push(*y);
    }
    let clear = written
        .iter()
        .all(|&w| !taken.iter().any(|&t| overlaps(w, t)) && !overlaps(w, gamma_beta))
        && !written
            .iter()
            .enumerate()
            .any(|(j, &w)| written[j + 1..].iter().any(|&v| intersects(w, v)));
    (fits && clear).then_some(BnFollow {
        at,
        flags: bp.flags,
        eps: bp.eps,
        momentum: bp.momentum,
        gamma_beta,
        y: written[0],
        running: written[1],
        saved: written[2],
    })
}

/// Product `i` as `matmul_bt_skinny_bn`: its activation (if any) and the batch norm `bn` in one
/// dispatch.
pub fn dispatch_bn(op: &OpCall, follow: Option<&Follow>, bn: &BnFollow) -> Dispatch {
    let mut d = dispatch(Kernel::MatmulBtSkinnyBn, op, follow);
    d.params
        .extend([bn.flags, bn.eps.to_bits(), bn.momentum.to_bits()]);
    d.binds[5] = Bind::View(bn.gamma_beta);
    d.binds.extend([
        Bind::View(bn.y),
        Bind::View(bn.running),
        Bind::View(bn.saved),
    ]);
    d
}

/// batch_norm_backward followed by the derivative of the activation before it, as one
/// `batch_norm_backward_act` dispatch, where the device binds enough buffers.
fn batch_norm_fused(ctx: &Context, program: &Program, i: usize) -> Option<Dispatch> {
    let (op, next) = (&program.ops[i], program.ops.get(i + 1)?);
    let tuning = &ctx.tuning;
    let fuses = tuning.mode != TuneMode::Off || tuning.forced.is_some();
    if !fuses || op.kernel != Kernel::BatchNormBackward || op.phase != next.phase {
        return None;
    }
    // Where the serial backward runs, so does the serial fused one.
    let (own, workgroups) = variants::adapter_kernel(ctx, op.kernel, &op.params, op.workgroups);
    let kernel = match own {
        Kernel::BatchNormBackwardSerial => Kernel::BatchNormBackwardActSerial,
        _ => Kernel::BatchNormBackwardAct,
    };
    let (code, forward) = act_code(next.kernel)?;
    if forward || ctx.limits.max_storage_buffers_per_shader_stage < 9 {
        return None;
    }
    let views: Vec<View> = op.bindings.iter().map(|b| b.0).collect();
    let (saved2, dy2, dx2) = (next.bindings[0].0, next.bindings[1].0, next.bindings[2].0);
    let reads = [views[0], views[1], views[2], views[3], saved2];
    let ok = dy2 == views[4]
        && !reads.iter().any(|&r| overlaps(dx2, r))
        && ![views[4], views[5]].iter().any(|&w| overlaps(saved2, w));
    if !ok {
        return None;
    }
    let ap: ActivationParams = params(&next.params);
    let mut w = op.params.clone();
    w.extend([ap.slope.to_bits(), code as u32]);
    let mut binds: Vec<Bind> = views.into_iter().map(Bind::View).collect();
    binds.extend([Bind::View(dx2), Bind::View(saved2)]);
    Some(Dispatch {
        kernel,
        params: w,
        binds,
        workgroups,
    })
}

/// Op `op` run as `kernel`, with `follow`'s work in its epilogue when given.
pub fn dispatch(kernel: Kernel, op: &OpCall, follow: Option<&Follow>) -> Dispatch {
    let mut p: MatmulParams = params(&op.params);
    let views: Vec<View> = op.bindings.iter().map(|b| b.0).collect();
    let workgroups = tiling::matmul_grid(kernel, p.m as usize, p.n as usize);
    if !has_epilogue(kernel) {
        return Dispatch {
            kernel,
            params: op.params.clone(),
            binds: views.into_iter().map(Bind::View).collect(),
            workgroups,
        };
    }
    let (mut y, mut saved, mut slope) = (Bind::Dummy, Bind::Dummy, 0.0f32);
    match follow {
        Some(Follow::Forward {
            code,
            slope: s,
            y: v,
        }) => {
            p.flags |= (*code as u32) << ACT_FORWARD_SHIFT;
            (y, slope) = (Bind::View(*v), *s);
        }
        Some(Follow::Backward {
            code,
            slope: s,
            saved: sv,
            dx,
        }) => {
            p.flags |= (*code as u32) << ACT_BACKWARD_SHIFT;
            (y, saved, slope) = (Bind::View(*dx), Bind::View(*sv), *s);
        }
        Some(Follow::BiasGrad { db, accumulate }) => {
            p.flags |= BIAS_GRAD | if *accumulate { BIAS_GRAD_ACCUMULATE } else { 0 };
            y = Bind::View(*db);
        }
        None => {}
    }
    let mut w = words(&p);
    w.push(slope.to_bits());
    let mut binds: Vec<Bind> = views.into_iter().map(Bind::View).collect();
    binds.extend([y, saved]);
    Dispatch {
        kernel,
        params: w,
        binds,
        workgroups,
    }
}

/// The fixed rule (`--tune off`): `gpu::variants`, nothing fused.
fn fixed(ctx: &Context, op: &OpCall) -> Dispatch {
    let (kernel, workgroups) = variants::adapter_kernel(ctx, op.kernel, &op.params, op.workgroups);
    if kernel != op.kernel && has_epilogue(kernel) {
        // A subgroup variant binds the (unused) fused output and input too.
        return Dispatch {
            workgroups,
            ..dispatch(kernel, op, None)
        };
    }
    Dispatch {
        kernel,
        params: op.params.clone(),
        binds: op.bindings.iter().map(|b| Bind::View(b.0)).collect(),
        workgroups,
    }
}

/// The tuning key of product `i`, with the batch norm `matmul_bt_skinny_bn` could take.
pub fn key(program: &Program, i: usize, bn: Option<&BnFollow>) -> String {
    let op = &program.ops[i];
    let p: MatmulParams = params(&op.params);
    let mut then = follower(program, i)
        .map_or("-", |_| program.ops[i + 1].kernel.entry())
        .to_string();
    if bn.is_some() {
        then.push_str("+batch_norm_forward_train");
    }
    format!(
        "{} m={} n={} k={} flags={} then={then}",
        op.kernel.entry(),
        p.m,
        p.n,
        p.k,
        p.flags
    )
}

/// The choice for product `i`: pinned or cached, forced, timed, or the fixed rule. A fused
/// `matmul_bt_skinny_bn` also runs `bn`.
fn choose(
    ctx: &Context,
    program: &Program,
    i: usize,
    follow: Option<&Follow>,
    bn: Option<&BnFollow>,
) -> Choice {
    let op = &program.ops[i];
    let p: MatmulParams = params(&op.params);
    let mut list = candidates(ctx, op.kernel, &p, &op.params);
    if bn.is_some() {
        list.push(Kernel::MatmulBtSkinnyBn);
    }
    let fusable = |k: Kernel| {
        if k == Kernel::MatmulBtSkinnyBn {
            return bn.is_some();
        }
        follow.is_some_and(|f| can_fuse(k, f, &p))
    };
    let key = key(program, i, bn);
    let tuning = &ctx.tuning;
    let fixed_choice = Choice {
        kernel: fixed(ctx, op).kernel,
        fused: false,
    };
    let known = tuning
        .known(&key)
        .filter(|c| list.contains(&c.kernel) && (!c.fused || fusable(c.kernel)));
    let forced = || {
        let forced = tuning.forced.as_ref()?;
        let k = forced.iter().copied().find(|k| list.contains(k))?;
        Some(Choice {
            kernel: k,
            fused: fusable(k),
        })
    };
    // Out of budget, tuning still fuses where the fixed rule's kernel can: the same kernel, one
    // dependent dispatch fewer.
    let untimed = Choice {
        fused: fusable(fixed_choice.kernel),
        ..fixed_choice
    };
    let choice = known.or_else(forced).unwrap_or_else(|| {
        if tuning.mode == TuneMode::Off {
            return fixed_choice;
        }
        if !tuning.has_budget() {
            return untimed;
        }
        // The fixed rule's kernel first: it is the bar the others must beat.
        let mut order = list.clone();
        order.sort_by_key(|&k| k != fixed_choice.kernel);
        // The ops fusion can absorb, each as its own dispatch: an option is timed followed by
        // those it does not run itself (the dependent dispatches fusion saves).
        let mut next: Vec<Dispatch> = Vec::new();
        if follow.is_some() {
            next.push(fixed(ctx, &program.ops[i + 1]));
        }
        if let Some(b) = bn {
            next.push(fixed(ctx, &program.ops[b.at]));
        }
        let options: Vec<(Choice, Vec<Dispatch>)> = order
            .iter()
            .map(|&k| {
                let fused = fusable(k);
                let c = Choice { kernel: k, fused };
                let (d, absorbed) = match bn.filter(|_| k == Kernel::MatmulBtSkinnyBn) {
                    Some(b) => (dispatch_bn(op, follow, b), next.len()),
                    None if fused => (dispatch(k, op, follow), 1),
                    None => (dispatch(k, op, None), 0),
                };
                let mut seq = vec![d];
                seq.extend(next[absorbed.min(next.len())..].iter().cloned());
                (c, seq)
            })
            .collect();
        match timing::fastest(ctx, &options) {
            Some(c) => {
                // Cached even when the budget cut the comparison short (the fixed rule's kernel
                // is always timed, so the choice is never worse than it): else every run would
                // pay for the same partial comparison again. `--tune full` with a larger
                // WGPU_GAN_TUNE_BUDGET_MS times everything.
                tuning.learn(&key, c);
                c
            }
            None => untimed,
        }
    });
    tuning.used(&key, choice);
    choice
}

/// Every op's dispatches.
pub fn plan(ctx: &Context, program: &Program) -> Vec<Planned> {
    let planned = (0..program.ops.len())
        .map(|i| {
            let op = &program.ops[i];
            if transpose_of(op.kernel).is_none() {
                let fused = batch_norm_fused(ctx, program, i);
                let span = if fused.is_some() { 2 } else { 1 };
                return Planned {
                    own: fixed(ctx, op),
                    fused,
                    span,
                };
            }
            let follow = follower(program, i);
            let bn = bn_follower(ctx, program, i, follow.as_ref());
            let c = choose(ctx, program, i, follow.as_ref(), bn.as_ref());
            if let Some(b) = bn.filter(|_| c.kernel == Kernel::MatmulBtSkinnyBn) {
                // Alone (a run starting or ending inside the chain), the same product as skinny.
                return Planned {
                    own: dispatch(Kernel::MatmulBtSkinny, op, None),
                    fused: Some(dispatch_bn(op, follow.as_ref(), &b)),
                    span: b.at - i + 1,
                };
            }
            let own = dispatch(c.kernel, op, None);
            let fused =
                (c.fused && follow.is_some()).then(|| dispatch(c.kernel, op, follow.as_ref()));
            let span = if fused.is_some() { 2 } else { 1 };
            Planned { own, fused, span }
        })
        .collect();
    ctx.tuning.save();
    planned
}

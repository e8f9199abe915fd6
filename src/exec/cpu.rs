//! The CPU executor: a program's buffers in host memory, and the replay of its ops with the CPU
//! twins (`kernels::Kernel::cpu`).
//!
//! A range of ops runs as a graph on the thread pool (issue 19): each unit (an op, or a fused
//! step) waits for the earlier units whose bindings overlap its own where either writes, and
//! units with nothing between them run at once, each still spreading its own work over the
//! cores. Every twin computes its outputs from its inputs alone, so the values are those of the
//! program order, bit for bit, whatever runs beside what (tests/cpu_threads.rs). A batch-1
//! CycleGAN's two generators and two discriminators, too small to fill two cores op by op, fill
//! them side by side.

use super::cpu_conv::{self, ConvStep};
use super::cpu_fuse::{self, ProductStep};
use crate::cpu::par;
use crate::cpu::{CpuIo, Slot};
use crate::kernels::Access;
use crate::program::{Program, View};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// `WGPU_GAN_CPU_GRAPH=0` runs the units one after another in program order (for comparisons).
pub const GRAPH_SWITCH: &str = "WGPU_GAN_CPU_GRAPH";

/// A program's buffers in host memory, and the replay of its ops with the CPU twins.
pub struct CpuProgram {
    pub storage: Vec<Vec<u32>>,
    /// The conv lowerings run a block of samples at a time (`cpu_conv`), in op order, and the number of
    /// ops of the program they were planned on.
    steps: Vec<ConvStep>,
    /// Products run with the activation after them (`cpu_fuse`), in op order.
    products: Vec<ProductStep>,
    planned_ops: usize,
    /// The graph of each range run so far.
    graphs: HashMap<(usize, usize), Arc<Graph>>,
    /// Whether ranges run in program order (GRAPH_SWITCH, read when the program is loaded).
    in_order: bool,
}

impl CpuProgram {
    pub fn new(program: &Program) -> Self {
        let storage = program
            .buffers
            .iter()
            .map(|b| {
                let mut data = vec![0u32; b.words];
                data[..b.init.len()].copy_from_slice(&b.init);
                data
            })
            .collect();
        let steps = cpu_conv::plan(program);
        let taken: Vec<_> = steps.iter().map(|s| s.first..s.first + s.len).collect();
        Self {
            storage,
            products: cpu_fuse::plan(&program.ops, &taken),
            steps,
            planned_ops: program.ops.len(),
            graphs: HashMap::new(),
            in_order: std::env::var(GRAPH_SWITCH).is_ok_and(|v| v == "0"),
        }
    }

    /// [`CpuProgram::new`] running every op as recorded, no conv or product step fused: the
    /// reference the fused steps are tested against.
    pub fn unfused(program: &Program) -> Self {
        Self {
            steps: Vec::new(),
            products: Vec::new(),
            ..Self::new(program)
        }
    }

    /// The conv steps this program runs fused, in op order.
    pub fn conv_steps(&self) -> &[ConvStep] {
        &self.steps
    }

    /// The products this program runs with the activation after them, in op order.
    pub fn product_steps(&self) -> &[ProductStep] {
        &self.products
    }

    /// The ops `range` runs as units: each fused conv or product step that lies wholly inside
    /// it, and every other op alone.
    pub fn units(&self, program: &Program, range: std::ops::Range<usize>) -> Vec<Unit> {
        let planned = program.ops.len() == self.planned_ops;
        let mut units = Vec::new();
        let mut i = range.start;
        while i < range.end {
            let step = self.steps.binary_search_by_key(&i, |s| s.first).ok();
            let product = self.products.binary_search_by_key(&i, |s| s.first).ok();
            let fits = |len: usize| planned && i + len <= range.end;
            match (step, product) {
                (Some(s), _) if fits(self.steps[s].group_end - i) => {
                    units.push(Unit::Conv(s));
                    i += self.steps[s].len;
                }
                (_, Some(s)) if fits(ProductStep::LEN) => {
                    units.push(Unit::Product(s));
                    i += ProductStep::LEN;
                }
                _ => {
                    units.push(Unit::Op(i));
                    i += 1;
                }
            }
        }
        units
    }

    /// The op a unit's time is charged to: the op itself, or a step's product.
    pub fn unit_op(&self, unit: Unit) -> usize {
        match unit {
            Unit::Op(i) => i,
            Unit::Conv(s) => self.steps[s].product(),
            Unit::Product(s) => self.products[s].first,
        }
    }

    pub fn write(&mut self, view: View, data: &[u32]) {
        assert_eq!(view.len, data.len(), "write size mismatch");
        self.storage[view.buf.0][view.offset..view.offset + view.len].copy_from_slice(data);
    }

    pub fn write_f32(&mut self, view: View, data: &[f32]) {
        self.write(view, bytemuck::cast_slice(data));
    }

    pub fn read(&self, view: View) -> Vec<u32> {
        self.storage[view.buf.0][view.offset..view.offset + view.len].to_vec()
    }

    pub fn read_f32(&self, view: View) -> Vec<f32> {
        bytemuck::cast_slice(&self.read(view)).to_vec()
    }

    /// Runs every op of `program` in order.
    pub fn run(&mut self, program: &Program) {
        self.run_range(program, 0..program.ops.len());
    }

    pub fn run_range(&mut self, program: &Program, range: Range<usize>) {
        if par::threads() == 1 || self.in_order {
            for unit in self.units(program, range) {
                self.run_unit(program, unit);
            }
            return;
        }
        let key = (range.start, range.end);
        let graph = match self.graphs.get(&key) {
            Some(g) => Arc::clone(g),
            None => {
                let g = Arc::new(self.graph(program, range));
                self.graphs.insert(key, Arc::clone(&g));
                g
            }
        };
        let raw = raw_buffers(&mut self.storage);
        let run = GraphRun {
            program,
            steps: &self.steps,
            products: &self.products,
            raw: &raw,
            graph: &graph,
            waiting: graph.preds.iter().map(|&p| AtomicUsize::new(p)).collect(),
        };
        rayon::scope(|s| {
            for (i, _) in graph.preds.iter().enumerate().filter(|(_, &p)| p == 0) {
                let run = &run;
                s.spawn(move |s| run.go(s, i));
            }
        });
    }

    /// The units of `range` with, for each, the later units that wait for it and how many
    /// earlier ones it waits for: every pair whose bindings overlap in a buffer, one writing.
    fn graph(&self, program: &Program, range: Range<usize>) -> Graph {
        let units = self.units(program, range);
        let mut dependents = vec![Vec::new(); units.len()];
        let mut preds = vec![0; units.len()];
        // Per buffer, every earlier unit's (unit, region, writes).
        let mut seen: HashMap<usize, Vec<(usize, Range<usize>, bool)>> = HashMap::new();
        for (j, &unit) in units.iter().enumerate() {
            let bindings = unit_bindings(program, &self.steps, &self.products, unit);
            let mut before = Vec::new();
            for (v, a) in &bindings {
                let writes = *a == Access::Write;
                let region = v.offset..v.offset + v.len;
                for (i, r, w) in seen.get(&v.buf.0).into_iter().flatten() {
                    if (writes || *w) && r.start < region.end && region.start < r.end {
                        before.push(*i);
                    }
                }
            }
            before.sort_unstable();
            before.dedup();
            for &i in &before {
                dependents[i].push(j);
            }
            preds[j] = before.len();
            for (v, a) in bindings {
                let entry = (j, v.offset..v.offset + v.len, a == Access::Write);
                seen.entry(v.buf.0).or_default().push(entry);
            }
        }
        Graph {
            units,
            dependents,
            preds,
        }
    }

    pub fn run_unit(&mut self, program: &Program, unit: Unit) {
        let raw = raw_buffers(&mut self.storage);
        // SAFETY: `&mut self` keeps every other use of the buffers out while the unit runs.
        unsafe { run_unit_raw(program, &self.steps, &self.products, &raw, unit) };
    }
}

/// The units of a range and the order they must keep (`CpuProgram::graph`).
struct Graph {
    units: Vec<Unit>,
    /// The units that wait for each one.
    dependents: Vec<Vec<usize>>,
    /// How many units each waits for.
    preds: Vec<usize>,
}

/// One run of a graph: each unit, once the last unit it waits for is done, is spawned on the
/// pool, and spawns in turn the units it was the last wait of.
struct GraphRun<'a> {
    program: &'a Program,
    steps: &'a [ConvStep],
    products: &'a [ProductStep],
    raw: &'a [Raw],
    graph: &'a Graph,
    waiting: Vec<AtomicUsize>,
}

impl<'a> GraphRun<'a> {
    fn go<'s>(&'s self, scope: &rayon::Scope<'s>, i: usize)
    where
        'a: 's,
    {
        let unit = self.graph.units[i];
        // SAFETY: every unit whose bindings overlap this one's, either writing, is done (it was
        // waited for) or waits for this one, so no region this unit writes is touched, and no
        // region it reads is written, by another thread while it runs.
        unsafe { run_unit_raw(self.program, self.steps, self.products, self.raw, unit) };
        for &d in &self.graph.dependents[i] {
            // AcqRel: the dependent's thread sees every write of each unit it waited for.
            if self.waiting[d].fetch_sub(1, Ordering::AcqRel) == 1 {
                scope.spawn(move |s| self.go(s, d));
            }
        }
    }
}

/// A buffer's words as a pointer and a length, so that units running at once can each borrow
/// the regions they bind.
#[derive(Clone, Copy)]
struct Raw {
    ptr: *mut u32,
    len: usize,
}

// SAFETY: a `Raw` is only dereferenced by `run_unit_raw`, whose callers keep the regions that
// units on different threads borrow apart.
unsafe impl Send for Raw {}
unsafe impl Sync for Raw {}

fn raw_buffers(storage: &mut [Vec<u32>]) -> Vec<Raw> {
    storage
        .iter_mut()
        .map(|b| Raw {
            ptr: b.as_mut_ptr(),
            len: b.len(),
        })
        .collect()
}

fn unit_bindings(
    program: &Program,
    steps: &[ConvStep],
    products: &[ProductStep],
    unit: Unit,
) -> Vec<(View, Access)> {
    match unit {
        Unit::Op(i) => program.ops[i].bindings.clone(),
        Unit::Conv(s) => steps[s].bindings(),
        Unit::Product(s) => products[s].bindings(),
    }
}

/// Runs one unit on the buffers `raw` points into.
///
/// # Safety
/// While it runs, no other thread may touch a region the unit writes, nor write a region it
/// reads, and the buffers must outlive the call.
unsafe fn run_unit_raw(
    program: &Program,
    steps: &[ConvStep],
    products: &[ProductStep],
    raw: &[Raw],
    unit: Unit,
) {
    match unit {
        Unit::Op(i) => {
            let op = &program.ops[i];
            let f = op.kernel.cpu();
            run_bound(raw, |io| f(&op.params, io), &op.bindings);
        }
        Unit::Conv(s) => {
            let step = steps[s];
            run_bound(raw, |io| step.run(io), &step.bindings());
        }
        Unit::Product(s) => {
            let step = products[s];
            run_bound(raw, |io| step.run(io), &step.bindings());
        }
    }
}

/// `f` on slices of the bound regions. A read of a region that one of the same op's writes
/// overlaps reads a copy taken before the op runs; two overlapping writes are a bug.
///
/// # Safety
/// As [`run_unit_raw`].
unsafe fn run_bound(raw: &[Raw], f: impl FnOnce(&mut CpuIo), bindings: &[(View, Access)]) {
    let overlap = |a: &View, b: &View| {
        a.buf == b.buf && a.offset < b.offset + b.len && b.offset < a.offset + a.len
    };
    let writes = || bindings.iter().filter(|(_, a)| *a == Access::Write);
    for (i, (v, _)) in writes().enumerate() {
        let clash = writes().skip(i + 1).any(|(w, _)| overlap(v, w));
        assert!(!clash, "overlapping write bindings in one op");
    }
    let at = |v: &View| {
        let b = raw[v.buf.0];
        assert!(v.offset + v.len <= b.len, "binding past its buffer");
        b.ptr.add(v.offset)
    };
    let copies: Vec<Option<Vec<u32>>> = bindings
        .iter()
        .map(|(v, a)| {
            let written = writes().any(|(w, _)| overlap(v, w));
            (*a == Access::Read && written)
                .then(|| std::slice::from_raw_parts(at(v), v.len).to_vec())
        })
        .collect();
    let slots = bindings
        .iter()
        .zip(&copies)
        .map(|((v, a), copy)| match (a, copy) {
            (Access::Read, Some(c)) => Slot::Read(c.as_slice()),
            (Access::Read, None) => Slot::Read(std::slice::from_raw_parts(at(v), v.len)),
            (Access::Write, _) => Slot::Write(std::slice::from_raw_parts_mut(at(v), v.len)),
        })
        .collect();
    f(&mut CpuIo::new(slots));
}

/// What `CpuProgram` runs at once: one op, a fused conv step (an index into its steps) or a
/// product with its activation (an index into its product steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Op(usize),
    Conv(usize),
    Product(usize),
}

//! The CPU executor: a program's buffers in host memory, and the replay of its ops with the CPU
//! twins (`kernels::Kernel::cpu`).

use super::cpu_conv::{self, ConvStep};
use super::cpu_fuse::{self, ProductStep};
use crate::cpu::{CpuIo, Slot};
use crate::kernels::Access;
use crate::program::{BufId, Program, View};

/// A program's buffers in host memory, and the replay of its ops with the CPU twins.
pub struct CpuProgram {
    pub storage: Vec<Vec<u32>>,
    /// The conv lowerings run a block of samples at a time (`cpu_conv`), in op order, and the number of
    /// ops of the program they were planned on.
    steps: Vec<ConvStep>,
    /// Products run with the activation after them (`cpu_fuse`), in op order.
    products: Vec<ProductStep>,
    planned_ops: usize,
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
                (Some(s), _) if fits(self.steps[s].len) => {
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

    pub fn run_range(&mut self, program: &Program, range: std::ops::Range<usize>) {
        for unit in self.units(program, range) {
            self.run_unit(program, unit);
        }
    }

    pub fn run_unit(&mut self, program: &Program, unit: Unit) {
        match unit {
            Unit::Op(i) => {
                let op = &program.ops[i];
                let f = op.kernel.cpu();
                self.run_op(|io| f(&op.params, io), &op.bindings);
            }
            Unit::Conv(s) => {
                let step = self.steps[s];
                self.run_op(|io| step.run(io), &step.bindings());
            }
            Unit::Product(s) => {
                let step = self.products[s];
                self.run_op(|io| step.run(io), &step.bindings());
            }
        }
    }

    fn run_op(&mut self, f: impl FnOnce(&mut CpuIo), bindings: &[(View, Access)]) {
        // Take every written buffer out of storage so that reads can borrow the rest.
        let mut written: Vec<(BufId, Vec<u32>)> = Vec::new();
        for (v, a) in bindings {
            if *a == Access::Write && !written.iter().any(|(b, _)| *b == v.buf) {
                written.push((v.buf, std::mem::take(&mut self.storage[v.buf.0])));
            }
        }
        // A read of a buffer that is also written (disjoint regions) reads from a copy.
        let copies: Vec<Option<Vec<u32>>> = bindings
            .iter()
            .map(|(v, a)| {
                (*a == Access::Read)
                    .then(|| written.iter().find(|(b, _)| *b == v.buf))
                    .flatten()
                    .map(|(_, data)| data[v.offset..v.offset + v.len].to_vec())
            })
            .collect();
        {
            let mut write_slices = split_writes(&mut written, bindings);
            let slots = bindings
                .iter()
                .enumerate()
                .map(|(i, (v, a))| match (a, &copies[i]) {
                    (Access::Read, Some(c)) => Slot::Read(c.as_slice()),
                    (Access::Read, None) => {
                        Slot::Read(&self.storage[v.buf.0][v.offset..v.offset + v.len])
                    }
                    (Access::Write, _) => Slot::Write(write_slices[i].take().expect("write slice")),
                })
                .collect();
            f(&mut CpuIo::new(slots));
        }
        for (b, data) in written {
            self.storage[b.0] = data;
        }
    }
}

/// What `CpuProgram` runs at once: one op, a fused conv step (an index into its steps) or a
/// product with its activation (an index into its product steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Op(usize),
    Conv(usize),
    Product(usize),
}

/// Disjoint mutable slices for every write binding, indexed like `bindings`.
fn split_writes<'a>(
    written: &'a mut [(BufId, Vec<u32>)],
    bindings: &[(View, Access)],
) -> Vec<Option<&'a mut [u32]>> {
    let mut out: Vec<Option<&'a mut [u32]>> = (0..bindings.len()).map(|_| None).collect();
    for (buf, data) in written.iter_mut() {
        let mut regions: Vec<(usize, View)> = bindings
            .iter()
            .enumerate()
            .filter(|(_, (v, a))| *a == Access::Write && v.buf == *buf)
            .map(|(i, (v, _))| (i, *v))
            .collect();
        regions.sort_by_key(|(_, v)| v.offset);
        let mut rest: &'a mut [u32] = data.as_mut_slice();
        let mut base = 0;
        for (i, v) in regions {
            assert!(v.offset >= base, "overlapping write bindings in one op");
            let (_, tail) = rest.split_at_mut(v.offset - base);
            let (mine, tail) = tail.split_at_mut(v.len);
            out[i] = Some(mine);
            rest = tail;
            base = v.offset + v.len;
        }
    }
    out
}

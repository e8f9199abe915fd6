//! A program is a recorded list of kernel calls on named buffers. The model and the training
//! schedule are written once against this list; `gpu::GpuProgram` replays it as WGSL dispatches
//! and `exec::CpuProgram` replays it with the CPU twins (the vello pattern: one recording, two
//! executors). Building a program allocates nothing on a device.

use crate::kernels::{Access, Kernel};

/// Storage-binding offsets must be 256-byte aligned on every backend, so every view starts at a
/// multiple of 64 words.
pub const VIEW_ALIGN: usize = 64;

pub fn align_up(n: usize) -> usize {
    n.div_ceil(VIEW_ALIGN) * VIEW_ALIGN
}

/// Index of a buffer inside a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufId(pub usize);

/// A contiguous range of 32-bit words inside a buffer: a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    pub buf: BufId,
    pub offset: usize,
    pub len: usize,
}

#[derive(Clone, Debug)]
pub struct BufferDesc {
    pub name: String,
    /// Length in 32-bit words.
    pub words: usize,
    /// Contents at plan time, a prefix of the buffer (the rest is zero): both executors start
    /// the buffer with it.
    pub init: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct OpCall {
    pub kernel: Kernel,
    /// The kernel's uniform parameter struct, as 32-bit words.
    pub params: Vec<u32>,
    pub bindings: Vec<(View, Access)>,
    pub workgroups: [u32; 3],
    /// Phase of the iteration (`D real`, `G 1`, ...): one compute pass per phase on the GPU.
    pub phase: String,
    /// `layer / op`, shown by GPU debuggers.
    pub label: String,
}

/// A growable set of buffers plus the ops recorded on them.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub buffers: Vec<BufferDesc>,
    pub ops: Vec<OpCall>,
    phase: String,
    /// A one-word buffer bound where a kernel has an optional input that is absent.
    dummy: Option<View>,
}

impl Program {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new buffer holding exactly one tensor of `len` words.
    pub fn tensor(&mut self, name: &str, len: usize) -> View {
        let buf = BufId(self.buffers.len());
        self.buffers.push(BufferDesc {
            name: name.to_string(),
            words: len.max(1),
            init: Vec::new(),
        });
        View {
            buf,
            offset: 0,
            len,
        }
    }

    /// A new buffer holding `data` from plan time on (uniform-like values a kernel reads from
    /// storage, such as a fixed learning rate).
    pub fn constant(&mut self, name: &str, data: &[u32]) -> View {
        let v = self.tensor(name, data.len());
        self.buffers[v.buf.0].init = data.to_vec();
        v
    }

    /// A buffer that tensors are carved from with `Arena::take`; its size is fixed by `finish`.
    pub fn arena(&mut self, name: &str) -> Arena {
        let buf = BufId(self.buffers.len());
        self.buffers.push(BufferDesc {
            name: name.to_string(),
            words: 0,
            init: Vec::new(),
        });
        Arena { buf, used: 0 }
    }

    pub fn finish_arena(&mut self, arena: &Arena) {
        self.buffers[arena.buf.0].words = arena.used.max(1);
    }

    pub fn dummy(&mut self) -> View {
        if let Some(v) = self.dummy {
            return v;
        }
        let v = self.tensor("dummy", 1);
        self.dummy = Some(v);
        v
    }

    pub fn set_phase(&mut self, phase: &str) {
        self.phase = phase.to_string();
    }

    pub fn push(
        &mut self,
        kernel: Kernel,
        params: &[u32],
        bindings: Vec<(View, Access)>,
        workgroups: [u32; 3],
        label: &str,
    ) {
        debug_assert_eq!(bindings.len(), kernel.bindings().len(), "{kernel:?}");
        self.ops.push(OpCall {
            kernel,
            params: params.to_vec(),
            bindings,
            workgroups,
            phase: self.phase.clone(),
            label: label.to_string(),
        });
    }

    pub fn buffer_name(&self, v: View) -> &str {
        &self.buffers[v.buf.0].name
    }
}

/// Carves 64-word-aligned tensors out of one buffer (flat parameter storage).
#[derive(Clone, Debug)]
pub struct Arena {
    pub buf: BufId,
    pub used: usize,
}

impl Arena {
    pub fn take(&mut self, len: usize) -> View {
        let v = View {
            buf: self.buf,
            offset: self.used,
            len,
        };
        self.used += align_up(len.max(1));
        v
    }

    /// The whole arena as one view, for flat updates (Adam).
    pub fn whole(&self) -> View {
        View {
            buf: self.buf,
            offset: 0,
            len: self.used,
        }
    }
}

/// Workgroup counts for `n` invocations of `size` each, split over y when x would exceed the
/// 65,535-per-dimension limit. Shaders rebuild the linear index from `num_workgroups`.
pub fn grid_1d(n: usize, size: u32) -> [u32; 3] {
    let groups = n.div_ceil(size as usize).max(1) as u32;
    if groups <= 65_535 {
        [groups, 1, 1]
    } else {
        let y = groups.div_ceil(65_535);
        [groups.div_ceil(y), y, 1]
    }
}

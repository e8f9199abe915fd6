//! The CPU twins of the shaders (same names as the WGSL entry points). The twins are the
//! reference the GPU is tested against, and the `--device cpu` training path; they are leaf code
//! that knows nothing of programs or executors (`exec::CpuProgram` replays a program with them).

pub mod activation;
pub mod adam;
pub mod augment;
pub mod batch_norm;
pub mod batch_norm_act;
mod channel_sums;
pub mod columns;
pub mod condition;
pub mod conv2d;
pub mod conv3d;
pub mod conv_direct;
pub mod conv_transpose2d;
pub mod elementwise;
pub mod frames;
pub mod gemm;
pub mod gru;
pub mod hinge;
pub mod im2col;
pub mod image_pool;
pub mod instance_norm;
pub mod loss;
pub mod matmul;
pub mod matmul_fused;
pub mod moving_mnist;
pub mod par;
pub mod permute;
pub mod pixel_shuffle;
pub mod pool;
pub mod prelu;
pub mod random;
pub mod reduce;
pub mod reflect_pad;
pub mod spectral_norm;
pub mod stream;
pub mod upsample;

/// The slices bound to one op, in binding order. Read bindings are shared borrows of the program
/// storage; write bindings are taken out for the op's duration.
pub struct CpuIo<'a> {
    slots: Vec<Slot<'a>>,
}

/// One bound slice, as the executor hands it to a twin.
pub enum Slot<'a> {
    Read(&'a [u32]),
    Write(&'a mut [u32]),
    Taken,
}

impl<'a> CpuIo<'a> {
    pub fn new(slots: Vec<Slot<'a>>) -> Self {
        Self { slots }
    }

    pub fn u32(&self, i: usize) -> &'a [u32] {
        match self.slots[i] {
            Slot::Read(s) => s,
            _ => panic!("binding {} is not a read binding", i + 1),
        }
    }

    pub fn f32(&self, i: usize) -> &'a [f32] {
        bytemuck::cast_slice(self.u32(i))
    }

    pub fn u32_mut(&mut self, i: usize) -> &'a mut [u32] {
        match std::mem::replace(&mut self.slots[i], Slot::Taken) {
            Slot::Write(s) => s,
            _ => panic!("binding {} is not a write binding", i + 1),
        }
    }

    pub fn f32_mut(&mut self, i: usize) -> &'a mut [f32] {
        bytemuck::cast_slice_mut(self.u32_mut(i))
    }
}

/// Decodes a kernel's uniform words into its `#[repr(C)]` parameter struct.
pub fn params<P: bytemuck::Pod>(words: &[u32]) -> P {
    bytemuck::pod_read_unaligned(&bytemuck::cast_slice(words)[..std::mem::size_of::<P>()])
}

/// Encodes a parameter struct as uniform words.
pub fn words<P: bytemuck::Pod>(p: &P) -> Vec<u32> {
    bytemuck::cast_slice(std::slice::from_ref(p)).to_vec()
}

//! wgpu-gan: GAN training where every tensor op is a WGSL compute shader run through wgpu, with a
//! CPU twin for each shader that the tests hold it to.

pub mod checkpoint;
pub mod cpu;
pub mod data;
pub mod eval;
pub mod exec;
pub mod gpu;
pub mod io;
pub mod kernels;
pub mod lr;
pub mod models;
pub mod nn;
pub mod ops;
pub mod profile;
pub mod program;
pub mod run_lock;
pub mod sample;
pub mod sample_file;
pub mod score;
pub mod train;
pub mod translate;
pub mod upscale;

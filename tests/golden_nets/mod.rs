//! Shared by tests/srgan.rs and tests/cyclegan.rs: a golden safetensors file, nets loaded from
//! its `init.*` tensors, and the comparison at the golden tolerance.
#![allow(dead_code)]

use crate::common::*;
use safetensors::SafeTensors;
use wgpu_gan::exec::Executor;
use wgpu_gan::nn::{ArenaKind, Net};
use wgpu_gan::program::View;

/// The golden files' tolerance: |a - b| <= 1e-5 + 1e-4 |ref|.
pub const ABS: f32 = 1e-5;
pub const REL: f32 = 1e-4;

pub struct Golden {
    bytes: Vec<u8>,
}

impl Golden {
    pub fn load(name: &str) -> Self {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        Self {
            bytes: std::fs::read(path).expect("fixture"),
        }
    }

    pub fn get(&self, name: &str) -> Vec<f32> {
        let st = SafeTensors::deserialize(&self.bytes).expect("safetensors");
        let t = st
            .tensor(name)
            .unwrap_or_else(|_| panic!("fixture has no {name}"));
        t.data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

/// Writes `init.<prefix>.<name>` into every parameter and running statistic of `net`.
pub fn load_net(exec: &mut dyn Executor, gold: &Golden, net: &Net) {
    load_stage(exec, gold, net, "init");
}

/// Writes `<stage>.<prefix>.<name>` into every parameter and running statistic of `net`.
pub fn load_stage(exec: &mut dyn Executor, gold: &Golden, net: &Net, stage: &str) {
    for t in &net.tensors {
        let data = gold.get(&format!("{stage}.{}.{}", net.prefix, t.name));
        assert_eq!(data.len(), t.len, "{}.{}", net.prefix, t.name);
        exec.write_f32(net.view(t, ArenaKind::Params), &data);
    }
}

/// `v` against golden tensor `key`.
pub fn check(exec: &dyn Executor, gold: &Golden, v: View, key: &str, who: &str) {
    let got = exec.read_f32(v).unwrap();
    assert_close(&format!("{who} {key}"), &got, &gold.get(key), ABS, REL);
}

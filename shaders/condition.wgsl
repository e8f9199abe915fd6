// Class conditioning (cgan): a one-hot label appended to each row of a row-major batch.
//   concat_one_hot_forward   x(1) (B, F), labels(2) (B) as f32 -> out(3) (B, F + C)
//     out[b] = [x[b], one_hot(labels[b], C)]     torch: cat([x, F.one_hot(y, C).float()], 1)
//   concat_one_hot_backward  dout(1) (B, F + C) -> dx(3) (B, F)
//     dx[b] = dout[b, :F]: the label columns are constants and take no gradient.
// Labels are integers stored as f32; one outside [0, C) gives an all-zero code (the host checks
// dataset labels, so it does not happen in training). One invocation per output element.

struct Params { batch: u32, features: u32, classes: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}

@compute @workgroup_size(64)
fn concat_one_hot_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    let width = p.features + p.classes;
    if i >= p.batch * width { return; }
    let b = i / width;
    let j = i % width;
    if j < p.features {
        dst[i] = src[b * p.features + j];
    } else {
        dst[i] = select(0.0, 1.0, f32(j - p.features) == labels[b]);
    }
}

@compute @workgroup_size(64)
fn concat_one_hot_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.batch * p.features { return; }
    let b = i / p.features;
    let j = i % p.features;
    dst[i] = src[b * (p.features + p.classes) + j];
}

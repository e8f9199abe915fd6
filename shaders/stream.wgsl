// The batch gather of a streamed dataset (train::stream): the host draws the same samples as
// random.wgsl's gather_batch (Philox, stream lane 1) and stages their bytes, in draw order, into
// one of two slots of a ring; this kernel reads them back in order.
//   gather_streamed  counters(1) cursor(2) ring(3) -> x(4) y(5)
//     cursor = [ring slot of this submission, counter value of its first iteration, gathers
//     per iteration]; a slot holds the rows of image_len bytes of each iteration staged, gather
//     by gather (this one is number `input`), then one label byte per row from byte labels_at;
//     bytes are packed little-endian into u32 words.
//     x = (v - 127.5) / 127.5 as gather_batch scales it; y receives the label as f32.
// One invocation per output element; the host guarantees the iteration is staged.

struct Params { n: u32, image_len: u32, batch: u32, slot: u32, slot_words: u32, labels_at: u32, input: u32, stream: u32, seed_lo: u32, seed_hi: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> counters: array<u32>;
@group(0) @binding(2) var<storage, read> cursor: array<u32>;
@group(0) @binding(3) var<storage, read> ring: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> out_labels: array<f32>;

fn byte_at(k: u32) -> u32 {
    return (ring[k / 4u] >> (8u * (k & 3u))) & 0xffu;
}

@compute @workgroup_size(64)
fn gather_streamed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.n { return; }
    let row = i / p.image_len;
    let col = i % p.image_len;
    // Which iteration of the submission: the program increments counters[slot] once each.
    let pos = ((counters[p.slot] - cursor[1]) * cursor[2] + p.input) * p.batch + row;
    let base = cursor[0] * p.slot_words * 4u;
    out[i] = (f32(byte_at(base + pos * p.image_len + col)) - 127.5) / 127.5;
    if col == 0u {
        out_labels[row] = f32(byte_at(base + p.labels_at + pos));
    }
}

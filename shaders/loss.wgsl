// Losses on a flat batch of n predictions against one constant target (GAN labels).
//   bce_with_logits  logits(1) -> grad(2), metrics(3)   torch: F.binary_cross_entropy_with_logits
//   mse_loss         pred(1)   -> grad(2), metrics(3)   torch: F.mse_loss (LSGAN)
//   softmax_cross_entropy  logits(1) (n, classes), labels(4) (n) -> grad(2), metrics(3)
//                                    torch: F.cross_entropy (labels hold class indices as f32;
//                                    accuracy counts argmax == label)
// Both use mean reduction; grad is d(scale * loss)/d(input). metrics[slot .. slot+3] accumulate
// (loss, accuracy, count) so the host reads averages only at logging points; accuracy counts
// predictions on the target's side of the decision boundary (logit > 0, or pred > 0.5).
// Strategy: one invocation per element writes its gradient; invocation 0 also sums the whole
// batch in index order (n is a batch size), which keeps the loss deterministic without barriers.

struct Params { n: u32, slot: u32, flags: u32, target_value: f32, scale: f32, classes: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(4) var<storage, read> labels: array<f32>;

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

fn bce_term(x: f32, t: f32) -> f32 {
    return max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
}

fn record(loss_sum: f32, correct: f32) {
    let n = f32(p.n);
    metrics[p.slot] += loss_sum / n;
    metrics[p.slot + 1u] += correct / n;
    metrics[p.slot + 2u] += 1.0;
}

@compute @workgroup_size(64)
fn bce_with_logits(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let t = p.target_value;
    grad[i] = (sigmoid(pred[i]) - t) / f32(p.n) * p.scale;
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            loss += bce_term(pred[j], t);
            correct += select(0.0, 1.0, (pred[j] > 0.0) == (t > 0.5));
        }
        record(loss, correct);
    }
}

@compute @workgroup_size(64)
fn mse_loss(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let t = p.target_value;
    grad[i] = 2.0 * (pred[i] - t) / f32(p.n) * p.scale;
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            let d = pred[j] - t;
            loss += d * d;
            correct += select(0.0, 1.0, (pred[j] > 0.5) == (t > 0.5));
        }
        record(loss, correct);
    }
}

// Row i's loss and (argmax == label) as (loss, correct).
fn cross_entropy_row(i: u32) -> vec2<f32> {
    let base = i * p.classes;
    let label = u32(labels[i]);
    var top = pred[base];
    var arg = 0u;
    for (var c = 1u; c < p.classes; c++) {
        if pred[base + c] > top {
            top = pred[base + c];
            arg = c;
        }
    }
    var sum = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        sum += exp(pred[base + c] - top);
    }
    return vec2<f32>(top + log(sum) - pred[base + label], select(0.0, 1.0, arg == label));
}

// One invocation per row; invocation 0 also sums every row's loss in order.
@compute @workgroup_size(64)
fn softmax_cross_entropy(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let base = i * p.classes;
    let label = u32(labels[i]);
    var top = pred[base];
    for (var c = 1u; c < p.classes; c++) {
        top = max(top, pred[base + c]);
    }
    var sum = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        sum += exp(pred[base + c] - top);
    }
    for (var c = 0u; c < p.classes; c++) {
        let prob = exp(pred[base + c] - top) / sum;
        grad[base + c] = (prob - select(0.0, 1.0, c == label)) / f32(p.n) * p.scale;
    }
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            let r = cross_entropy_row(j);
            loss += r.x;
            correct += r.y;
        }
        record(loss, correct);
    }
}

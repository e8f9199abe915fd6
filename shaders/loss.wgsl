// Losses on a batch of n rows of predictions; every loss reads and writes its own columns of a
// row of `stride` values starting at column `offset`, so one network output can carry several
// heads (ACGAN's class logits, InfoGAN's code predictions) beside the real/fake logit.
//   bce_with_logits  logits(1) -> grad(2), metrics(3)   torch: F.binary_cross_entropy_with_logits
//   mse_loss         pred(1)   -> grad(2), metrics(3)   torch: F.mse_loss (LSGAN; InfoGAN codes)
//     `classes` columns per row, against target_value, or with flags & TARGETS against
//     targets(4) (n, classes)
//   softmax_cross_entropy  logits(1) (n, classes), labels(4) (n) -> grad(2), metrics(3)
//                                    torch: F.cross_entropy (labels hold class indices as f32;
//                                    accuracy counts argmax == label)
//   l1_loss          pred(1), targets(4) (n, classes) -> grad(2), metrics(3)   torch: F.l1_loss
//                                    (the gradient of |x - t| at x = t is 0, as PyTorch's;
//                                    accuracy counts |pred - target| < 0.5)
//   wasserstein_loss  critic(1) -> grad(2), metrics(3)   WGAN: -mean(critic) for target 1
//                                    (reals, and G's fakes), +mean(critic) for target 0
//   gradient_penalty  g(1) (n, classes) -> grad(2), metrics(3)   WGAN-GP:
//     target_value * mean_b (|g_b| - 1)^2, g_b the critic's input gradient at sample b
// All use mean reduction; grad is d(scale * loss)/d(input). metrics[slot .. slot+3] accumulate
// (loss, accuracy, count) so the host reads averages only at logging points; accuracy counts
// predictions on the target's side of the decision boundary (logit > 0, or pred > 0.5; for
// code targets |pred - target| < 0.5; for the penalty |g| within 0.1 of 1).
// Strategy: one invocation per row writes its gradient; invocation 0 also sums the whole
// batch in index order (n is a batch size), which keeps the loss deterministic without barriers.

struct Params {
    n: u32, slot: u32, flags: u32, target_value: f32,
    scale: f32, classes: u32, stride: u32, offset: u32,
}

const TARGETS: u32 = 1u;

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(4) var<storage, read> labels: array<f32>;

fn at(i: u32, c: u32) -> u32 {
    return i * p.stride + p.offset + c;
}

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

fn record(loss_sum: f32, correct: f32, count: f32) {
    metrics[p.slot] += loss_sum / count;
    metrics[p.slot + 1u] += correct / count;
    metrics[p.slot + 2u] += 1.0;
}

@compute @workgroup_size(64)
fn bce_with_logits(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let t = p.target_value;
    grad[at(i, 0u)] = (sigmoid(pred[at(i, 0u)]) - t) / f32(p.n) * p.scale;
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            let x = pred[at(j, 0u)];
            loss += bce_term(x, t);
            correct += select(0.0, 1.0, (x > 0.0) == (t > 0.5));
        }
        record(loss, correct, f32(p.n));
    }
}

fn mse_target(i: u32, c: u32) -> f32 {
    if (p.flags & TARGETS) != 0u {
        return labels[i * p.classes + c];
    }
    return p.target_value;
}

fn mse_hit(x: f32, t: f32) -> bool {
    if (p.flags & TARGETS) != 0u {
        return abs(x - t) < 0.5;
    }
    return (x > 0.5) == (t > 0.5);
}

// d|d|/dd: -1, 0 or 1 (WGSL's sign, and PyTorch's at 0).
fn l1_grad(d: f32) -> f32 {
    return sign(d);
}

@compute @workgroup_size(64)
fn l1_loss(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let count = f32(p.n * p.classes);
    for (var c = 0u; c < p.classes; c++) {
        let d = pred[at(i, c)] - labels[i * p.classes + c];
        grad[at(i, c)] = l1_grad(d) / count * p.scale;
    }
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            for (var c = 0u; c < p.classes; c++) {
                let d = abs(pred[at(j, c)] - labels[j * p.classes + c]);
                loss += d;
                correct += select(0.0, 1.0, d < 0.5);
            }
        }
        record(loss, correct, count);
    }
}

@compute @workgroup_size(64)
fn mse_loss(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let count = f32(p.n * p.classes);
    for (var c = 0u; c < p.classes; c++) {
        grad[at(i, c)] = 2.0 * (pred[at(i, c)] - mse_target(i, c)) / count * p.scale;
    }
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            for (var c = 0u; c < p.classes; c++) {
                let x = pred[at(j, c)];
                let t = mse_target(j, c);
                loss += (x - t) * (x - t);
                correct += select(0.0, 1.0, mse_hit(x, t));
            }
        }
        record(loss, correct, count);
    }
}

// Row i's loss and (argmax == label) as (loss, correct).
fn cross_entropy_row(i: u32) -> vec2<f32> {
    let label = u32(labels[i]);
    var top = pred[at(i, 0u)];
    var arg = 0u;
    for (var c = 1u; c < p.classes; c++) {
        if pred[at(i, c)] > top {
            top = pred[at(i, c)];
            arg = c;
        }
    }
    var sum = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        sum += exp(pred[at(i, c)] - top);
    }
    return vec2<f32>(top + log(sum) - pred[at(i, label)], select(0.0, 1.0, arg == label));
}

@compute @workgroup_size(64)
fn softmax_cross_entropy(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let label = u32(labels[i]);
    var top = pred[at(i, 0u)];
    for (var c = 1u; c < p.classes; c++) {
        top = max(top, pred[at(i, c)]);
    }
    var sum = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        sum += exp(pred[at(i, c)] - top);
    }
    for (var c = 0u; c < p.classes; c++) {
        let prob = exp(pred[at(i, c)] - top) / sum;
        grad[at(i, c)] = (prob - select(0.0, 1.0, c == label)) / f32(p.n) * p.scale;
    }
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            let r = cross_entropy_row(j);
            loss += r.x;
            correct += r.y;
        }
        record(loss, correct, f32(p.n));
    }
}

@compute @workgroup_size(64)
fn wasserstein_loss(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let real = p.target_value > 0.5;
    let sign = select(1.0, -1.0, real);
    grad[at(i, 0u)] = sign / f32(p.n) * p.scale;
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            let x = pred[at(j, 0u)];
            loss += sign * x;
            correct += select(0.0, 1.0, (x > 0.0) == real);
        }
        record(loss, correct, f32(p.n));
    }
}

// |g_b| with the 1e-12 floor PyTorch implementations add inside the square root.
fn row_norm(i: u32) -> f32 {
    var s = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        let v = pred[at(i, c)];
        s += v * v;
    }
    return sqrt(s + 1e-12);
}

@compute @workgroup_size(64)
fn gradient_penalty(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    let norm = row_norm(i);
    let k = 2.0 * p.target_value * (norm - 1.0) / (norm * f32(p.n)) * p.scale;
    for (var c = 0u; c < p.classes; c++) {
        grad[at(i, c)] = k * pred[at(i, c)];
    }
    if i == 0u {
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            let d = row_norm(j) - 1.0;
            loss += p.target_value * d * d;
            correct += select(0.0, 1.0, abs(d) < 0.1);
        }
        record(loss, correct, f32(p.n));
    }
}

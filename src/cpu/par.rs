//! How the CPU twins spread their work over the cores: rayon's pool (`RAYON_NUM_THREADS` sets
//! its size), the GEMMs included (`cpu::matmul` cuts a product into blocks). Results never
//! depend on the thread count: each piece of work is computed whole by one thread in the serial
//! loop's order, and nothing is summed across pieces.

use rayon::prelude::*;

/// Elements in one piece of elementwise work: fixed, so the split does not follow the threads.
pub const BLOCK: usize = 1 << 14;

/// Words an op must touch before it runs on the pool (a pool hand-off costs a few µs; a word of
/// elementwise work well under a ns).
pub const MIN_PARALLEL: usize = 1 << 16;

/// Threads the twins may use.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// `f(first, chunk)` for the consecutive chunks of `chunk` items of `out` (the last may be
/// shorter), `first` being the index of the chunk's first item; on the pool when `work` words
/// reach `MIN_PARALLEL`, else in order on this thread.
pub fn chunks<T, F>(out: &mut [T], chunk: usize, work: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    let chunk = chunk.max(1);
    if work < MIN_PARALLEL || out.len() <= chunk || threads() == 1 {
        out.chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i * chunk, c));
    } else {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i * chunk, c));
    }
}

/// `f(first, block)` over `out` in blocks of `BLOCK` elements: for elementwise twins, which read
/// their inputs at `first..first + block.len()`.
pub fn blocks<T, F>(out: &mut [T], f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    let work = out.len();
    chunks(out, BLOCK, work, f);
}

/// [`blocks`] for elementwise work of about `cost` simple operations per element (a
/// transcendental function): blocks of BLOCK / cost elements, on the pool from MIN_PARALLEL /
/// cost elements (the seed MLP's tanh over 32 images ran on one thread before).
pub fn costly_blocks<T, F>(out: &mut [T], cost: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    let cost = cost.max(1);
    let work = out.len().saturating_mul(cost);
    chunks(out, (BLOCK / cost).max(1), work, f);
}

/// `f(index, row)` over the whole rows of `row` words of `out` (a shorter tail is left
/// untouched), on the pool when they hold enough words: for reshapes and pooling, which write
/// an output row at a time.
pub fn rows<F>(out: &mut [f32], row: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let size = row.max(1);
    let count = out.len() / size;
    chunks(&mut out[..count * size], size, count * size, |first, c| {
        f(first / size, c)
    });
}

/// A chunk length that cuts `items` into about four pieces per thread (at least one item):
/// for twins whose pieces are channels or planes, where any cut gives the same results.
pub fn per_thread(items: usize) -> usize {
    items.div_ceil(4 * threads()).max(1)
}

/// A thread's scratch slot for [`scratch`].
pub type Slot = std::thread::LocalKey<std::cell::RefCell<Vec<f32>>>;

/// `f` on `len` words of this thread's `slot`, kept between calls (a fresh buffer this size
/// would be mapped and faulted in each time). The buffer is taken out of the slot while `f`
/// runs: work inside `f` runs on the pool, and a thread waiting for it may start other work
/// that wants the same slot, which then finds it empty and makes its own buffer (a slot
/// borrowed across the wait panicked instead: tests/eval.rs failed one run in three).
///
/// The slice starts on a 64-byte line: the GEMM's panels live here, and a vector load that
/// straddles two lines costs two (the kernel ran 170-172 GFLOP/s on a panel 16 bytes off a line,
/// 178-180 on a line, one thread).
pub fn scratch<R>(slot: &'static Slot, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = slot.with(|s| std::mem::take(&mut *s.borrow_mut()));
    if buf.len() < len + LINE_WORDS {
        buf.resize(len + LINE_WORDS, 0.0);
    }
    let at = line_start(&buf);
    let r = f(&mut buf[at..at + len]);
    slot.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < buf.len() {
            *s = buf;
        }
    });
    r
}

/// f32 words in a 64-byte cache line.
pub const LINE_WORDS: usize = 16;

/// The first index of `buf` on a 64-byte line (`buf` must hold LINE_WORDS more than it is
/// used for).
pub fn line_start(buf: &[f32]) -> usize {
    (LINE_WORDS - (buf.as_ptr() as usize / 4) % LINE_WORDS) % LINE_WORDS
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static SLOT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Every scratch slice starts on a 64-byte line and has the length asked for, whether the
    /// slot's buffer is fresh, reused or grown.
    #[test]
    fn scratch_starts_on_a_line() {
        for len in [1, 17, 1000, 5, 70_000, 3] {
            let (at, got) = scratch(&SLOT, len, |s| (s.as_ptr() as usize, s.len()));
            assert_eq!(at % 64, 0, "len {len}");
            assert_eq!(got, len);
        }
    }
}

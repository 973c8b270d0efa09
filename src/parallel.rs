//! An ordered parallel map: work on all cores, results in input order, a bounded window in
//! flight.
//!
//! Reports are independent, so a folder of thousands is read and analysed in parallel; writers
//! need them in the order the inputs were named, and memory must not grow with the folder. Workers
//! (one per core but one) take chunks of items from a bounded queue; the calling thread hands
//! finished chunks to `emit` in order, and works on the oldest queued chunk itself whenever the
//! next one to emit is not finished. At most [`WINDOW`] chunks are between reading and emitting. A
//! panicking worker is re-raised on the calling thread: a bug is never a silently missing result.
//!
//! Used by the analysis pipeline (a few reports per chunk: each hand-over wakes a thread on
//! another core) and by the inventory's head reader (many small reads per chunk: the channel
//! costs more than one read).
//!
//! A window counted in chunks does not bound memory when items are large: 64 reports of 64 MiB
//! are 4 GiB. [`ordered_within`] also weighs each item before it is handed out (a report: its
//! file's size) and keeps the weight between handing out and emitting under a byte budget
//! ([`BYTES_IN_FLIGHT`] for reports). One item over the budget still goes, alone: progress is
//! never blocked, and order and streaming are as before.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, mpsc};

/// How many chunks may be between reading and emitting at once.
pub const WINDOW: usize = 64;

/// The bytes of reports the analysis pipeline keeps between reading and emitting.
pub const BYTES_IN_FLIGHT: u64 = 256 << 20;

/// Applies `work` to every item on all cores and hands the results to `emit` in input order.
/// `chunk` items go to a worker at a time. Stops at the first error `emit` returns.
pub fn ordered<I, T, E>(
    items: impl Iterator<Item = I>,
    chunk: usize,
    work: impl Fn(I) -> T + Sync,
    emit: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E>
where
    I: Send,
    T: Send,
{
    ordered_within(items, chunk, u64::MAX, |_| 0, work, emit)
}

/// [`ordered`], with the items handed out but not yet emitted weighing at most `budget` together,
/// by `weigh` (a report's size in bytes): an item that would go over waits until earlier ones are
/// emitted. When nothing is in flight an item goes whatever it weighs, so one item over the
/// budget is processed alone rather than never.
pub fn ordered_within<I, T, E>(
    items: impl Iterator<Item = I>,
    chunk: usize,
    budget: u64,
    weigh: impl Fn(&I) -> u64,
    work: impl Fn(I) -> T + Sync,
    mut emit: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E>
where
    I: Send,
    T: Send,
{
    let chunk = chunk.max(1);
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .max(1);
    let mut items = items.peekable();
    if threads == 1 {
        for item in items {
            emit(work(item))?;
        }
        return Ok(());
    }
    type Done<T> = (usize, std::thread::Result<Vec<T>>);
    /// A worker's finished chunk, put with those ready to emit; its panic, raised again here.
    fn take<T>(ready: &mut BTreeMap<usize, Vec<T>>, (seq, result): Done<T>) {
        match result {
            Ok(done) => {
                ready.insert(seq, done);
            }
            Err(panic) => resume_unwind(panic),
        }
    }
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Vec<I>)>(WINDOW);
    let (done_tx, done_rx) = mpsc::channel::<Done<T>>();
    let job_rx = Mutex::new(job_rx);
    let work = &work;
    std::thread::scope(|scope| {
        // One thread fewer than the cores: the calling thread works too, when it has nothing to
        // emit (it used to only wait and emit, a third thread on two cores).
        for _ in 1..threads {
            let (job_rx, done_tx) = (&job_rx, done_tx.clone());
            scope.spawn(move || {
                loop {
                    // The lock is held only to take the next job, never while working on it.
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, batch)) = job else { return };
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        batch.into_iter().map(work).collect::<Vec<T>>()
                    }));
                    if done_tx.send((seq, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let (mut sent, mut next) = (0usize, 0usize);
        let mut ready: BTreeMap<usize, Vec<T>> = BTreeMap::new();
        // The weight of each chunk handed out and not yet emitted, by sequence number, and their
        // sum; a chunk taken from `items` that did not fit waits in `held`.
        let mut weights: BTreeMap<usize, u64> = BTreeMap::new();
        let mut in_flight: u64 = 0;
        let mut held: Option<(Vec<I>, u64)> = None;
        let result = loop {
            while sent - next < WINDOW {
                let (batch, weight) = match held.take() {
                    Some(h) => h,
                    None => {
                        let batch: Vec<I> = items.by_ref().take(chunk).collect();
                        let weight = batch.iter().map(&weigh).fold(0u64, u64::saturating_add);
                        (batch, weight)
                    }
                };
                if batch.is_empty() {
                    break;
                }
                if sent > next && in_flight.saturating_add(weight) > budget {
                    held = Some((batch, weight));
                    break;
                }
                if job_tx.send((sent, batch)).is_err() {
                    break;
                }
                weights.insert(sent, weight);
                in_flight = in_flight.saturating_add(weight);
                sent += 1;
            }
            if next == sent {
                break Ok(());
            }
            // What the workers have finished, without waiting.
            while let Ok(done) = done_rx.try_recv() {
                take(&mut ready, done);
            }
            if !ready.contains_key(&next) {
                // Nothing to emit yet: work on the oldest job still queued rather than wait for
                // a worker, and wait only when every job is being worked on. Only tried: a
                // worker waiting for a job holds the lock while the queue is empty (waiting for
                // it would be waiting for the jobs this thread sends), and one taking a job
                // holds it for an instant. The lock is released before the work.
                let job = job_rx.try_lock().ok().and_then(|rx| rx.try_recv().ok());
                match job {
                    Some((seq, batch)) => {
                        ready.insert(seq, batch.into_iter().map(work).collect());
                    }
                    None => {
                        let Ok(done) = done_rx.recv() else {
                            break Ok(());
                        };
                        take(&mut ready, done);
                    }
                }
            }
            let mut failed = None;
            'emit: while let Some(done) = ready.remove(&next) {
                in_flight = in_flight.saturating_sub(weights.remove(&next).unwrap_or(0));
                next += 1;
                for t in done {
                    if let Err(e) = emit(t) {
                        failed = Some(e);
                        break 'emit;
                    }
                }
            }
            if let Some(e) = failed {
                break Err(e);
            }
        };
        // Closing the queue ends the workers.
        drop(job_tx);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order() {
        for chunk in [1, 7, 64] {
            let mut out = Vec::new();
            ordered(
                0..1000u32,
                chunk,
                |i| i * 2,
                |x| {
                    out.push(x);
                    Ok::<(), ()>(())
                },
            )
            .unwrap();
            assert_eq!(
                out,
                (0..1000).map(|i| i * 2).collect::<Vec<_>>(),
                "chunk {chunk}"
            );
        }
    }

    /// C8: what is between handing out and emitting stays under the byte budget, however fast
    /// the workers and slow the first item: it used to be 64 items whatever their size. Weights
    /// stand for megabytes; one item over the budget still goes, alone.
    #[test]
    fn bytes_in_flight_stay_under_the_budget() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let live = AtomicU64::new(0);
        // The most in flight without the oversize item, and with it.
        let (peak, peak_oversize) = (AtomicU64::new(0), AtomicU64::new(0));
        let weight = |i: &u32| if *i == 40 { 100 } else { 10 };
        let mut out = Vec::new();
        ordered_within(
            0..200u32,
            1,
            64,
            weight,
            |i| {
                // Counted from the moment a worker holds the item until it is emitted.
                let now = live.fetch_add(weight(&i), Ordering::SeqCst) + weight(&i);
                if now >= 100 {
                    peak_oversize.fetch_max(now, Ordering::SeqCst);
                } else {
                    peak.fetch_max(now, Ordering::SeqCst);
                }
                if i % 50 == 0 {
                    // A slow item at the head: the others pile up behind it, in order.
                    std::thread::sleep(std::time::Duration::from_millis(30));
                }
                i
            },
            |i| {
                live.fetch_sub(weight(&i), Ordering::SeqCst);
                out.push(i);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(out, (0..200).collect::<Vec<_>>());
        let (peak, peak_oversize) = (peak.into_inner(), peak_oversize.into_inner());
        assert!(peak <= 64, "{peak} in flight, over the budget of 64");
        // The oversize item (100) went, alone.
        assert_eq!(peak_oversize, 100);
    }

    /// The calling thread works too while the next result is not ready, instead of waiting: on
    /// two cores it used to be a third thread that woke for every chunk.
    #[test]
    fn the_calling_thread_works_too() {
        let me = std::thread::current().id();
        let by_me = std::sync::atomic::AtomicUsize::new(0);
        let mut out = Vec::new();
        ordered(
            0..64u32,
            1,
            |i| {
                std::thread::sleep(std::time::Duration::from_millis(2));
                if std::thread::current().id() == me {
                    by_me.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                i
            },
            |i| {
                out.push(i);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(out, (0..64).collect::<Vec<_>>());
        assert!(by_me.into_inner() > 0);
    }

    #[test]
    fn an_emit_error_stops_the_map() {
        let mut seen = 0;
        let result = ordered(
            0..10_000u32,
            1,
            |i| i,
            |x| {
                seen += 1;
                if x == 100 { Err(x) } else { Ok(()) }
            },
        );
        assert_eq!(result, Err(100));
        assert_eq!(seen, 101);
    }

    #[test]
    #[should_panic(expected = "worker bug")]
    fn a_worker_panic_is_raised_again() {
        let _ = ordered(
            0..100u32,
            1,
            |i| {
                if i == 50 {
                    panic!("worker bug");
                }
                i
            },
            |_| Ok::<(), ()>(()),
        );
    }
}

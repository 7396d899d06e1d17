//! Worker threads for the chunks of [`Compiled::run_parallel`](super::Compiled::run_parallel).
//!
//! Started on first use and then kept, blocked on their job queues (using
//! no CPU), for the life of the process: starting a thread per chunk and
//! call costs about as much as running a small kernel, and a training epoch
//! makes a few calls.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};

use super::Call;

/// One job queue per worker thread.
static WORKERS: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

/// How many times (some 10 µs) a caller polls for its chunks to finish
/// before it sleeps: the chunks of a call are about equally long, so the
/// others are usually done within microseconds of the caller's, and waking
/// up from sleep takes longer than that.
const POLLS: u32 = 1 << 10;

/// The chunks of one call that are still running, and who waits for them.
struct Pending {
    count: AtomicUsize,
    caller: Thread,
}

/// Marks a chunk as finished when dropped (also if it unwinds), waking
/// the caller after the last one.
struct Finished(Arc<Pending>);

impl Drop for Finished {
    fn drop(&mut self) {
        // Release: the chunk's stores happen before the caller's acquire.
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.caller.unpark();
        }
    }
}

/// One chunk of a call.
struct Job {
    call: Call,
    points: Range<usize>,
    finished: Finished,
}

impl Job {
    /// Runs the chunk and marks it finished.
    ///
    /// # Safety
    /// As for [`Call::run`].
    unsafe fn run(self) {
        // SAFETY: the contract of `run` below, passed on with the job.
        unsafe { self.call.run(self.points) };
        drop(self.finished);
    }
}

/// A new worker thread and its job queue (`None` if the thread could not
/// be started).
fn start_worker() -> Option<Sender<Job>> {
    let (sender, jobs) = channel::<Job>();
    thread::Builder::new()
        .name("pdec-kernels".into())
        .spawn(move || {
            for job in jobs {
                // SAFETY: whoever queued the job met `run`'s contract and
                // waits for it to finish.
                unsafe { job.run() };
            }
        })
        .ok()?;
    Some(sender)
}

/// Runs `chunks[0]` on the calling thread and the other chunks on worker
/// threads, and returns when all of them have finished.
///
/// # Safety
/// As for [`Call::run`], for every chunk: the call must have passed
/// `Compiled::check` for a range containing each chunk, the chunks must be
/// disjoint, and the slices behind the call's pointers must outlive this
/// function (which waits for every chunk before it returns).
pub(super) unsafe fn run(call: Call, chunks: &[Range<usize>]) {
    let Some((first, others)) = chunks.split_first() else {
        return;
    };
    let pending = Arc::new(Pending {
        count: AtomicUsize::new(others.len()),
        caller: thread::current(),
    });
    let mut here = Vec::new();
    {
        let mut workers = WORKERS.lock().unwrap_or_else(|e| e.into_inner());
        while workers.len() < others.len() {
            match start_worker() {
                Some(worker) => workers.push(worker),
                None => break,
            }
        }
        for (n, points) in others.iter().enumerate() {
            let job = Job {
                call,
                points: points.clone(),
                finished: Finished(Arc::clone(&pending)),
            };
            // A chunk without a worker (that could not be started, or is
            // gone) runs here.
            match workers.get(n) {
                Some(worker) => {
                    if let Err(returned) = worker.send(job) {
                        here.push(returned.0);
                    }
                }
                None => here.push(job),
            }
        }
    }
    // SAFETY: the function's contract.
    unsafe { call.run(first.clone()) };
    for job in here {
        // SAFETY: the function's contract.
        unsafe { job.run() };
    }
    let mut polls = 0;
    // Acquire: every chunk's stores happen before the return.
    while pending.count.load(Ordering::Acquire) != 0 {
        if polls < POLLS {
            polls += 1;
            std::hint::spin_loop();
        } else {
            // Woken by the last chunk (or spuriously: the loop checks).
            thread::park();
        }
    }
}

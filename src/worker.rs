//! Which serving worker the calling thread is.
//!
//! The server runs one worker thread per core, each with its own single-threaded runtime
//! (`host::workers`). What spawns tasks for its own use, such as an Event Hubs connection and its
//! partition lanes, keeps one per worker, so that an invocation never waits on another thread.

use std::cell::Cell;

std::thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// The index of the worker running the calling thread: 0 on any thread that is not a worker.
pub fn current() -> usize {
    CURRENT.with(Cell::get)
}

/// Marks the calling thread as worker `index`.
pub(crate) fn enter(index: usize) {
    CURRENT.with(|current| current.set(index));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_worker_zero_until_it_enters_another() {
        let seen = std::thread::spawn(|| {
            let before = current();
            enter(3);
            (before, current())
        })
        .join()
        .expect("the thread ran");
        assert_eq!(seen, (0, 3));
        assert_eq!(current(), 0, "entering marks only the thread that entered");
    }
}

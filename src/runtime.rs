//! The process's one tokio runtime: built on first use (multi-thread, two
//! workers: cu-roll waits on the network, it does not compute), and the
//! only bridge from synchronous code into async code ([`block_on`]). The
//! WinRM transport runs its connections on it; the orchestration around
//! it (the `Executor` trait, the lab's interpreter, the pool's fan-out) is
//! still synchronous and calls in through [`block_on`] from its own
//! threads. It owns no I/O and no policy of its own; it must never be
//! entered from one of its own workers (that would stall a worker, or
//! panic inside tokio), which [`block_on`] checks.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// Worker threads: enough for the I/O of every connection (they only move
/// bytes and run TLS), few enough to stay small on a 2-core jump host.
const WORKERS: usize = 2;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("cu-roll-io")
            .enable_io()
            .enable_time()
            .build()
            .expect("the tokio runtime starts (it only needs two threads and an epoll)")
    })
}

/// A handle for spawning tasks (a connection's driver) on the runtime.
pub fn handle() -> &'static Handle {
    runtime().handle()
}

/// Runs `future` to completion on the calling thread, its spawned tasks
/// and I/O on the runtime's workers. Callable from any number of threads
/// at once (the pool's workers each drive their own server's calls).
///
/// # Panics
///
/// When called from inside the runtime (an async task): a synchronous wait
/// there would block a worker. No code of cu-roll does; the check keeps it so.
pub fn block_on<F: Future>(future: F) -> F::Output {
    assert!(
        Handle::try_current().is_err(),
        "runtime::block_on called from inside the runtime"
    );
    runtime().block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn several_threads_block_on_at_once() {
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..4 {
                // The timer is made inside the future, where the runtime is.
                s.spawn(|| {
                    block_on(async { tokio::time::sleep(Duration::from_millis(200)).await })
                });
            }
        });
        // Four 200 ms sleeps side by side, not one after another.
        assert!(started.elapsed() < Duration::from_millis(700));
    }

    #[test]
    fn spawned_tasks_run_on_the_workers() {
        let task = handle().spawn(async { std::thread::current().name().map(str::to_owned) });
        let name = block_on(task).expect("the task ran");
        assert_eq!(name.as_deref(), Some("cu-roll-io"));
    }

    #[test]
    #[should_panic(expected = "from inside the runtime")]
    fn entering_from_a_worker_is_refused() {
        let nested = handle().spawn(async { block_on(async {}) });
        if let Err(e) = block_on(nested) {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

//! The process's one tokio runtime: built on first use (multi-thread, two
//! workers: cu-roll waits on the network, it does not compute), the only
//! bridge from synchronous code into async code ([`block_on`]), and the
//! operator's interrupt as the runtime sees it ([`Cancel`]): a step's
//! sleep (on the runtime's timer once the runtime runs) and the WinRM
//! client's waits for a command's answer race it, so an interrupt wakes
//! them at once. The WinRM transport runs its
//! connections on it; the orchestration around it (the `Executor` trait,
//! the lab's interpreter, the pool's fan-out) is still synchronous and
//! calls in through [`block_on`] from its own threads
//! (docs/architecture.md, "Concurrency"). It owns no I/O and no policy of
//! its own (what an interrupt stops is the caller's business); it must
//! never be entered from one of its own workers (that would stall a
//! worker, or panic inside tokio), which [`block_on`] checks.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::watch;

/// Worker threads: enough for the I/O of every connection (they only move
/// bytes and run TLS), few enough to stay small on a 2-core jump host.
const WORKERS: usize = 2;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

fn runtime() -> &'static Runtime {
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

/// A cancellation that futures and threads can wait on: set once (it is
/// never cleared), seen by every clone. [`Cancel::process`] is the one the
/// command layer trips on Ctrl-C or SIGTERM; tests make their own.
#[derive(Clone, Debug)]
pub struct Cancel(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// When it was set, for futures.
    at: watch::Sender<Option<Instant>>,
    /// The same for threads that wait without the runtime.
    set: Mutex<bool>,
    woken: Condvar,
}

/// How long a call begun after the interrupt may still wait for its
/// answer, counted from the interrupt: long enough for the short reads
/// and writes that take a step to its next safe point and for the run's
/// own end (its report, the drift check), short enough that a run which
/// meets a slow command after the signal still stops within seconds.
pub const AFTER_INTERRUPT: Duration = Duration::from_secs(5);

impl Default for Cancel {
    fn default() -> Cancel {
        Cancel::new()
    }
}

impl Cancel {
    /// A cancellation of its own, not yet set.
    pub fn new() -> Cancel {
        Cancel(Arc::new(Inner {
            at: watch::channel(None).0,
            set: Mutex::new(false),
            woken: Condvar::new(),
        }))
    }

    /// The process's: set by the signal handler of `run`
    /// (`commands::interrupt`), never by anything else.
    pub fn process() -> Cancel {
        static PROCESS: OnceLock<Cancel> = OnceLock::new();
        PROCESS.get_or_init(Cancel::new).clone()
    }

    /// Sets it: every wait racing it ends now.
    pub fn cancel(&self) {
        self.0.at.send_if_modified(|at| {
            let first = at.is_none();
            at.get_or_insert_with(Instant::now);
            first
        });
        *self.0.set.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.0.woken.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.at.borrow().is_some()
    }

    /// When it was set.
    fn cancelled_at(&self) -> Option<Instant> {
        *self.0.at.borrow()
    }

    /// Completes once it is set (at once when it already is).
    pub async fn cancelled(&self) {
        let mut seen = self.0.at.subscribe();
        // The sender lives in `self`: the channel cannot close under us.
        let _ = seen.wait_for(Option::is_some).await;
    }

    /// What a call beginning now gives its waits up at (see [`CallWatch`]).
    pub fn watch_call(&self) -> CallWatch {
        CallWatch {
            cancel: self.clone(),
            begun_after: self.is_cancelled(),
        }
    }

    /// `future`'s output, or `None` when this is set first; the future is
    /// then dropped where it stands (whatever it held is released).
    pub async fn race<F: Future>(&self, future: F) -> Option<F::Output> {
        unless(future, self.cancelled()).await
    }

    /// Sleeps `d`, or less when this is set meanwhile (at once); `true`
    /// when it slept the whole time. On the runtime's timer when the
    /// runtime runs (a run over WinRM); else on a condition variable, so a
    /// run that needs no runtime (the in-process lab, the local PowerShell
    /// transport) does not start one for its sleeps: its two threads cost
    /// about 1.5 MiB of peak RSS there (docs/performance.md, "Cancellation").
    pub fn sleep(&self, d: Duration) -> bool {
        if RUNTIME.get().is_some() {
            self.sleep_on_timer(d)
        } else {
            self.sleep_on_condvar(d)
        }
    }

    fn sleep_on_timer(&self, d: Duration) -> bool {
        // The timer is made inside the future, where the runtime is.
        block_on(async { self.race(tokio::time::sleep(d)).await }).is_some()
    }

    fn sleep_on_condvar(&self, d: Duration) -> bool {
        let set = self.0.set.lock().unwrap_or_else(PoisonError::into_inner);
        let (set, _) = self
            .0
            .woken
            .wait_timeout_while(set, d, |set| !*set)
            .unwrap_or_else(PoisonError::into_inner);
        !*set
    }
}

/// When one call (a command and the waits for its answer) gives up: a
/// call begun before the interrupt at the interrupt itself; a call begun
/// after it [`AFTER_INTERRUPT`] after it.
#[derive(Clone, Debug)]
pub struct CallWatch {
    cancel: Cancel,
    begun_after: bool,
}

impl CallWatch {
    /// The moment this call gives up, once the interrupt came.
    fn gives_up_at(&self) -> Option<Instant> {
        let at = self.cancel.cancelled_at()?;
        Some(if self.begun_after {
            at + AFTER_INTERRUPT
        } else {
            at
        })
    }

    /// Whether the call has given up: nothing more is to be sent or
    /// awaited for it.
    pub fn expired(&self) -> bool {
        self.gives_up_at().is_some_and(|t| Instant::now() >= t)
    }

    /// `future`'s output, or `None` once the call gives up first.
    pub async fn race<F: Future>(&self, future: F) -> Option<F::Output> {
        let gives_up = async {
            self.cancel.cancelled().await;
            if let Some(t) = self.gives_up_at() {
                tokio::time::sleep_until(t.into()).await;
            }
        };
        unless(future, gives_up).await
    }
}

/// `future`'s output, or `None` when `stop` completes first (`future` is
/// polled first, so an output ready at once wins).
async fn unless<F: Future, S: Future>(future: F, stop: S) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut stop = pin!(stop);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
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

    /// On the timer and on the condition variable alike.
    #[test]
    fn a_cancel_ends_a_sleep_at_once() {
        for sleep in [Cancel::sleep_on_timer, Cancel::sleep_on_condvar] {
            let cancel = Cancel::new();
            let setter = cancel.clone();
            let started = Instant::now();
            std::thread::scope(|s| {
                s.spawn(move || {
                    std::thread::sleep(Duration::from_millis(50));
                    setter.cancel();
                });
                assert!(!sleep(&cancel, Duration::from_secs(30)));
            });
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
            // Set for good: the next sleep does not begin.
            let again = Instant::now();
            assert!(!sleep(&cancel, Duration::from_secs(30)));
            assert!(again.elapsed() < Duration::from_millis(500));
            // Unset, a sleep lasts its time.
            assert!(sleep(&Cancel::new(), Duration::from_millis(10)));
        }
    }

    #[test]
    fn an_unset_cancel_lets_the_future_finish() {
        let cancel = Cancel::new();
        assert!(cancel.sleep(Duration::from_millis(10)));
        assert_eq!(block_on(cancel.race(async { 7 })), Some(7));
        assert!(!cancel.is_cancelled());
        assert!(!Cancel::new().is_cancelled(), "each is its own");
    }

    /// A call begun before the interrupt gives up at it; one begun after
    /// it has until `AFTER_INTERRUPT` after it.
    #[test]
    fn a_call_gives_up_at_the_interrupt_or_a_grace_after_it() {
        let cancel = Cancel::new();
        let before = cancel.watch_call();
        assert!(!before.expired());
        cancel.cancel();
        assert!(before.expired());
        assert_eq!(block_on(before.race(std::future::pending::<()>())), None);
        let after = cancel.watch_call();
        assert!(!after.expired(), "a grace after the interrupt");
        let quick = block_on(async {
            after
                .race(tokio::time::sleep(Duration::from_millis(10)))
                .await
        });
        assert_eq!(quick, Some(()));
        let started = Instant::now();
        assert_eq!(block_on(after.race(std::future::pending::<()>())), None);
        assert!(started.elapsed() <= AFTER_INTERRUPT + Duration::from_secs(1));
        assert!(after.expired());
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

//! The one place cu-roll runs work concurrently: a bounded pool of scoped
//! std threads over a list, results in input order. Pre-flight queries every
//! server through it, the scheduler rolls its DAGs through it, the run
//! compares every upgraded server with its backup through it, and
//! `exec --all` runs its command through it. Nothing else in the crate
//! spawns threads for fan-out. The network I/O under these calls runs on
//! the tokio runtime (`crate::runtime`), entered from these threads; the
//! fan-out itself stays on scoped threads because its work is synchronous
//! and borrows the caller's data, while tokio's blocking pool accepts only
//! `'static` work (docs/architecture.md, "Concurrency", says why in full).
//! When the `Executor` trait becomes async, this function is the seam to
//! replace (a Semaphore-bounded set of borrowed futures in one
//! `runtime::block_on`), and its callers keep their shape.
//!
//! It owns no I/O and no policy: the caller chooses the limit and what each
//! item does. A panic in `f` propagates to the caller, as a plain loop would.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many servers are talked to at once when nothing in the plan says
/// otherwise (pre-flight queries, `exec --all`).
pub const SERVER_FAN_OUT: usize = 16;

/// How many servers the pre-flight queries at once: every server of a
/// 200-server estate in one wave. Each query mostly waits on the network;
/// what a wider fan-out costs the orchestrator is memory: a thread (about
/// 24 KiB of touched stack; its reserved size does not count, so a smaller
/// one saves nothing) and the kept connections and shells of the servers
/// in flight. Measured with `cu-roll bench --report` (200 servers, in fact
/// 13 DAGs of 16, at 50 ms per request; docs/performance.md, figures 2 and
/// 4), with 4 KiB read buffers and the lab at ~2.5 ms of CPU a call, two
/// runs each: 64 at once took 8.0 and 7.9 s at 42.3 and 42.2 MiB of peak
/// RSS, 128 7.4 and 6.8 s at 46.0 and 46.3 MiB, 256 6.6 and 6.4 s at 51.9
/// and 51.7 MiB (the exit's deletes at 64 wide). At 64 the pre-flight can
/// never take less than ceil(208 / 64) = 4 of one server's chains in a
/// row, and figure 2's target is 1.5; against real servers, which answer
/// on their own, one wave matters more than here (UNVERIFIED, not
/// measured). When the lab was slower (4-5 ms a call) every width took the
/// same time, and this was 64. Figure 4's target (< 30 MiB) is met at
/// neither width.
pub const PREFLIGHT_FAN_OUT: usize = 256;

/// Calls `f` on every item with at most `limit` calls running at once (a
/// limit of 0 counts as 1), and returns the results in the order of
/// `items`. Items are taken in order, each by the next free worker.
pub fn for_each_bounded<T, R, F>(items: &[T], limit: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let workers = limit.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut slots: Vec<Option<R>> = items.iter().map(|_| None).collect();
    for (i, r) in done.into_iter().flatten() {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|r| r.expect("every item is taken by exactly one worker"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn results_keep_the_input_order_whatever_finishes_first() {
        let items: Vec<u64> = (0..20).collect();
        // Early items sleep longest, so they finish last.
        let out = for_each_bounded(&items, 4, |&i| {
            std::thread::sleep(Duration::from_millis(20 - i));
            i * 10
        });
        assert_eq!(out, items.iter().map(|i| i * 10).collect::<Vec<_>>());
    }

    #[test]
    fn never_more_than_the_limit_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u32> = (0..12).collect();
        let out = for_each_bounded(&items, 3, |&i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
            i
        });
        assert_eq!(out, items);
        assert!(most.load(Ordering::SeqCst) <= 3, "{most:?}");
    }

    /// Each of three items waits until all three are running: they can only
    /// all get there when the pool really runs them side by side.
    #[test]
    fn up_to_the_limit_run_side_by_side() {
        let arrived = AtomicUsize::new(0);
        let deadline = Instant::now() + Duration::from_secs(10);
        let met = for_each_bounded(&[(), (), ()], 3, |()| {
            arrived.fetch_add(1, Ordering::SeqCst);
            while arrived.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            arrived.load(Ordering::SeqCst) == 3
        });
        assert_eq!(met, [true, true, true]);
    }

    #[test]
    fn a_limit_of_zero_still_does_the_work_one_at_a_time() {
        let running = AtomicUsize::new(0);
        let out = for_each_bounded(&["a", "b", "c"], 0, |s| {
            assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0, "two at once");
            std::thread::sleep(Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
            s.to_uppercase()
        });
        assert_eq!(out, ["A", "B", "C"]);
    }

    #[test]
    fn no_items_no_results() {
        let out: Vec<u8> = for_each_bounded(&[] as &[u8], 8, |_| unreachable!());
        assert!(out.is_empty());
    }

    #[test]
    #[should_panic(expected = "item 2 failed")]
    fn a_panic_in_a_worker_reaches_the_caller() {
        for_each_bounded(&[1, 2, 3], 2, |&i| assert!(i != 2, "item {i} failed"));
    }
}

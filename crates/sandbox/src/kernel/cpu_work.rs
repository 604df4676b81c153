//! CPU-heavy work inside a request handler — the troubleshooting engine's search behind a
//! refused signature, up to ~20 ms for an EC P-384 one — without holding up the other
//! connections the same runtime worker serves.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `work` so that it does not stall the runtime: on a multi-thread runtime the worker first
/// hands its other tasks to another thread (`block_in_place`); a current-thread runtime (a
/// test's) has no other thread to hand them to, and outside a runtime there is nothing to stall,
/// so there `work` just runs.
pub fn off_the_reactor<T>(work: impl FnOnce() -> T) -> T {
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// On a runtime with one worker, work that waits for another task of that runtime finishes:
    /// the other task runs meanwhile. Run inline instead, the work would hold the only worker
    /// and wait in vain (the bounded wait turns that into a failure instead of a hang).
    #[test]
    fn other_tasks_run_while_the_work_does() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let got = runtime.block_on(async {
            let (send, receive) = mpsc::channel();
            let (working, started) = tokio::sync::oneshot::channel();
            let handler = tokio::spawn(async move {
                // From here to the wait there is no await: the worker is taken until it ends.
                working.send(()).unwrap();
                off_the_reactor(|| receive.recv_timeout(Duration::from_secs(10)))
            });
            started.await.unwrap();
            let other = tokio::spawn(async move { send.send("answered").unwrap() });
            other.await.unwrap();
            handler.await.unwrap()
        });
        assert_eq!(got, Ok("answered"));
    }

    #[test]
    fn on_a_current_thread_runtime_and_outside_one_the_work_just_runs() {
        assert_eq!(off_the_reactor(|| 7), 7);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(async { off_the_reactor(|| 8) }), 8);
    }
}

//! `--jobs N` on one task: scenarios run N at a time as futures of the calling task, started in
//! file order; a scenario that must run alone (`exclusive`) waits until the running ones are
//! done and keeps the field to itself. Steps of one scenario always stay in order (a scenario is
//! one future).
//!
//! The session takes this path with one job, and on a current-thread runtime, where no thread
//! may block (a library user's); otherwise scenarios get threads of their own (`threads`).

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use std::future::Future;

/// Runs `start(item)` for every item, at most `jobs` at once, `alone(item)` ones by themselves;
/// `done` sees each result as it finishes.
pub async fn run_all<T, F, Fut>(
    items: Vec<T>,
    jobs: usize,
    alone: impl Fn(&T) -> bool,
    start: F,
    mut done: impl FnMut(Fut::Output),
) where
    F: Fn(T) -> Fut,
    Fut: Future,
{
    let jobs = jobs.max(1);
    let mut running = FuturesUnordered::new();
    for item in items {
        let by_itself = alone(&item);
        let limit = if by_itself { 1 } else { jobs };
        while running.len() >= limit {
            if let Some(output) = running.next().await {
                done(output);
            }
        }
        if by_itself {
            done(start(item).await);
        } else {
            running.push(start(item));
        }
    }
    while let Some(output) = running.next().await {
        done(output);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::time::Duration;

    /// Runs items that each take `ms`, recording (item, running-at-start) and the finish order.
    async fn trace(items: Vec<(u32, u64, bool)>, jobs: usize) -> (Vec<(u32, usize)>, Vec<u32>) {
        let running = RefCell::new(0usize);
        let starts = RefCell::new(Vec::new());
        let mut finished = Vec::new();
        run_all(
            items,
            jobs,
            |(_, _, alone)| *alone,
            |(id, ms, _)| {
                let running = &running;
                let starts = &starts;
                async move {
                    *running.borrow_mut() += 1;
                    starts.borrow_mut().push((id, *running.borrow()));
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    *running.borrow_mut() -= 1;
                    id
                }
            },
            |id| finished.push(id),
        )
        .await;
        (starts.into_inner(), finished)
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_jobs_at_once_and_exclusive_ones_alone() {
        let items = vec![
            (1, 30, false),
            (2, 10, false),
            (3, 10, false),
            (4, 5, true),
            (5, 10, false),
            (6, 10, false),
        ];
        let (starts, finished) = trace(items, 2).await;
        assert!(starts.iter().all(|(_, n)| *n <= 2), "{starts:?}");
        let alone = starts.iter().find(|(id, _)| *id == 4).unwrap();
        assert_eq!(alone.1, 1, "the exclusive scenario ran alone: {starts:?}");
        // 1 (30 ms) outlasts 2 and 3, which finish first; 4 waits for all of them.
        let position = |id| finished.iter().position(|f| *f == id).unwrap();
        assert!(position(2) < position(1) && position(3) < position(1));
        assert!(position(1) < position(4) && position(4) < position(5));
        assert_eq!(finished.len(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn one_job_keeps_file_order() {
        let items = (1..=5).map(|i| (i, 10 - u64::from(i), false)).collect();
        let (starts, finished) = trace(items, 1).await;
        assert_eq!(finished, vec![1, 2, 3, 4, 5]);
        assert!(starts.iter().all(|(_, n)| *n == 1));
    }
}

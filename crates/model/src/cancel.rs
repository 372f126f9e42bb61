//! Cooperative cancellation of a run, between blocks.
//!
//! The engine reports progress from its worker threads before and after every block of paths
//! (and after each regression of `optimal`). A caller that wants to stop a run calls [`stop`] from its
//! progress callback; the run unwinds out of the worker pool at that point, its buffers are freed,
//! and [`catch`] turns it into [`ModelError::Cancelled`]. Blocks not yet started stop at their
//! first report, so the rest of the run's work is skipped, not just its result. No engine code has to thread a flag
//! through its loops: the progress call is the check point. (It relies on unwinding, the default
//! `panic` strategy of this workspace; [`stop`] uses `resume_unwind`, so no panic message is
//! printed.)

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::ModelError;

/// The unwinding payload of [`stop`].
#[derive(Debug)]
pub struct Cancelled;

/// Stops the run that called the current progress callback. Call it only from inside a progress
/// callback of a run wrapped in [`catch`].
pub fn stop() -> ! {
    resume_unwind(Box::new(Cancelled))
}

/// Runs `f` (a call into the engine); a [`stop`] inside it becomes [`ModelError::Cancelled`].
/// Any other panic goes on unwinding.
pub fn catch<T>(f: impl FnOnce() -> Result<T, ModelError>) -> Result<T, ModelError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) if p.is::<Cancelled>() => Err(ModelError::Cancelled),
        Err(p) => resume_unwind(p),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::{simulate, RunConfig, Scenario};

    #[test]
    fn a_run_stops_at_the_next_progress_report() {
        let mut sc = Scenario::default();
        sc.run.paths = 20_000;
        let calls = AtomicUsize::new(0);
        let stopped = std::sync::atomic::AtomicBool::new(false);
        let furthest = std::sync::Mutex::new(0.0f64);
        let r = catch(|| {
            simulate(&sc, &RunConfig::default(), &|f| {
                let mut m = furthest.lock().unwrap_or_else(|p| p.into_inner());
                *m = m.max(f);
                drop(m);
                if stopped.load(Ordering::Relaxed) || calls.fetch_add(1, Ordering::Relaxed) == 3 {
                    stopped.store(true, Ordering::Relaxed);
                    stop();
                }
            })
        });
        assert!(matches!(r, Err(ModelError::Cancelled)), "{r:?}");
        // Blocks not started yet stopped at their first report: the run got nowhere near the end
        // (20 000 paths are 79 blocks; it was stopped after about 2).
        let f = *furthest.lock().unwrap();
        assert!(f < 0.25, "{f}");
        // Without a stop the same run completes.
        sc.run.paths = 500;
        assert!(catch(|| simulate(&sc, &RunConfig::default(), &|_| {})).is_ok());
    }
}

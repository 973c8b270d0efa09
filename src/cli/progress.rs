//! Progress on a terminal, for work that takes more than about a second: indexing the files
//! under `--symbols`, reading a big folder of reports (`classify`, `stats`).
//!
//! One spinner line on standard error, drawn only when standard error is a terminal, `--quiet`
//! was not given, and nothing else draws on the same terminal meanwhile (a document streamed to
//! a terminal on standard output would interleave with it). It appears only after
//! [`DELAY`](Progress::DELAY), so quick commands never flash a line, and is cleared when the work
//! ends: a terminal shows what it showed before, a log never sees it. `CRASHDELTA_PROGRESS_DELAY_MS`
//! changes the delay (the terminal tests set 0).

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The spinner being drawn, if any: a line written on standard error meanwhile (a warning) goes
/// through [`suspend`], which clears the spinner, writes, and draws it again below.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Runs `write` with the spinner, if one is drawn, taken off the terminal meanwhile.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    let active = ACTIVE.lock().ok().and_then(|a| a.clone());
    match active {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// A spinner that shows itself once the work has taken longer than the delay.
pub struct Progress {
    bar: ProgressBar,
    /// Set when the work ends; held while the line is switched on, so that it is never switched
    /// on after the end.
    done: Arc<Mutex<bool>>,
}

impl Progress {
    /// How long work runs before its progress is shown.
    pub const DELAY: Duration = Duration::from_secs(1);

    /// Progress of `what` ("reading reports"); `counted` adds the count of [`Progress::inc`]
    /// so far. `stdout_busy`: the command writes to a terminal on standard output as it
    /// goes, so no line is drawn.
    pub fn start(what: &'static str, counted: bool, stdout_busy: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let template = if counted {
            "{spinner} {msg}: {pos}, {elapsed}"
        } else {
            "{spinner} {msg}, {elapsed}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(what);
        let done = Arc::new(Mutex::new(false));
        let shown = std::io::stderr().is_terminal()
            && !super::output::quiet()
            && !(stdout_busy && std::io::stdout().is_terminal());
        if shown {
            let delay = std::env::var("CRASHDELTA_PROGRESS_DELAY_MS")
                .ok()
                .and_then(|ms| ms.parse().ok())
                .map_or(Self::DELAY, Duration::from_millis);
            let (bar, done) = (bar.clone(), Arc::clone(&done));
            // A thread of its own: the work may be one long call (indexing) with nothing to
            // tick in between.
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                if let Ok(done) = done.lock()
                    && !*done
                {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(100));
                    if let Ok(mut active) = ACTIVE.lock() {
                        *active = Some(bar.clone());
                    }
                }
            });
        }
        Progress { bar, done }
    }

    /// One more item done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }
}

impl Drop for Progress {
    /// The work is over (done, or ended by an error whose message must not be drawn over): the
    /// line is cleared, and never drawn if it was not yet.
    fn drop(&mut self) {
        if let Ok(mut done) = self.done.lock() {
            *done = true;
        }
        if let Ok(mut active) = ACTIVE.lock() {
            *active = None;
        }
        self.bar.finish_and_clear();
    }
}

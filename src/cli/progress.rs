//! Progress on a terminal, for work that takes more than about a second: indexing the files
//! under `--symbols`, building the symbol cache of a big dSYM, reading a big folder of reports
//! (`classify`, `stats`).
//!
//! One spinner line on standard error, drawn only when standard error is a terminal, `--quiet`
//! was not given, and nothing else draws on the same terminal meanwhile (a document streamed to
//! a terminal on standard output would interleave with it). It appears only after
//! [`DELAY`](Progress::DELAY), so quick commands never flash a line, and is cleared when the work
//! ends: a terminal shows what it showed before, a log never sees it. `CRASHDELTA_PROGRESS_DELAY_MS`
//! changes the delay (the terminal tests set 0, which draws the line at once).
//!
//! Work can start within other work (a symbol cache built for one of the reports being read):
//! it then says itself on the line of the work around it, for as long as it lasts, rather than
//! drawing a second spinner over the first.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The spinner being drawn, if any: a line written on standard error meanwhile (a warning) goes
/// through [`suspend`], which clears the spinner, writes, and draws it again below.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// The outermost progress under way, drawn or still waiting for its delay: work started within
/// it says itself on its line.
static LIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

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
    /// Work within other work: the message of the work around it, given back at the end.
    within: Option<String>,
}

impl Progress {
    /// How long work runs before its progress is shown.
    pub const DELAY: Duration = Duration::from_secs(1);

    /// Progress of `what` ("reading reports"); `counted` adds the count of [`Progress::inc`]
    /// so far. `stdout_busy`: the command writes to a terminal on standard output as it
    /// goes, so no line is drawn.
    pub fn start(what: impl Into<Cow<'static, str>>, counted: bool, stdout_busy: bool) -> Progress {
        let what = what.into();
        let outer = LIVE.lock().ok().and_then(|live| live.clone());
        if let Some(outer) = outer {
            let previous = outer.message();
            outer.set_message(format!("{previous}; {what}"));
            return Progress {
                bar: outer,
                done: Arc::new(Mutex::new(false)),
                within: Some(previous),
            };
        }
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
        if let Ok(mut live) = LIVE.lock() {
            *live = Some(bar.clone());
        }
        let delay = std::env::var("CRASHDELTA_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(Self::DELAY, Duration::from_millis);
        if shown && delay.is_zero() {
            // Drawn now, not by a thread that could come after short work has ended: what the
            // terminal tests see does not depend on how fast the work was.
            switch_on(&bar);
        } else if shown {
            let (bar, done) = (bar.clone(), Arc::clone(&done));
            // A thread of its own: the work may be one long call (indexing) with nothing to
            // tick in between.
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                if let Ok(done) = done.lock()
                    && !*done
                {
                    switch_on(&bar);
                }
            });
        }
        Progress {
            bar,
            done,
            within: None,
        }
    }

    /// Says `what` from now on, in place of what it said (after the work around it, for work
    /// within other work).
    pub fn set_message(&self, what: impl Into<Cow<'static, str>>) {
        match &self.within {
            Some(previous) => self.bar.set_message(format!("{previous}; {}", what.into())),
            None => self.bar.set_message(what),
        }
    }

    /// One more item done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }
}

/// Draws `bar` on standard error from now on.
fn switch_on(bar: &ProgressBar) {
    bar.set_draw_target(ProgressDrawTarget::stderr());
    // Drawn now (a tick once the steady ticker runs draws nothing: the ticker's thread draws,
    // when it gets to).
    bar.tick();
    bar.enable_steady_tick(Duration::from_millis(100));
    if let Ok(mut active) = ACTIVE.lock() {
        *active = Some(bar.clone());
    }
}

impl Drop for Progress {
    /// The work is over (done, or ended by an error whose message must not be drawn over): the
    /// line is cleared, and never drawn if it was not yet. Work within other work gives the
    /// line back to it.
    fn drop(&mut self) {
        if let Some(previous) = self.within.take() {
            self.bar.set_message(previous);
            return;
        }
        if let Ok(mut live) = LIVE.lock() {
            *live = None;
        }
        if let Ok(mut done) = self.done.lock() {
            *done = true;
        }
        if let Ok(mut active) = ACTIVE.lock() {
            *active = None;
        }
        self.bar.finish_and_clear();
    }
}

//! The user at a terminal (or a CI log): the prompt, Ctrl-C, progress and
//! the closing summary of an apply.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use stackc::apply::{Interrupt, Outcome, Progress};
use stackc::engine::Engine;
use stackc::engine::Holder;
use stackc::plan::{self, Plan};
use stackc::session::{self, Answer, Finished, Mode, Request};

use crate::{Failure, Outcome_, color, stdout_color};

/// Runs `apply` or `destroy`, with Ctrl-C watched from the start: once
/// stops new work (or cancels before any), twice abandons it; the library
/// releases the lock either way.
pub(crate) async fn run_session(engine: &dyn Engine, request: &Request<'_>) -> Outcome_ {
    let terminal = Terminal {
        progress: Arc::new(Progress::new(std::io::stderr().is_terminal(), color())),
        applying: Arc::new(AtomicBool::new(false)),
        interrupt: Interrupt::default(),
    };
    let watcher = tokio::spawn(terminal.watch_ctrl_c()?);
    let ticker = tokio::spawn(terminal.tick());
    let finished = session::run(engine, request, &terminal, &terminal.interrupt).await;
    ticker.abort();
    watcher.abort();
    terminal.progress.clear();
    match finished? {
        Finished::Unchanged => Ok(ExitCode::SUCCESS),
        Finished::Cancelled => {
            eprintln!("Cancelled: nothing was changed.");
            Ok(ExitCode::from(1))
        }
        Finished::Applied { plan, outcome } => report(&outcome, &plan, request.mode),
    }
}

/// The user at a terminal (or a CI log): what [`session::run`] shows and asks.
struct Terminal {
    progress: Arc<Progress>,
    /// Whether changes have started: what a first Ctrl-C means depends on it.
    applying: Arc<AtomicBool>,
    interrupt: Interrupt,
}

impl Terminal {
    /// Counts Ctrl-C presses. The handler is installed before this returns:
    /// a press that came before the watching task first ran would be lost.
    fn watch_ctrl_c(&self) -> Result<impl Future<Output = ()> + use<>, Failure> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut presses = signal(SignalKind::interrupt())
            .map_err(|e| Failure::new(format!("cannot watch for Ctrl-C: {e}")))?;
        let (interrupt, progress, applying) = (
            self.interrupt.clone(),
            self.progress.clone(),
            self.applying.clone(),
        );
        Ok(async move {
            while presses.recv().await.is_some() {
                let n = interrupt.press();
                if n > 2 {
                    // The abort is waiting on the engine to release the lock: go now.
                    progress.note("Quit: the lock may be left; `stackc unlock` breaks it.");
                    std::process::exit(130);
                } else if n == 2 {
                    progress.note("Aborted.");
                } else if applying.load(Ordering::SeqCst) {
                    progress.note(
                        "Interrupted: finishing the running actions; press Ctrl-C again to abort.",
                    );
                }
            }
        })
    }

    fn tick(&self) -> impl Future<Output = ()> + use<> {
        let progress = self.progress.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                progress.tick();
            }
        }
    }
}

#[async_trait::async_trait]
impl session::Ui for Terminal {
    fn waiting_for_lock(&self, stack: &str, holder: &Holder, timeout: Duration) {
        let timeout = stackc::units::format_duration(timeout.as_millis() as i64);
        eprintln!("The stack `{stack}` is locked by {holder}; waiting up to {timeout}…");
    }

    fn keeping_volume(&self, address: &str) {
        eprintln!("Keeping {address}: volumes are removed only with --allow-data-loss.");
    }

    fn plan(&self, plan: &Plan) {
        // A closed stdout must not stop the apply: its progress is on stderr.
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(plan::human(plan, stdout_color()).as_bytes());
        let _ = stdout.flush();
    }

    /// Asks on the terminal; a Ctrl-C at the prompt answers no.
    async fn confirm(&self, question: &str) -> Answer {
        if !std::io::stdin().is_terminal() {
            return Answer::NoOneToAsk;
        }
        eprint!("\n{question}\n  Only 'yes' will be accepted: ");
        let _ = std::io::stderr().flush();
        // A thread of its own: a blocked read must not keep the process alive.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            let _ = tx.send(answer);
        });
        tokio::select! {
            answer = rx => match answer {
                Ok(a) if a.trim() == "yes" => Answer::Yes,
                _ => Answer::No,
            },
            () = self.interrupt.first_press() => {
                eprintln!();
                Answer::No
            }
        }
    }

    fn applying(&self) {
        self.applying.store(true, Ordering::SeqCst);
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }
}

fn report(outcome: &Outcome, plan: &Plan, mode: Mode) -> Outcome_ {
    if outcome.succeeded() {
        let s = plan.summary;
        match mode {
            Mode::Destroy => eprintln!("\nDestroy complete: {} destroyed.", s.destroy),
            Mode::Apply => eprintln!(
                "\nApply complete: {} added, {} changed, {} destroyed.",
                s.add, s.change, s.destroy
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::from("\n");
    if outcome.interrupted {
        text.push_str("Interrupted.\n");
    }
    text.push_str(&format!("Done ({}):\n", outcome.done.len()));
    for (address, what, _) in &outcome.done {
        text.push_str(&format!("  {address}: {what}\n"));
    }
    if !outcome.failed.is_empty() {
        text.push_str(&format!("Failed ({}):\n", outcome.failed.len()));
        for (address, error) in &outcome.failed {
            text.push_str(&format!("  {address}: {error}\n"));
        }
    }
    if !outcome.not_attempted.is_empty() {
        text.push_str(&format!(
            "Not attempted ({}):\n",
            outcome.not_attempted.len()
        ));
        for address in &outcome.not_attempted {
            text.push_str(&format!("  {address}\n"));
        }
    }
    eprint!("{text}");
    Err(Failure::Message {
        message: if outcome.interrupted {
            "the apply was interrupted"
        } else {
            "the apply failed"
        }
        .into(),
        help: Some(outcome.advice().into()),
    })
}

//! Progress of an apply on stderr: a line as each action starts and ends,
//! and on a terminal a live status line of what is running.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where progress goes.
#[derive(Debug)]
pub struct Progress {
    /// Redraw a status line (stderr is a terminal).
    live: bool,
    color: bool,
    /// Collect lines instead of printing (tests).
    captured: Option<Mutex<Vec<String>>>,
    running: Mutex<BTreeMap<String, Instant>>,
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl Progress {
    pub fn new(live: bool, color: bool) -> Progress {
        Progress {
            live,
            color,
            captured: None,
            running: Mutex::new(BTreeMap::new()),
        }
    }

    /// Keeps the lines in memory (see [`Progress::lines`]).
    pub fn captured() -> Progress {
        Progress {
            live: false,
            color: false,
            captured: Some(Mutex::new(Vec::new())),
            running: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.captured
            .as_ref()
            .and_then(|c| c.lock().ok().map(|l| l.clone()))
            .unwrap_or_default()
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn emit(&self, line: String) {
        if let Some(c) = &self.captured {
            if let Ok(mut lines) = c.lock() {
                lines.push(line);
            }
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.live {
            // Clear the status line, print, redraw it.
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = writeln!(err, "{line}");
        if self.live {
            let _ = write!(err, "{}", self.status());
        }
        let _ = err.flush();
    }

    fn status(&self) -> String {
        let Ok(running) = self.running.lock() else {
            return String::new();
        };
        if running.is_empty() {
            return String::new();
        }
        let now = Instant::now();
        let items: Vec<String> = running
            .iter()
            .take(4)
            .map(|(l, t)| format!("{l} {}", seconds(now - *t)))
            .collect();
        let more = if running.len() > 4 {
            format!(" and {} more", running.len() - 4)
        } else {
            String::new()
        };
        self.paint("2", &format!("running: {}{more}", items.join(", ")))
    }

    /// Redraws the status line (called periodically on a terminal); while
    /// nothing runs it leaves the terminal alone (a prompt may be on it).
    pub fn tick(&self) {
        let idle = self.running.lock().map_or(true, |r| r.is_empty());
        if self.live && self.captured.is_none() && !idle {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K{}", self.status());
            let _ = err.flush();
        }
    }

    /// Clears the status line before other output.
    pub fn clear(&self) {
        if self.live && self.captured.is_none() {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }

    pub fn started(&self, label: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.insert(label.to_string(), Instant::now());
        }
        self.emit(format!("{label}: started"));
    }

    pub fn finished(&self, label: &str, what: &str, elapsed: Duration) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(label);
        }
        self.emit(format!(
            "{label}: {} ({})",
            self.paint("32", what),
            seconds(elapsed)
        ));
    }

    pub fn failed(&self, label: &str, error: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(label);
        }
        self.emit(format!("{label}: {} {error}", self.paint("31", "failed:")));
    }

    /// A line of its own (waiting for the lock, an interruption).
    pub fn note(&self, text: &str) {
        self.emit(text.to_string());
    }
}

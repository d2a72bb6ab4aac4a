//! `stackc logs` apart from the engine: the lines of several containers put
//! in time order, each prefixed by its address (padded, so the text lines
//! up, as `docker compose logs` does) and optionally coloured and
//! timestamped; and what `--since` accepts.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::engine::streams::LogLine;
use crate::timestamp::Timestamp;

/// The lines of each source (each in its own order) as one sequence in
/// time order, each with the index of its source. Lines of the same time
/// keep the order of their sources; a source's own order is never changed
/// (a clock set back must not shuffle one container's lines).
pub fn merge(sources: Vec<Vec<LogLine>>) -> Vec<(usize, LogLine)> {
    let total = sources.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    let mut iters: Vec<_> = sources.into_iter().map(Vec::into_iter).collect();
    let mut heads: Vec<Option<LogLine>> = iters.iter_mut().map(Iterator::next).collect();
    let mut heap: BinaryHeap<Reverse<(Timestamp, usize)>> = heads
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.as_ref().map(|l| Reverse((l.time, i))))
        .collect();
    while let Some(Reverse((_, i))) = heap.pop() {
        let Some(line) = heads[i].take() else {
            continue;
        };
        out.push((i, line));
        heads[i] = iters[i].next();
        if let Some(next) = &heads[i] {
            heap.push(Reverse((next.time, i)));
        }
    }
    out
}

/// How lines are printed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Style {
    /// Colour the prefix (only on a terminal, never with `NO_COLOR`).
    pub colour: bool,
    /// Print each line's time after the prefix.
    pub timestamps: bool,
}

/// Colours of the prefixes, one per source in turn (those of `docker compose logs`).
const PALETTE: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// The prefix of each source: its address, padded to the longest.
#[derive(Debug, Clone, PartialEq)]
pub struct Prefixes {
    padded: Vec<String>,
}

impl Prefixes {
    pub fn new<S: AsRef<str>>(addresses: &[S]) -> Prefixes {
        let width = addresses
            .iter()
            .map(|a| a.as_ref().chars().count())
            .max()
            .unwrap_or(0);
        Prefixes {
            padded: addresses
                .iter()
                .map(|a| format!("{:width$}", a.as_ref()))
                .collect(),
        }
    }

    /// One line as printed, with its line break:
    /// `container.web | 2024-05-01T12:00:00.000000000Z text`.
    pub fn render(&self, source: usize, line: &LogLine, style: Style) -> Vec<u8> {
        let prefix = self.padded.get(source).map_or("?", String::as_str);
        let mut out = Vec::with_capacity(prefix.len() + line.text.len() + 48);
        if style.colour {
            let colour = PALETTE[source % PALETTE.len()];
            out.extend_from_slice(format!("\x1b[{colour}m{prefix} |\x1b[0m ").as_bytes());
        } else {
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(b" | ");
        }
        if style.timestamps {
            out.extend_from_slice(format!("{} ", line.time).as_bytes());
        }
        // A line ending in CR (a program writing CRLF) would put the next
        // prefix over this line's text.
        let text = line.text.strip_suffix(b"\r").unwrap_or(&line.text);
        out.extend_from_slice(text);
        out.push(b'\n');
        out
    }
}

/// `--since`: a duration back from `now` (`10m`, `1h30m`), a time
/// (`2024-05-01T12:00:00Z`, `2024-05-01`), or Unix seconds.
pub fn parse_since(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Some(ms) = crate::units::parse_duration(text).filter(|ms| *ms >= 0) {
        return Ok(Timestamp(now.0 - ms as i128 * 1_000_000));
    }
    if let Some(t) = Timestamp::parse(text) {
        return Ok(t);
    }
    if let Ok(secs) = text.parse::<i64>()
        && secs >= 0
    {
        return Ok(Timestamp::from_secs(secs));
    }
    Err(format!(
        "`{text}` is not a duration like 10m or a time like 2024-05-01T12:00:00Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::streams::Channel;

    fn line(time: &str, text: &str) -> LogLine {
        LogLine {
            time: Timestamp::parse(time).unwrap(),
            channel: Channel::Stdout,
            text: text.as_bytes().to_vec(),
        }
    }

    fn texts(merged: &[(usize, LogLine)]) -> Vec<String> {
        merged
            .iter()
            .map(|(i, l)| format!("{i}:{}", String::from_utf8_lossy(&l.text)))
            .collect()
    }

    #[test]
    fn lines_of_two_containers_interleave_by_time() {
        let a = vec![
            line("2024-05-01T12:00:00.1Z", "a1"),
            line("2024-05-01T12:00:00.3Z", "a2"),
        ];
        let b = vec![
            line("2024-05-01T12:00:00.05Z", "b1"),
            line("2024-05-01T12:00:00.2Z", "b2"),
            line("2024-05-01T12:00:01Z", "b3"),
        ];
        assert_eq!(
            texts(&merge(vec![a, b])),
            ["1:b1", "0:a1", "1:b2", "0:a2", "1:b3"]
        );
    }

    #[test]
    fn equal_times_keep_source_order_and_a_source_is_never_reordered() {
        let a = vec![
            line("2024-05-01T12:00:00Z", "a1"),
            line("2024-05-01T11:00:00Z", "a2 (clock set back)"),
        ];
        let b = vec![line("2024-05-01T12:00:00Z", "b1")];
        assert_eq!(
            texts(&merge(vec![a, b, vec![]])),
            ["0:a1", "0:a2 (clock set back)", "1:b1"]
        );
        assert!(merge(vec![]).is_empty());
    }

    #[test]
    fn prefixes_line_up_and_colour_only_when_asked() {
        let prefixes = Prefixes::new(&["container.web", "db.container.server"]);
        let plain = Style::default();
        let l = line("2024-05-01T12:00:00Z", "hello\r");
        assert_eq!(
            String::from_utf8(prefixes.render(0, &l, plain)).unwrap(),
            "container.web       | hello\n"
        );
        assert_eq!(
            String::from_utf8(prefixes.render(1, &l, plain)).unwrap(),
            "db.container.server | hello\n"
        );
        let stamped = Style {
            timestamps: true,
            ..plain
        };
        assert_eq!(
            String::from_utf8(prefixes.render(0, &l, stamped)).unwrap(),
            "container.web       | 2024-05-01T12:00:00.000000000Z hello\n"
        );
        let coloured = Style {
            colour: true,
            ..plain
        };
        let text = String::from_utf8(prefixes.render(1, &l, coloured)).unwrap();
        assert_eq!(text, "\x1b[33mdb.container.server |\x1b[0m hello\n");
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_through() {
        let prefixes = Prefixes::new(&["container.a"]);
        let mut l = line("2024-05-01T12:00:00Z", "");
        l.text = vec![0xff, b'x'];
        assert_eq!(
            prefixes.render(0, &l, Style::default()),
            b"container.a | \xffx\n"
        );
    }

    #[test]
    fn since_takes_durations_times_and_seconds() {
        let now = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let at = |t: &str| Timestamp::parse(t).unwrap();
        assert_eq!(parse_since("10m", now), Ok(at("2024-05-01T11:50:00Z")));
        assert_eq!(parse_since("1h30m", now), Ok(at("2024-05-01T10:30:00Z")));
        assert_eq!(
            parse_since("2024-04-30T08:00:00+02:00", now),
            Ok(at("2024-04-30T06:00:00Z"))
        );
        assert_eq!(
            parse_since("2024-04-30", now),
            Ok(at("2024-04-30T00:00:00Z"))
        );
        assert_eq!(
            parse_since("1714564800", now),
            Ok(at("2024-05-01T12:00:00Z"))
        );
        let err = parse_since("yesterday", now).unwrap_err();
        assert!(err.contains("not a duration like 10m"), "{err}");
    }
}

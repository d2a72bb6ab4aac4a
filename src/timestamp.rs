//! Points in time as Docker writes them in logs (RFC 3339 with up to nine
//! fraction digits, `2024-05-01T12:00:00.123456789Z`): parsing and printing,
//! without a calendar crate. Docker trims trailing zeros of the fraction, so
//! log lines are ordered by the parsed time, never by their text.

use std::fmt;

/// Nanoseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i128);

const NANOS: i128 = 1_000_000_000;

impl Timestamp {
    /// Now, by this machine's clock.
    pub fn now() -> Timestamp {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        Timestamp(since)
    }

    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs as i128 * NANOS)
    }

    /// Whole seconds since the epoch, rounded down.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(NANOS) as i64
    }

    /// `2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.5+02:00`, or a date
    /// alone (`2024-05-01`, midnight UTC). `None` for anything else.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        let digits = |from: usize, n: usize| -> Option<i64> {
            let part = b.get(from..from + n)?;
            part.iter().all(u8::is_ascii_digit).then(|| {
                part.iter()
                    .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'))
            })
        };
        let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        if b.len() == 10 {
            return Some(Timestamp(days as i128 * 86_400 * NANOS));
        }
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return None;
        }
        let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
        if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut at = 19;
        let mut fraction: i128 = 0;
        if b.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            let n = at - start;
            if n == 0 || n > 9 {
                return None;
            }
            let value = digits(start, n)? as i128;
            fraction = value * 10i128.pow(9 - n as u32);
        }
        let offset = match &b[at..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let minutes = digits(at + 1, 2)? * 60 + digits(at + 4, 2)?;
                if *sign == b'+' { minutes } else { -minutes }
            }
            _ => return None,
        };
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60;
        Some(Timestamp(secs as i128 * NANOS + fraction))
    }
}

/// RFC 3339 in UTC with nine fraction digits, as `docker logs --timestamps`
/// prints them (fixed width, so they line up).
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(NANOS) as i64;
        let nanos = self.0.rem_euclid(NANOS);
        let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_timestamps_parse_and_print_back() {
        let t = Timestamp::parse("2024-05-01T12:34:56.123456789Z").unwrap();
        assert_eq!(t.to_string(), "2024-05-01T12:34:56.123456789Z");
        assert_eq!(t.secs(), 1_714_566_896);
        // Docker trims trailing zeros: `.1` is later than `.05`, whatever the text says.
        let a = Timestamp::parse("2024-05-01T12:34:56.1Z").unwrap();
        let b = Timestamp::parse("2024-05-01T12:34:56.05Z").unwrap();
        assert!(b < a);
        assert_eq!(a.to_string(), "2024-05-01T12:34:56.100000000Z");
    }

    #[test]
    fn offsets_dates_and_the_epoch() {
        assert_eq!(
            Timestamp::parse("2024-05-01T14:00:00+02:00"),
            Timestamp::parse("2024-05-01T12:00:00Z")
        );
        assert_eq!(
            Timestamp::parse("2024-05-01"),
            Timestamp::parse("2024-05-01T00:00:00Z")
        );
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z"), Some(Timestamp(0)));
        assert_eq!(
            Timestamp::parse("2000-02-29T00:00:00Z").map(Timestamp::secs),
            Some(951_782_400)
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2023-02-29",
            "2024-05-01T12:00",
            "2024-05-01T12:00:00",
            "2024-05-01T25:00:00Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00.1234567890Z",
            "2024-05-01T12:00:00Zjunk",
            "２０２４-05-01",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}

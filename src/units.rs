//! Durations and sizes: how they are written, for literals, `--var` values
//! and the deployment's JSON alike.

use std::fmt;

/// Milliseconds in each duration unit, largest first.
const DURATION_UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// `90000` → `"1m30s"`; the canonical spelling of a duration.
pub fn format_duration(ms: i64) -> String {
    let mut out = String::new();
    let _ = write_duration(&mut out, ms);
    out
}

/// Writes the canonical spelling of a duration without allocating.
pub fn write_duration(out: &mut impl fmt::Write, ms: i64) -> fmt::Result {
    if ms == 0 {
        return out.write_str("0s");
    }
    if ms < 0 {
        out.write_char('-')?;
    }
    let mut rest = ms.unsigned_abs();
    for (unit, size) in DURATION_UNITS {
        if rest >= size {
            write!(out, "{}{unit}", rest / size)?;
            rest %= size;
        }
    }
    Ok(())
}

/// Parses the canonical (or any valid) duration spelling back to milliseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if body.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut chars = body.chars().peekable();
    let mut any_unit = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return None,
        };
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
        any_unit = true;
    }
    if !digits.is_empty() || !any_unit {
        return None;
    }
    Some(if neg { -total } else { total })
}

/// Why a size cannot be read.
#[derive(Debug, PartialEq)]
pub enum SizeError {
    Invalid,
    /// `1.3B`: not a whole number of bytes.
    Fractional,
    TooLarge,
}

/// `512MiB`, `1GB`, `1.5KiB`, `100B` → bytes.
pub fn parse_size(text: &str) -> Result<i64, SizeError> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or(SizeError::Invalid)?;
    let (num, unit) = text.split_at(split);
    let factor: f64 = match unit {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(SizeError::Invalid),
    };
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(SizeError::Invalid);
    }
    let bytes = num.parse::<f64>().map_err(|_| SizeError::Invalid)? * factor;
    if bytes > i64::MAX as f64 {
        return Err(SizeError::TooLarge);
    }
    if bytes.fract() != 0.0 {
        return Err(SizeError::Fractional);
    }
    Ok(bytes as i64)
}

/// Size units, binary before decimal, largest first.
const SIZE_UNITS: [(&str, i64); 8] = [
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
];

/// `67108864` → `"64MiB"`: the largest unit that divides the size exactly
/// (binary first, as Docker and Compose users write memory), else bytes.
pub fn format_size(bytes: i64) -> String {
    SIZE_UNITS
        .iter()
        .find(|(_, unit)| bytes != 0 && bytes % unit == 0)
        .map_or_else(
            || format!("{bytes}B"),
            |(name, unit)| format!("{}{name}", bytes / unit),
        )
}

/// Docker's and Compose's spelling of a size (`256m`, `1g`, `512k`, `100b`,
/// `2gb`; binary units, any case) in stackc's: `256MiB`. `None` for text
/// that is not one.
pub fn docker_size(text: &str) -> Option<String> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = text.split_at(split);
    let number = !num.is_empty()
        && num.split('.').count() <= 2
        && num
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    let unit = match unit.to_ascii_lowercase().as_str() {
        "b" => "B",
        "k" | "kb" => "KiB",
        "m" | "mb" => "MiB",
        "g" | "gb" => "GiB",
        "t" | "tb" => "TiB",
        _ => return None,
    };
    number.then(|| format!("{num}{unit}"))
}

/// The help for a duration (`ms`) where a size is expected: Docker writes
/// `256m` for 256 MiB, which reads as 256 minutes here. `written` is the
/// literal as written, when known.
pub fn duration_for_size_help(ms: i64, written: Option<&str>) -> String {
    let minutes = (ms > 0 && ms % 60_000 == 0).then_some(ms / 60_000);
    match (minutes, written) {
        (Some(n), Some(w)) if w == format!("{n}m") => {
            format!("`{w}` is {n} minutes here: a size is written `{n}MiB` (Docker's `m` is MiB)")
        }
        (Some(n), None) => format!(
            "a size is written with its unit: `{n}MiB` for {n} MiB (Docker's `{n}m` reads as {n} minutes here)"
        ),
        _ => "a size is written with its unit: `512MiB`, `1GiB` (Docker's `512m` reads as minutes here)"
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_in_canonical_form() {
        for (ms, text) in [
            (0, "0s"),
            (500, "500ms"),
            (90_000, "1m30s"),
            (5_400_000, "1h30m"),
            (86_400_001, "1d1ms"),
        ] {
            assert_eq!(format_duration(ms), text);
            assert_eq!(parse_duration(text), Some(ms));
        }
        assert_eq!(parse_duration("-10s"), Some(-10_000));
        for bad in ["", "10", "10x", "s", "1.5s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes_read_both_unit_families() {
        assert_eq!(parse_size("512MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("1.3B"), Err(SizeError::Fractional));
        assert_eq!(parse_size("99999999TiB"), Err(SizeError::TooLarge));
        for bad in ["", "MiB", "5", "5mib", "-5B", "1e3B"] {
            assert_eq!(parse_size(bad), Err(SizeError::Invalid), "{bad}");
        }
    }

    #[test]
    fn sizes_are_written_as_users_write_them() {
        for (bytes, text) in [
            (64 << 20, "64MiB"),
            (1536, "1536B"),
            (3 << 9, "1536B"),
            (2 << 30, "2GiB"),
            (1_000_000_000, "1GB"),
            (1_500_000, "1500KB"),
            (0, "0B"),
            (7, "7B"),
        ] {
            assert_eq!(format_size(bytes), text);
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn docker_sizes_are_spelled_with_binary_units() {
        for (docker, ours) in [
            ("256m", "256MiB"),
            ("1g", "1GiB"),
            ("1G", "1GiB"),
            ("512k", "512KiB"),
            ("2gb", "2GiB"),
            ("100b", "100B"),
            ("1.5g", "1.5GiB"),
        ] {
            assert_eq!(docker_size(docker).as_deref(), Some(ours), "{docker}");
        }
        for other in ["", "m", "1x", "1.g", "1..5g", "1h", "g1", "1.2.3m"] {
            assert_eq!(docker_size(other), None, "{other}");
        }
        assert!(
            duration_for_size_help(256 * 60_000, Some("256m")).starts_with("`256m` is 256 minutes")
        );
        assert!(duration_for_size_help(3_600_000, Some("1h")).contains("`512MiB`"));
    }
}

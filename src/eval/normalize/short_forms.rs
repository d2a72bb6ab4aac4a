//! Compose's short forms, parsed: command lines, port mappings, image
//! references and subnets.

use crate::deployment::PortSpec;
use crate::types::schema::PROTOCOLS;

/// Splits a command line into words: whitespace separates, quotes group,
/// backslash escapes. `None` for an unclosed quote.
pub fn split_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Parses Compose's port short forms, expanding ranges.
pub fn parse_port(text: &str) -> Result<Vec<PortSpec>, String> {
    let bad = || format!("`{text}` is not a port mapping");
    let (mapping, protocol) = match text.rsplit_once('/') {
        Some((m, p)) if PROTOCOLS.contains(&p) => (m, p),
        Some((_, p)) => {
            return Err(format!(
                "unknown protocol `{p}` in `{text}` (tcp, udp or sctp)"
            ));
        }
        None => (text, "tcp"),
    };
    // An IPv6 address is written in brackets: "[::1]:8080:80".
    let (ip, rest) = if let Some(after) = mapping.strip_prefix('[') {
        let (ip, rest) = after.split_once("]:").ok_or_else(bad)?;
        (Some(ip.to_string()), rest)
    } else {
        let parts: Vec<&str> = mapping.split(':').collect();
        match parts.len() {
            3 => (Some(parts[0].to_string()), &mapping[parts[0].len() + 1..]),
            1 | 2 => (None, mapping),
            _ => return Err(bad()),
        }
    };
    if let Some(ip) = &ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(format!("`{ip}` in `{text}` is not an IP address"));
    }
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (if h.is_empty() { None } else { Some(h) }, c),
        None => (None, rest),
    };
    let container = port_range(container, text)?;
    let host = host.map(|h| port_range(h, text)).transpose()?;
    if let Some(h) = &host
        && h.len() != container.len()
    {
        return Err(if container.len() == 1 {
            format!(
                "`{text}`: a range of host ports for one container port is not supported; pick one host port"
            )
        } else {
            format!(
                "`{text}` maps {} host ports to {} container ports",
                h.len(),
                container.len()
            )
        });
    }
    Ok(container
        .iter()
        .enumerate()
        .map(|(i, c)| PortSpec {
            container: *c,
            protocol: protocol.to_string(),
            host: host.as_ref().map(|h| h[i]),
            ip: ip.clone(),
            mode: None,
        })
        .collect())
}

fn port_range(text: &str, whole: &str) -> Result<Vec<u16>, String> {
    let port = |p: &str| -> Result<u16, String> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            Ok(n) => Err(format!(
                "port {n} in `{whole}` is out of range (1 to 65535)"
            )),
            Err(_) => Err(format!("`{p}` in `{whole}` is not a port number")),
        }
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if a > b {
                return Err(format!("port range `{text}` in `{whole}` runs backwards"));
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![port(text)?]),
    }
}

/// A loose check of Docker's reference grammar: `[host[:port]/]path[:tag][@digest]`.
pub fn valid_reference(r: &str) -> bool {
    if r.is_empty() || r.len() > 255 || r.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let (name, digest) = match r.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (r, None),
    };
    if let Some(d) = digest
        && !d.contains(':')
    {
        return false;
    }
    // The tag is after the last ':' that follows the last '/'.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && !t.starts_with(['.', '-']);
        if !ok {
            return false;
        }
    }
    let mut components: Vec<&str> = path.split('/').collect();
    // The first component may be a registry host (with '.' or ':' or "localhost"); it may have uppercase.
    if components.len() > 1 && (components[0].contains(['.', ':']) || components[0] == "localhost")
    {
        components.remove(0);
    }
    !components.is_empty()
        && components.iter().all(|c| {
            !c.is_empty()
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        })
}

pub(super) fn valid_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(
            split_words("sh -c 'echo hi there'"),
            Some(vec!["sh".into(), "-c".into(), "echo hi there".into()])
        );
        assert_eq!(
            split_words(r#"a "b \"c\"" d\ e"#),
            Some(vec!["a".into(), "b \"c\"".into(), "d e".into()])
        );
        assert_eq!(split_words("x 'open"), None);
        assert_eq!(split_words("  "), Some(vec![]));
    }

    #[test]
    fn port_short_forms_expand() {
        let p = |c: u16, h: Option<u16>, ip: Option<&str>, proto: &str| PortSpec {
            container: c,
            host: h,
            ip: ip.map(str::to_string),
            protocol: proto.into(),
            mode: None,
        };
        assert_eq!(parse_port("80"), Ok(vec![p(80, None, None, "tcp")]));
        assert_eq!(
            parse_port("8080:80"),
            Ok(vec![p(80, Some(8080), None, "tcp")])
        );
        assert_eq!(
            parse_port("127.0.0.1:8080:80/udp"),
            Ok(vec![p(80, Some(8080), Some("127.0.0.1"), "udp")])
        );
        assert_eq!(
            parse_port("127.0.0.1::80"),
            Ok(vec![p(80, None, Some("127.0.0.1"), "tcp")])
        );
        assert_eq!(
            parse_port("[::1]:53:53/udp"),
            Ok(vec![p(53, Some(53), Some("::1"), "udp")])
        );
        assert_eq!(
            parse_port("8000-8001:80-81"),
            Ok(vec![
                p(80, Some(8000), None, "tcp"),
                p(81, Some(8001), None, "tcp")
            ])
        );
        for bad in [
            "0",
            "70000:80",
            "a:b",
            "80/icmp",
            "1:2:3:4",
            "8000-8010:80",
            "90-80",
        ] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_references_follow_docker_rules() {
        for good in [
            "nginx",
            "nginx:1.27",
            "library/nginx:1.27",
            "127.0.0.1:5000/team/app:v1",
            "app@sha256:abc",
            "my-app_2.x:latest",
        ] {
            assert!(valid_reference(good), "{good}");
        }
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx:-x",
            "a b",
            "app@sha256",
            "/app",
        ] {
            assert!(!valid_reference(bad), "{bad}");
        }
    }
}

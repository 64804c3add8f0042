//! What operators mean on a value: truthiness, quantities, versions, addresses, secrets.

use super::Op;
use crate::check::doc::{Kind, Node};

pub fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "y"
    )
}

pub fn falsy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "0" | "false" | "no" | "off" | "n"
    )
}

/// A number or Kubernetes quantity (`500m`, `4Gi`, `1e3`, `2k`).
pub fn quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("m", 0.001),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (suf, mul) in SUFFIXES {
        if let Some(num) = s.strip_suffix(suf)
            && let Ok(v) = num.parse::<f64>()
        {
            return Some(v * mul);
        }
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `v1.2.3`, `2.6.0rc1`, `0.8.1-gpu` → `[1, 2, 3]` / `[2, 6, 0]` / `[0, 8, 1]`.
pub fn version(s: &str) -> Option<Vec<u64>> {
    let s = s.trim().trim_start_matches(['v', 'V']);
    let mut out = Vec::new();
    for part in s.split('.') {
        let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            break;
        }
        out.push(digits.parse().ok()?);
        if digits.len() != part.len() {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

fn vcmp(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Does a PEP 440 specifier admit some version older than `floor`? Only lower bounds matter:
/// `>=`, `>`, `==`, `~=`, `===`. No lower bound admits everything.
pub fn allows_below(spec: &str, floor: &[u64]) -> bool {
    let mut lower: Option<Vec<u64>> = None;
    for clause in spec.split(',') {
        let c = clause.trim();
        let (op, v) = ["===", "==", ">=", "~=", "<=", "!=", ">", "<"]
            .iter()
            .find_map(|op| c.strip_prefix(op).map(|v| (*op, v.trim())))
            .unwrap_or(("", c));
        if matches!(op, "==" | "===" | ">=" | ">" | "~=") {
            let Some(ver) = version(v.trim_end_matches(".*")) else {
                continue;
            };
            if lower.as_ref().is_none_or(|l| vcmp(&ver, l).is_gt()) {
                lower = Some(ver);
            }
        }
    }
    match lower {
        None => true,
        Some(l) => vcmp(&l, floor).is_lt(),
    }
}

/// Does an address (`0.0.0.0`, `http://0.0.0.0:8081`, `[::]:80`, `:8000`, `*`) bind every
/// interface or a public IP?
pub fn binds_all(s: &str) -> bool {
    let s = s.trim();
    let s = s.split_once("://").map(|x| x.1).unwrap_or(s);
    let s = s.split('/').next().unwrap_or(s);
    let host = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if s.matches(':').count() > 1 {
        s // bare IPv6
    } else {
        s.split(':').next().unwrap_or("")
    };
    match host {
        "" | "0.0.0.0" | "::" | "*" | "0" => true,
        // A variable nobody resolved: it may well be 0.0.0.0 (fail closed; the engine lowers
        // the severity and says the value is unknown).
        h if unresolved(h) => true,
        h => match h.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => {
                ip.is_unspecified() || !(ip.is_loopback() || ip.is_private() || ip.is_link_local())
            }
            Ok(std::net::IpAddr::V6(ip)) => {
                let seg = ip.segments()[0];
                !(ip.is_loopback() || (seg & 0xfe00) == 0xfc00 || (seg & 0xffc0) == 0xfe80)
            }
            Err(_) => false,
        },
    }
}

pub(crate) fn scalar_test(op: &Op, s: &str) -> bool {
    match op {
        Op::Equals(v) => s == v,
        Op::NotEquals(v) => s != v,
        Op::In(vs) => vs.iter().any(|v| v == s),
        Op::NotIn(vs) => !vs.iter().any(|v| v == s),
        Op::Regex(re) => re.is_match(s),
        Op::NotRegex(re) => !re.is_match(s),
        Op::Exists => true,
        Op::Absent => false,
        Op::Truthy => truthy(s),
        Op::Falsy => falsy(s),
        Op::Gt(v) => quantity(s).is_some_and(|x| x > *v),
        Op::Gte(v) => quantity(s).is_some_and(|x| x >= *v),
        Op::Lt(v) => quantity(s).is_some_and(|x| x < *v),
        Op::Lte(v) => quantity(s).is_some_and(|x| x <= *v),
        Op::Contains(v) => s.contains(v.as_str()),
        Op::NotContains(v) => !s.contains(v.as_str()),
        Op::VersionLt(v) => version(s).is_some_and(|x| vcmp(&x, v).is_lt()),
        Op::VersionGte(v) => version(s).is_some_and(|x| vcmp(&x, v).is_ge()),
        Op::AllowsBelow(v) => allows_below(s, v),
        Op::BindAll => binds_all(s),
        Op::IsCommit => s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        Op::Empty => s.is_empty(),
        Op::Secret => secret_literal(s),
        Op::EmbeddedSecret => embedded_secret(s),
    }
}

pub(crate) fn node_test(op: &Op, n: &Node) -> bool {
    match (&n.kind, op) {
        (Kind::Scalar(s), _) => scalar_test(op, s),
        (_, Op::Exists) => true,
        (_, Op::Absent) => false,
        (Kind::Null, Op::Empty) => true,
        (Kind::Seq(items), Op::Empty) => items.is_empty(),
        (Kind::Map(entries), Op::Empty) => entries.is_empty(),
        (Kind::Seq(items), Op::Contains(v)) => items.iter().any(|i| i.as_str() == Some(v)),
        (Kind::Seq(items), Op::NotContains(v)) => !items.iter().any(|i| i.as_str() == Some(v)),
        (Kind::Null, Op::NotEquals(_) | Op::NotIn(_) | Op::NotRegex(_)) => true,
        _ => false,
    }
}

/// A value that is a reference to be filled in elsewhere: `${VAR}`, `$VAR`, `$(VAR)`,
/// `{{ … }}`, `%(name)s`.
pub fn unresolved(s: &str) -> bool {
    let s = s.trim();
    (s.starts_with('$') && s.len() > 1) || s.contains("{{") || s.contains("%(")
}

/// A value written to be replaced: `changeme`, `<your-token>`, `nvapi-YOUR_PERSONAL_KEY`,
/// `your-api-key-here`, `REPLACE_WITH_TOKEN`, `xxxxxxxx`, `key-goes-here`, `...`.
pub fn is_placeholder(s: &str) -> bool {
    let t = s.trim().trim_matches(['"', '\'']);
    let l = t.to_ascii_lowercase();
    if l.is_empty() {
        return true;
    }
    if (l.starts_with('<') && l.ends_with('>')) || (l.starts_with('[') && l.ends_with(']')) {
        return true;
    }
    // One character repeated (xxxxxxxx, ********, 00000000), or runs of x/* inside a token.
    let mut chars = l.chars();
    let first = chars.next().unwrap_or(' ');
    if l.chars().count() >= 3 && chars.all(|c| c == first) && !first.is_ascii_alphanumeric()
        || l.chars().count() >= 4 && l.chars().all(|c| c == first)
    {
        return true;
    }
    const WORDS: &[&str] = &[
        "changeme",
        "change-me",
        "change_me",
        "change-this",
        "change_this",
        "changethis",
        "replace",
        "your-",
        "your_",
        "your ",
        "yourkey",
        "yourtoken",
        "yourpassword",
        "placeholder",
        "example",
        "dummy",
        "redacted",
        "goes-here",
        "goes_here",
        "-here",
        "_here",
        " here",
        "xxxx",
        "****",
        "...",
        "todo",
        "tbd",
        "fixme",
        "insert",
        "put-your",
        "enter-your",
        "not-set",
        "notset",
        "set-me",
        "setme",
        "fill-in",
        "fill_in",
        "sample-",
    ];
    if WORDS.iter().any(|w| l.contains(w)) {
        return true;
    }
    matches!(
        l.as_str(),
        "none"
            | "null"
            | "nil"
            | "n/a"
            | "-"
            | "empty"
            | "token"
            | "key"
            | "apikey"
            | "api-key"
            | "api_key"
    )
}

/// A literal secret value: not empty, not a reference (`$VAR`, `{{ }}`), not a placeholder,
/// not a flag (`yes`, `true`, `0`), not a file path, not a short number.
pub fn secret_literal(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() || unresolved(t) || is_placeholder(t) {
        return false;
    }
    if truthy(t)
        || falsy(t)
        || matches!(
            t.to_ascii_lowercase().as_str(),
            "enabled" | "disabled" | "none" | "null" | "required" | "optional"
        )
    {
        return false;
    }
    if t.starts_with('/') && !t.contains(' ') || t.starts_with("./") || t.starts_with("file:") {
        return false;
    }
    if t.len() <= 5 && t.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    true
}

/// A value that carries a secret whatever its key: a well-known token format (Hugging Face,
/// OpenAI, AWS, GitHub, NVIDIA NGC, Slack) or a URL with a literal password
/// (`postgresql://user:pw@host/db`).
pub fn embedded_secret(s: &str) -> bool {
    static TOKENS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = TOKENS.get_or_init(|| {
        regex::Regex::new(r"(^|[^A-Za-z0-9])(hf_[A-Za-z0-9]{30,}|sk-(proj-|ant-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|nvapi-[A-Za-z0-9_-]{30,}|xox[baprs]-[A-Za-z0-9-]{10,})")
            .expect("static regex")
    });
    if let Some(m) = re.find(s)
        && !is_placeholder(m.as_str())
    {
        return true;
    }
    url_password(s).is_some_and(secret_literal)
}

/// The password of a `scheme://user:password@host` URL in the text.
pub fn url_password(s: &str) -> Option<&str> {
    let (_, rest) = s.split_once("://")?;
    let auth = rest.split(['/', '?', '#', ' ']).next()?;
    let (userinfo, _) = auth.rsplit_once('@')?;
    let (_, pw) = userinfo.split_once(':')?;
    Some(pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "changeme",
            "CHANGEME",
            "nvapi-YOUR_PERSONAL_KEY",
            "your-api-key-here",
            "REPLACE_WITH_TOKEN",
            "xxxxxxxx",
            "key-goes-here",
            "<your-token>",
            "********",
            "sk-xxxxxxxxxxxxxxxxxxxxxxxx",
            "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "...",
            "YOUR_HF_TOKEN",
            "placeholder",
            "example-password",
            "[token]",
            "",
        ] {
            assert!(is_placeholder(p), "{p:?} is a placeholder");
            assert!(!secret_literal(p), "{p:?} is not a secret");
        }
        for real in [
            "minio123",
            "s3cr3t-Value-42",
            "password1234",
            "0p3n-w3bu!",
            "admin",
            "grafana",
            "localai",
            "hf_abcdefghijklmnopqrstuvwxyzABCDEF",
        ] {
            assert!(!is_placeholder(real), "{real:?} is a real value");
            assert!(secret_literal(real), "{real:?} is a secret");
        }
    }

    #[test]
    fn flags_references_and_paths_are_not_secrets() {
        for v in [
            "yes",
            "true",
            "0",
            "${DB_PASSWORD}",
            "$(API_KEY)",
            "$KEY",
            "{{ .Values.key }}",
            "/run/secrets/db",
            "8080",
        ] {
            assert!(!secret_literal(v), "{v:?}");
        }
    }

    #[test]
    fn embedded_secrets() {
        assert!(embedded_secret(
            "postgresql://localai:localai@postgres:5432/db"
        ));
        assert!(!embedded_secret("postgresql://user:${PW}@db/x"));
        assert!(!embedded_secret("postgresql://db:5432/x"));
        assert!(embedded_secret(
            "Bearer hf_abcdefghijklmnopqrstuvwxyzABCDEF"
        ));
        assert!(!embedded_secret("https://example.com/a:b"));
    }

    #[test]
    fn unresolved_hosts_fail_closed() {
        assert!(binds_all("${MLFLOW_HOST}"));
        assert!(!binds_all("127.0.0.1"));
    }
}

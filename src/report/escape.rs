//! Escaping untrusted text for a terminal. File names, pickle globals, config values and log
//! lines end up in human output; a control character in them (ESC, CR, backspace, NUL) could
//! move the cursor, erase lines and print a fake "PASS". JSON and SARIF escape by themselves.

use std::borrow::Cow;
use std::fmt::Write;

fn needs_escape(c: char, keep_newlines: bool) -> bool {
    match c {
        '\n' | '\t' => !keep_newlines,
        // C0 controls, DEL, C1 controls.
        '\0'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}' => true,
        // Bidirectional overrides and isolates reorder what follows (Trojan Source).
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => true,
        _ => false,
    }
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_escape(c, keep_newlines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c, keep_newlines) {
            out.push(c);
            continue;
        }
        let _ = match c {
            '\n' => write!(out, "\\n"),
            '\r' => write!(out, "\\r"),
            '\t' => write!(out, "\\t"),
            '\0'..='\x7f' => write!(out, "\\x{:02x}", c as u32),
            _ => write!(out, "\\u{{{:04x}}}", c as u32),
        };
    }
    Cow::Owned(out)
}

/// `s` with every control character escaped (`\x1b`, `\r`, `\n`, `\u{202e}`): for one line of
/// output holding untrusted text.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// `s` with control characters escaped but newlines and tabs kept: for multi-line messages
/// (errors) that quote untrusted text.
pub fn text(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped() {
        assert!(matches!(line("posix.system"), Cow::Borrowed(_)));
        assert_eq!(
            line("system\x1b[2K\x1b[1A scan PASS\r"),
            "system\\x1b[2K\\x1b[1A scan PASS\\r"
        );
        assert_eq!(line("a\nb\0"), "a\\nb\\x00");
        assert_eq!(text("a\nb\x07"), "a\nb\\x07");
        assert_eq!(line("x\u{202e}y\u{9b}"), "x\\u{202e}y\\u{009b}");
        assert_eq!(line("naïve ☃"), "naïve ☃");
    }
}

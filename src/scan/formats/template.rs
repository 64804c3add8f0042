//! Jinja chat templates (GGUF metadata, `tokenizer_config.json`, `chat_template.jinja`): the
//! expressions and statements are tokenised and checked for what reaches Python objects from a
//! template (SSTI, CVE-2024-34359): dunder attributes and names, the `attr` filter, computed
//! names built from underscores or escapes, Python builtins that no template environment
//! provides, and statements that load other files. Text outside the tags is never judged, so a
//! system prompt that mentions `eval(` is not a finding.
//!
//! Real chat templates (every one in llama.cpp's `models/templates`, the Hugging Face tokenizer
//! configs) use names, filters (`tojson`, `trim`), tests, `namespace`, `loop`, `raise_exception`
//! and `strftime_now`; none of them needs any construct flagged here.

use crate::report::Severity;
use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;

/// Largest template text read.
const MAX_TEMPLATE: u64 = 16 << 20;

/// One problem with a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issue {
    pub severity: Severity,
    pub what: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    /// A string literal, unescaped; `hidden_underscore` when an escape sequence spelled `_`.
    Str {
        value: String,
        hidden_underscore: bool,
    },
    Num,
    Punct(char),
}

/// Python builtins and module names that no template environment defines: a template that
/// calls them expects to run outside the sandbox.
const PY_CALLS: &[&str] = &[
    "getattr",
    "setattr",
    "eval",
    "exec",
    "compile",
    "open",
    "__import__",
    "globals",
    "locals",
    "vars",
    "chr",
    "ord",
    "dir",
    "type",
    "breakpoint",
    "input",
];
/// Attribute names that only matter once an object from outside the template is reached.
const PY_ATTRS: &[&str] = &[
    "popen",
    "system",
    "spawn",
    "exec",
    "eval",
    "import_module",
    "check_output",
    "getoutput",
    "mro",
    "f_globals",
    "f_back",
    "gi_frame",
    "gi_code",
    "cr_frame",
    "tb_frame",
    "func_globals",
    "environ",
    "modules",
    "load_module",
];
/// Jinja's default globals whose function objects lead to `os` through their globals, and
/// Flask's (templates rendered by web frameworks); chat templates use none of them.
const GADGET_GLOBALS: &[&str] = &[
    "lipsum",
    "cycler",
    "joiner",
    "self",
    "config",
    "request",
    "url_for",
    "get_flashed_messages",
];

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'\'' | b'"' => {
                let q = c;
                let mut j = i + 1;
                let mut value = String::new();
                let mut hidden = false;
                loop {
                    let Some(&d) = b.get(j) else {
                        return Err("a string literal is not closed".into());
                    };
                    if d == q {
                        break;
                    }
                    if d == b'\\' {
                        let Some(e) = src.get(j + 1..).and_then(|r| r.chars().next()) else {
                            return Err("a string ends in a backslash".into());
                        };
                        j += 1 + e.len_utf8();
                        let before = value.len();
                        let hex = |j: usize, n: usize| {
                            src.get(j..j + n)
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32)
                        };
                        match e {
                            'x' => {
                                value.extend(hex(j, 2));
                                j += 2;
                            }
                            'u' => {
                                value.extend(hex(j, 4));
                                j += 4;
                            }
                            'U' => {
                                value.extend(hex(j, 8));
                                j += 8;
                            }
                            '0'..='7' => {
                                let mut v = e as u32 - '0' as u32;
                                let mut k = 0;
                                while k < 2 && b.get(j).is_some_and(|x| (b'0'..=b'7').contains(x)) {
                                    v = v * 8 + (b[j] - b'0') as u32;
                                    j += 1;
                                    k += 1;
                                }
                                value.extend(char::from_u32(v));
                            }
                            'N' => {
                                // \N{LOW LINE} and friends: keep the name, it is judged below.
                                let end = src[j..].find('}').map_or(src.len(), |e| j + e + 1);
                                value.push_str(src.get(j..end).unwrap_or(""));
                                j = end;
                            }
                            'n' => value.push('\n'),
                            't' => value.push('\t'),
                            other => value.push(other),
                        }
                        j = j.min(b.len());
                        while !src.is_char_boundary(j) {
                            j += 1;
                        }
                        hidden |= e != '_' && value[before..].contains('_');
                        continue;
                    }
                    let ch = src[j..].chars().next().unwrap_or('\u{fffd}');
                    value.push(ch);
                    j += ch.len_utf8();
                }
                out.push(Tok::Str {
                    value,
                    hidden_underscore: hidden,
                });
                i = j + 1;
            }
            b'0'..=b'9' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_')
                {
                    i += 1;
                }
                out.push(Tok::Num);
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] >= 0x80)
                {
                    i += 1;
                }
                out.push(Tok::Name(src[start..i].to_string()));
            }
            _ => {
                out.push(Tok::Punct(c as char));
                i += 1;
            }
        }
    }
    Ok(out)
}

fn is_dunder(s: &str) -> bool {
    s.len() > 4 && s.starts_with("__") && s.ends_with("__")
}

/// The expression and statement bodies of a template (`{{ … }}`, `{% … %}`), comments and raw
/// blocks left out. `Err` when a tag or comment is not closed.
fn tags(t: &str) -> Result<Vec<(bool, &str)>, String> {
    let mut out = Vec::new();
    let mut rest = t;
    let mut raw = false;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let (close, stmt) = if after.starts_with("{{") {
            ("}}", false)
        } else if after.starts_with("{%") {
            ("%}", true)
        } else if after.starts_with("{#") {
            ("#}", false)
        } else {
            rest = &rest[open + 1..];
            continue;
        };
        let body_start = open + 2;
        let Some(end) = find_close(&rest[body_start..], close) else {
            return Err(format!("a `{}` tag is not closed", &after[..2]));
        };
        let body = rest[body_start..body_start + end].trim_matches(['-', '+', '~']);
        let is_comment = close == "#}";
        if stmt {
            let word = body.split_whitespace().next().unwrap_or("");
            if word == "raw" {
                raw = true;
            } else if word == "endraw" {
                raw = false;
            } else if !raw {
                out.push((true, body));
            }
        } else if !is_comment && !raw {
            out.push((false, body));
        }
        rest = &rest[body_start + end + close.len()..];
    }
    Ok(out)
}

/// Where `close` ends the tag body `s`, skipping string literals.
fn find_close(s: &str, close: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None => {
                if b[i..].starts_with(close.as_bytes()) {
                    return Some(i);
                }
                if (b[i] == b'\'' || b[i] == b'"') && close != "#}" {
                    quote = Some(b[i]);
                }
            }
        }
        i += 1;
    }
    None
}

/// What in template `t` reaches outside the template sandbox; `Err` when it is not a
/// well-formed template.
pub(crate) fn analyse(t: &str) -> Result<Vec<Issue>, String> {
    let mut issues: Vec<Issue> = Vec::new();
    let mut add = |severity: Severity, what: String| {
        if !issues.iter().any(|i| i.what == what) {
            issues.push(Issue { severity, what });
        }
    };
    let tags = tags(t)?;
    // Names the template binds itself (`set x`, `for x, y in`, macro parameters) are its own.
    let mut bound: Vec<String> = Vec::new();
    for (stmt, body) in &tags {
        if !stmt {
            continue;
        }
        let toks = tokenize(body)?;
        if let Some(Tok::Name(w)) = toks.first()
            && matches!(w.as_str(), "set" | "for" | "macro" | "with")
        {
            for tok in &toks[1..] {
                match tok {
                    Tok::Name(n) if n == "in" => break,
                    Tok::Name(n) => bound.push(n.clone()),
                    Tok::Punct('=') if w == "set" => break,
                    _ => {}
                }
            }
        }
    }
    for (stmt, body) in tags {
        let toks = tokenize(body)?;
        if stmt
            && let Some(Tok::Name(w)) = toks.first()
            && matches!(w.as_str(), "import" | "from" | "include" | "extends")
        {
            add(
                Severity::High,
                format!(
                    "loads another template with `{{% {w} %}}` (a file the renderer's loader finds)"
                ),
            );
        }
        for (k, tok) in toks.iter().enumerate() {
            let prev = k.checked_sub(1).map(|p| &toks[p]);
            let next = toks.get(k + 1);
            match tok {
                Tok::Name(n) => {
                    let after_dot = prev == Some(&Tok::Punct('.'));
                    let called = next == Some(&Tok::Punct('('));
                    let filter = prev == Some(&Tok::Punct('|'));
                    if is_dunder(n) {
                        add(
                            Severity::Critical,
                            format!("reaches the Python internals `{n}`"),
                        );
                    } else if after_dot && n.starts_with('_') {
                        add(
                            Severity::Critical,
                            format!(
                                "reads the private attribute `{n}`, which the sandbox forbids and only an unsandboxed renderer allows"
                            ),
                        );
                    } else if filter && n == "attr" {
                        add(
                            Severity::Critical,
                            "uses the `attr` filter to reach attributes by a computed name".into(),
                        );
                    } else if after_dot && PY_ATTRS.contains(&n.as_str()) {
                        add(
                            Severity::Critical,
                            format!(
                                "uses `.{n}`, which only exists on Python objects a template should never reach"
                            ),
                        );
                    } else if !after_dot && !filter && called && PY_CALLS.contains(&n.as_str()) {
                        add(
                            Severity::Critical,
                            format!(
                                "calls the Python builtin `{n}()`, which no template environment provides"
                            ),
                        );
                    } else if !after_dot
                        && !filter
                        && GADGET_GLOBALS.contains(&n.as_str())
                        && !bound.contains(n)
                        && matches!(next, Some(Tok::Punct('.' | '[' | '|')))
                    {
                        add(
                            Severity::High,
                            format!(
                                "uses `{n}`, a framework global whose functions lead to `os` (not used by chat templates)"
                            ),
                        );
                    } else if filter && n == "format" {
                        // `"%c"|format(95)` spells `_` without writing it.
                        if let Some(Tok::Str { value, .. }) =
                            prev.and(k.checked_sub(2).map(|p| &toks[p]))
                            && value.contains("%c")
                        {
                            add(
                                Severity::Critical,
                                "builds characters with `%c`|format, a way to spell dunder names"
                                    .into(),
                            );
                        }
                    }
                }
                Tok::Str {
                    value,
                    hidden_underscore,
                } => {
                    let dunder = value
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .any(is_dunder);
                    if dunder {
                        add(
                            Severity::Critical,
                            format!(
                                "names the Python internal `{}` in a string",
                                value.chars().take(40).collect::<String>()
                            ),
                        );
                    } else if *hidden_underscore {
                        add(
                            Severity::Critical,
                            "spells `_` with an escape sequence to hide a name".into(),
                        );
                    } else if !value.is_empty() && value.chars().all(|c| c == '_') {
                        add(
                            Severity::High,
                            "builds a name from underscore pieces".into(),
                        );
                    } else if value.contains("\\N{LOW LINE}") || value.contains("N{LOW LINE}") {
                        add(
                            Severity::Critical,
                            "spells `_` as a named escape to hide a name".into(),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    Ok(issues)
}

/// Report the issues of template `t` (from `source`) with `rule`.
pub(crate) fn check(
    ctx: &mut Ctx<'_>,
    rule: &'static crate::report::Rule,
    member: &Member,
    offset: Option<u64>,
    source: &str,
    t: &str,
) {
    match analyse(t) {
        Ok(issues) => {
            for i in issues {
                ctx.add_sev(
                    rule,
                    Some(i.severity),
                    member,
                    offset,
                    format!("chat template {source} {}", i.what),
                );
            }
        }
        Err(why) => ctx.add_sev(
            rule,
            Some(Severity::Medium),
            member,
            offset,
            format!("chat template {source} is not a well-formed Jinja template ({why}), so it could not be checked; renderers refuse it too"),
        ),
    }
}

/// A template file (`chat_template.jinja`, `*.jinja`).
pub(crate) fn scan_file(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    match blob.read_all(MAX_TEMPLATE) {
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(t) => check(ctx, &rules::CHAT_TEMPLATE, member, None, "file", &t),
            Err(_) => ctx.add(
                &rules::CHAT_TEMPLATE,
                member,
                None,
                "the template file is not UTF-8 text; renderers refuse it".into(),
            ),
        },
        Ok(None) => ctx.add(
            &rules::RESOURCE_LIMIT,
            member,
            None,
            format!("template larger than {MAX_TEMPLATE} bytes; not checked"),
        ),
        Err(e) => ctx.add(
            &rules::UNREADABLE,
            member,
            None,
            format!("could not read: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(t: &str) -> Vec<Severity> {
        analyse(t)
            .unwrap()
            .into_iter()
            .map(|i| i.severity)
            .collect()
    }

    #[test]
    fn ordinary_chat_templates_are_clean() {
        let templates = [
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
            "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = \"\" %}{%- endif %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}{%- if tools is not none %}{{- tools | tojson(indent=4) }}{%- endif %}",
            "{%- set ns = namespace(found=false) -%}{%- for message in messages -%}{%- if message['role'] == 'system' -%}{%- set ns.found = true -%}{%- endif -%}{%- endfor -%}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') if false }}{{ strftime_now('%d %b %Y') }}{# a comment with __class__ and eval( #}",
            "{% raw %}{{ ''.__class__ }}{% endraw %}You are a helpful assistant. Never call eval( or os.system in answers.",
            "{{ message.content.split('</think>')[-1].lstrip('\\n') }}{% if loop.last and message.tool_calls %}{{ tool_call.function.arguments | tojson }}{% endif %}",
        ];
        for t in templates {
            assert!(analyse(t).unwrap().is_empty(), "{t}: {:?}", analyse(t));
        }
    }

    #[test]
    fn server_side_template_injection_is_critical() {
        let attacks = [
            "{{ ''|attr('__class__')|attr('__mro__') }}",
            "{% set x = cycler.__init__.__globals__ %}{{ x.os.system('id') }}",
            "{{ config.__class__.__base__.__subclasses__()[104] }}",
            "{{ __builtins__['eval']('1') }}",
            "{{ request['application']['\\x5f\\x5fglobals\\x5f\\x5f'] }}",
            "{{ getattr(getattr('', '__class__'), '__mro__') }}",
            "{{ ().__class__.__bases__[0].__subclasses__()[59].__init__.__globals__[''.join([chr(95), chr(95)])] }}",
            "{{ x()._module.popen('ls').read() }}",
            "{{ ('%c'|format(95)) * 2 ~ 'class' ~ ('%c'|format(95)) * 2 }}",
        ];
        for t in attacks {
            assert!(
                sev(t).contains(&Severity::Critical),
                "{t}: {:?}",
                analyse(t)
            );
        }
        assert_eq!(sev("{% include 'x.txt' %}"), [Severity::High]);
        assert_eq!(sev("{{ lipsum.x }}"), [Severity::High]);
        assert!(sev("{% for config in configs %}{{ config.name }}{% endfor %}").is_empty());
        assert!(analyse("{{ 'unclosed }}").is_err());
        assert!(analyse("{% if x %}").unwrap().is_empty());
        assert!(analyse("{{ x ").is_err());
    }

    #[test]
    fn multi_byte_text_and_escapes_are_handled() {
        // llama.cpp's templates have comments like `{# ƛƬ Default setup #}`.
        assert!(
            analyse("{# ƛƬ Default setup #}{{ 'ƛ\\ƛ' }}{{ x }}")
                .unwrap()
                .is_empty()
        );
        assert!(analyse("{{ '\\").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 256, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(1953329260), ..proptest::test_runner::Config::default() })]
        #[test]
        fn the_analyser_never_panics(t in ".{0,200}") {
            let _ = analyse(&t);
            let _ = analyse(&format!("{{{{ {t} }}}}"));
            let _ = analyse(&format!("{{% {t} %}}"));
        }
    }
}

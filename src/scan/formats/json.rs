//! JSON files of model folders (`config.json`, `tokenizer_config.json`, `tokenizer.json`,
//! `chat_template.json`, Keras and TF.js model configs): streamed through a serde visitor that
//! keeps nothing but what can run: every `chat_template` (a string, or a list of named
//! templates) is checked as a Jinja template, `auto_map` entries (code that
//! `trust_remote_code` loaders import) are listed, and Keras configs are walked for layers that
//! carry code. Python's `json` also accepts `NaN` and `Infinity`; so does this reader, so a
//! file cannot hide a template from it by being Python-only JSON.

use crate::report::Severity;
use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

/// Largest JSON file read (tokenizer.json of large vocabularies is tens of MB).
const MAX_JSON: u64 = 512 << 20;

#[derive(Default)]
struct Found {
    /// (where, template text)
    templates: Vec<(String, String)>,
    /// (key, target) of `auto_map`.
    auto_map: Vec<(String, String)>,
    /// The document is a Keras (or TF.js) model config.
    keras: bool,
}

struct Walk<'a> {
    found: &'a RefCell<Found>,
    depth: u32,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = 0;
        while let Some(key) = map.next_key::<String>()? {
            keys += 1;
            match key.as_str() {
                "chat_template" => map.next_value_seed(Template {
                    found: self.found,
                    name: None,
                })?,
                "auto_map" => map.next_value_seed(AutoMap { found: self.found })?,
                "class_name" | "modelTopology" | "keras_version" if self.depth == 0 => {
                    self.found.borrow_mut().keras = true;
                    map.next_value_seed(Walk {
                        found: self.found,
                        depth: self.depth + 1,
                    })?
                }
                _ => map.next_value_seed(Walk {
                    found: self.found,
                    depth: self.depth + 1,
                })?,
            }
        }
        let _ = keys;
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Walk {
                found: self.found,
                depth: self.depth + 1,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The value of a `chat_template` key: a template, or a list of `{"name", "template"}`.
struct Template<'a> {
    found: &'a RefCell<Found>,
    name: Option<String>,
}

impl<'de> DeserializeSeed<'de> for Template<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Template<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a chat template")
    }

    fn visit_str<E>(self, t: &str) -> Result<(), E> {
        let at = match &self.name {
            Some(n) => format!("`chat_template` `{n}`"),
            None => "`chat_template`".to_string(),
        };
        self.found.borrow_mut().templates.push((at, t.to_string()));
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Template {
                found: self.found,
                name: self.name.clone(),
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // {"name": "tool_use", "template": "…"}: the name may come after the template.
        let mut name = None;
        let mut template = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = map.next_value::<Option<String>>().ok().flatten(),
                "template" => template = Some(map.next_value::<String>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(t) = template {
            let at = format!("`chat_template` `{}`", name.unwrap_or_default());
            self.found.borrow_mut().templates.push((at, t));
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
}

/// `auto_map`: `{"AutoModel": "modeling_x.Model", "AutoTokenizer": ["tok.Slow", "tok.Fast"]}`.
struct AutoMap<'a> {
    found: &'a RefCell<Found>,
}

impl<'de> DeserializeSeed<'de> for AutoMap<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let mut f = self.found.borrow_mut();
        if let serde_json::Value::Object(m) = v {
            for (k, v) in m {
                let targets: Vec<String> = match v {
                    serde_json::Value::String(s) => vec![s],
                    serde_json::Value::Array(a) => a
                        .into_iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect(),
                    _ => vec![],
                };
                for t in targets {
                    f.auto_map.push((k.clone(), t));
                }
            }
        }
        Ok(())
    }
}

use serde::Deserialize;

/// Python's `json` accepts `NaN`, `Infinity` and `-Infinity` outside strings: replace them with
/// `null` of the same length's worth so the strict parser reads what Python reads.
fn pythonic_to_strict(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len());
    let mut i = 0;
    let mut in_str = false;
    while i < buf.len() {
        let c = buf[i];
        if in_str {
            out.push(c);
            if c == b'\\' && i + 1 < buf.len() {
                out.push(buf[i + 1]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_str = true;
            out.push(c);
            i += 1;
            continue;
        }
        let rest = &buf[i..];
        if let Some(w) = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            out.extend_from_slice(b"null");
            i += w.len();
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn walk(buf: &[u8]) -> Result<Found, serde_json::Error> {
    let found = RefCell::new(Found::default());
    let mut de = serde_json::Deserializer::from_slice(buf);
    Walk {
        found: &found,
        depth: 0,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(found.into_inner())
}

pub(crate) fn scan(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member, name: &str) {
    let buf = match blob.read_all(MAX_JSON) {
        Ok(Some(b)) => b,
        Ok(None) => {
            ctx.mark("json");
            return ctx.add(
                &rules::RESOURCE_LIMIT,
                member,
                None,
                format!("JSON file larger than {MAX_JSON} bytes; not checked for chat templates"),
            );
        }
        Err(e) => {
            return ctx.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("could not read: {e}"),
            );
        }
    };
    let found = match walk(&buf).or_else(|_| walk(&pythonic_to_strict(&buf))) {
        Ok(f) => f,
        Err(e) => {
            // Not JSON any parser reads: not a file of a model folder after all, unless it
            // says it is one.
            if name.ends_with(".json") {
                ctx.mark("json");
                ctx.add_sev(
                    &rules::FORMAT_MALFORMED,
                    Some(Severity::Medium),
                    member,
                    None,
                    format!("`{name}` is not valid JSON ({e}), so it could not be checked for chat templates; loaders refuse it too"),
                );
            }
            return;
        }
    };
    ctx.mark(if found.templates.is_empty() {
        "json"
    } else {
        "chat-template"
    });
    for (at, t) in &found.templates {
        super::template::check(ctx, &rules::CHAT_TEMPLATE, member, None, at, t);
    }
    let mut local = Vec::new();
    for (k, target) in &found.auto_map {
        if target.contains("--") {
            ctx.add_sev(
                &rules::REMOTE_CODE,
                Some(Severity::Medium),
                member,
                None,
                format!("`auto_map.{k}` loads `{target}`: code from another repository, fetched and run by `trust_remote_code` loaders"),
            );
        } else {
            local.push(format!("{k} → {target}"));
        }
    }
    if !local.is_empty() {
        ctx.add(
            &rules::REMOTE_CODE,
            member,
            None,
            format!(
                "`auto_map` maps {} to Python files of the model folder; `trust_remote_code` loaders import them",
                local.join(", ")
            ),
        );
    }
    if found.keras && buf.len() <= 64 << 20 {
        super::keras::scan_json(ctx, &buf, member);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_found_wherever_the_key_is() {
        let f = walk(br#"{"a": {"chat_template": "{{ x }}"}, "chat_template": [{"name": "default", "template": "{{ y }}"}, {"template": "{{ z }}", "name": "tool_use"}]}"#).unwrap();
        let t: Vec<&str> = f.templates.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(t, ["{{ x }}", "{{ y }}", "{{ z }}"]);
        assert_eq!(f.templates[2].0, "`chat_template` `tool_use`");
    }

    #[test]
    fn python_json_extensions_do_not_hide_a_template() {
        let doc = br#"{"x": NaN, "y": [-Infinity, Infinity], "s": "NaN stays", "chat_template": "{{ ''.__class__ }}"}"#;
        assert!(walk(doc).is_err());
        let f = walk(&pythonic_to_strict(doc)).unwrap();
        assert_eq!(f.templates.len(), 1);
    }

    #[test]
    fn auto_map_entries_are_collected() {
        let f =
            walk(br#"{"auto_map": {"AutoModel": "modeling.M", "AutoTokenizer": ["tok.S", null]}}"#)
                .unwrap();
        assert_eq!(f.auto_map.len(), 2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 256, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(1785950062), ..proptest::test_runner::Config::default() })]
        #[test]
        fn never_panics(t in ".{0,300}") {
            let _ = walk(t.as_bytes()); let _ = walk(&pythonic_to_strict(t.as_bytes()));
        }
    }
}

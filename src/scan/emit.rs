//! `scan --emit-allowlist`: allow-list entries for the unknown globals a report names, written
//! as TOML for a person to review (nothing is allowed until that file is passed back with
//! `--allowlist`). Known-dangerous globals are never written: no allow-list can allow them.

use crate::report::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Rule ids whose findings name a global that an allow-list entry could cover.
const ALLOWABLE: &[&str] = &["scan/pickle-unknown-global", "scan/skops-unknown-type"];

/// The TOML entries for `report`'s unknown globals (empty when there are none).
pub fn allowlist_toml(report: &Report) -> String {
    // (module, name) → (called, files)
    let mut wanted: BTreeMap<(String, String), (bool, Vec<String>)> = BTreeMap::new();
    for f in &report.findings {
        if !ALLOWABLE.contains(&f.rule_id.as_str()) {
            continue;
        }
        let Some(s) = &f.subject else { continue };
        let (Some(m), Some(n)) = (s["module"].as_str(), s["name"].as_str()) else {
            continue;
        };
        let e = wanted.entry((m.to_string(), n.to_string())).or_default();
        e.0 |= s["called"].as_bool().unwrap_or(true);
        if let Some(loc) = &f.location
            && e.1.len() < 3
            && !e.1.contains(&loc.path)
        {
            e.1.push(loc.path.clone());
        }
    }
    if wanted.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    out.push_str(
        "# Allow-list entries written by `modelsec scan --emit-allowlist` for the globals the\n",
    );
    out.push_str(
        "# scanned files import that are not on modelsec's allow-list. Nothing here is reviewed:\n",
    );
    out.push_str(
        "# for each entry, read the class in its library's source (how the pickle builds it, and\n",
    );
    out.push_str(
        "# what __setstate__/__init__/__del__ do with state from the file), write why it is safe\n",
    );
    out.push_str(
        "# in `why`, and delete entries you do not trust. Then pass the file with --allowlist.\n\n",
    );
    out.push_str("version = 1\n");
    for ((m, n), (called, files)) in wanted {
        let _ = write!(
            out,
            "\n[[allow]]\nmodule = {}\nnames = [{}]\n",
            toml_str(&m),
            toml_str(&n)
        );
        if !called {
            out.push_str("call = false\n");
        }
        let _ = writeln!(
            out,
            "why = {}",
            toml_str(&format!(
                "UNREVIEWED: {} by {}",
                if called {
                    "instantiated"
                } else {
                    "used as a value"
                },
                files.join(", ")
            ))
        );
    }
    out
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Finding, Location};
    use crate::scan::rules;

    #[test]
    fn entries_come_from_subjects_and_load_back() {
        let mut r = Report::new("scan", rules::ALL);
        let f = |rule, m: &str, n: &str, called: bool, path: &str| {
            Finding::new(rule, "x")
                .with_subject(serde_json::json!({"module": m, "name": n, "called": called}))
                .at(Location::path(path))
        };
        r.push(f(
            &rules::UNKNOWN_GLOBAL,
            "gensim.models.word2vec",
            "Word2Vec",
            true,
            "a.model",
        ));
        r.push(f(
            &rules::UNKNOWN_GLOBAL,
            "gensim.utils",
            "call_on_class_only",
            false,
            "a.model",
        ));
        r.push(f(
            &rules::UNKNOWN_GLOBAL,
            "gensim.models.word2vec",
            "Word2Vec",
            true,
            "b.model",
        ));
        r.push(f(
            &rules::DANGEROUS_GLOBAL,
            "posix",
            "system",
            true,
            "evil.pkl",
        ));
        let toml = allowlist_toml(&r);
        assert!(!toml.contains("posix"), "{toml}");
        assert!(toml.contains("call = false"), "{toml}");
        assert!(toml.contains("a.model, b.model"), "{toml}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("emitted.toml");
        std::fs::write(&p, &toml).unwrap();
        let a = crate::scan::Allowlist::load(&[p]).unwrap();
        assert_eq!(
            a.judge("gensim.models.word2vec", "Word2Vec"),
            crate::scan::allowlist::Verdict::Allowed { call: true }
        );
        assert_eq!(
            a.judge("gensim.utils", "call_on_class_only"),
            crate::scan::allowlist::Verdict::Allowed { call: false }
        );
        assert_eq!(allowlist_toml(&Report::new("scan", rules::ALL)), "");
    }
}

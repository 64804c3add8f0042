//! The scan policy: which globals a pickle may import (exact allow-list) and which known-dangerous
//! ones get a critical label. Kept as TOML in `policies/scan.toml` (embedded) and extendable with
//! user files of the same shape.

use crate::report::diag::{self, ConfigError, Diagnostics, Key};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// The built-in policy, embedded in the binary.
pub const BUILTIN: &str = include_str!("../../policies/scan.toml");
/// The built-in scikit-learn allow-list (generated from scikit-learn's public estimators).
pub const BUILTIN_SKLEARN: &str = include_str!("../../policies/scan-sklearn.toml");

/// Why a policy file could not be used (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AllowlistError {
    /// The file could not be read.
    #[error("could not read the allow-list: {0}")]
    Read(#[from] crate::util::fs::ReadError),
    /// The file is not a valid allow-list; every problem is listed with its place.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    allow: Vec<AllowEntry>,
    #[serde(default)]
    dangerous: Vec<DangerEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowEntry {
    module: String,
    names: Vec<String>,
    #[serde(default = "yes")]
    call: bool,
    /// Documentation for reviewers; read so that a mistyped key is an error, not ignored.
    #[serde(default)]
    #[allow(dead_code)]
    why: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DangerEntry {
    modules: Vec<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    why: String,
}

/// What the policy says about one global.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// On the allow-list; `call` says whether it may be called.
    Allowed {
        /// May be called or instantiated.
        call: bool,
    },
    /// Not on the allow-list and labelled dangerous, with the reason.
    Dangerous(String),
    /// Not on the allow-list.
    Unknown,
}

/// A loaded policy: the built-in one plus any user files.
#[derive(Clone, Debug)]
pub struct Allowlist {
    allow: HashMap<(String, String), bool>,
    dangerous: Vec<(String, Option<HashSet<String>>, String)>,
    digest: String,
    sources: Vec<String>,
}

impl Allowlist {
    /// The built-in policy only.
    pub fn builtin() -> Self {
        Self::load(&[]).expect("the built-in scan policy is valid (unit-tested)")
    }

    /// The built-in policy extended with user files.
    pub fn load(extra: &[PathBuf]) -> Result<Self, AllowlistError> {
        let mut texts = vec![
            ("builtin:scan.toml".to_string(), BUILTIN.to_string()),
            (
                "builtin:scan-sklearn.toml".to_string(),
                BUILTIN_SKLEARN.to_string(),
            ),
        ];
        for p in extra {
            let text = crate::util::fs::read_text(p, crate::util::fs::MAX_CONFIG_BYTES)?;
            texts.push((p.display().to_string(), text));
        }
        let mut policy = Allowlist {
            allow: HashMap::new(),
            dangerous: Vec::new(),
            digest: String::new(),
            sources: Vec::new(),
        };
        let mut hasher = Sha256::new();
        for (name, text) in &texts {
            policy.add(name, text)?;
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
            policy.sources.push(name.clone());
        }
        policy.digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        Ok(policy)
    }

    fn add(&mut self, name: &str, text: &str) -> Result<(), AllowlistError> {
        const KIND: &str = "allow-list";
        let file: File =
            toml::from_str(text).map_err(|e| diag::toml_error(KIND, name, text, &e))?;
        // Every problem is collected, each pointed at its key.
        let mut d = Diagnostics::new();
        if let Some(v) = file.version
            && v != 1
        {
            d.push_at(
                text,
                &[Key::Name("version")],
                format!("unsupported `version = {v}`; this modelsec reads version 1"),
                None,
            );
        }
        for (i, e) in file.allow.iter().enumerate() {
            let at = |k| [Key::Name("allow"), Key::Index(i), Key::Name(k)];
            if let Some(problem) = bad_module(&e.module) {
                d.push_at(
                    text,
                    &at("module"),
                    format!("module `{}` {problem}", e.module),
                    None,
                );
            }
            if e.names.is_empty() {
                d.push_at(
                    text,
                    &at("names"),
                    format!("`names` is empty (module `{}`)", e.module),
                    None,
                );
            }
            for n in &e.names {
                if n == "*" || n.is_empty() || n.contains(char::is_whitespace) {
                    d.push_at(
                        text,
                        &at("names"),
                        format!("name `{n}` is not an exact name"),
                        Some("wildcards are not allowed: list each class or function".into()),
                    );
                } else if is_dunder_path(n) {
                    d.push_at(
                        text,
                        &at("names"),
                        format!("name `{n}` has a dunder component"),
                        Some("attribute walks through dunders are never allowed".into()),
                    );
                } else {
                    self.allow.insert((e.module.clone(), n.clone()), e.call);
                }
            }
        }
        for (i, dg) in file.dangerous.iter().enumerate() {
            for m in &dg.modules {
                if let Some(problem) = bad_module(m) {
                    d.push_at(
                        text,
                        &[Key::Name("dangerous"), Key::Index(i), Key::Name("modules")],
                        format!("module `{m}` {problem}"),
                        None,
                    );
                    continue;
                }
                let names = dg
                    .names
                    .as_ref()
                    .filter(|n| !n.iter().any(|x| x == "*"))
                    .map(|n| n.iter().cloned().collect());
                self.dangerous.push((m.clone(), names, dg.why.clone()));
            }
        }
        if d.is_empty() {
            Ok(())
        } else {
            Err(diag::render(KIND, name, text, &d).into())
        }
    }

    /// What the policy says about `module.name` (both after Python 2 mapping).
    pub fn judge(&self, module: &str, name: &str) -> Verdict {
        if let Some(&call) = self.allow.get(&(module.to_string(), name.to_string())) {
            return Verdict::Allowed { call };
        }
        let full = format!("{module}.{name}");
        let first = name.split('.').next().unwrap_or(name);
        for (m, names, why) in &self.dangerous {
            let hit = match names {
                None => full == *m || full.starts_with(&format!("{m}.")),
                Some(set) => {
                    (module == m || module.starts_with(&format!("{m}."))) && set.contains(first)
                }
            };
            if hit {
                return Verdict::Dangerous(why.clone());
            }
        }
        Verdict::Unknown
    }

    /// `sha256:` digest over every policy text in load order (recorded in reports and signatures).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Where the policy came from, in load order.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Number of allowed `(module, name)` pairs.
    pub fn allowed_len(&self) -> usize {
        self.allow.len()
    }
}

fn bad_module(m: &str) -> Option<&'static str> {
    if m.is_empty() {
        Some("is empty")
    } else if m.contains(char::is_whitespace) || m.contains(':') {
        Some("is not a dotted module path")
    } else if m.split('.').any(str::is_empty) {
        Some("has an empty component")
    } else {
        None
    }
}

/// Whether any dotted component looks like `__x__`.
pub fn is_dunder_path(s: &str) -> bool {
    s.split('.')
        .any(|c| c.len() > 4 && c.starts_with("__") && c.ends_with("__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_loads() {
        let p = Allowlist::builtin();
        assert!(p.allowed_len() > 100);
        assert_eq!(
            p.judge("torch._utils", "_rebuild_tensor_v2"),
            Verdict::Allowed { call: true }
        );
        assert_eq!(p.judge("numpy", "mean"), Verdict::Allowed { call: false });
        assert!(matches!(p.judge("os", "system"), Verdict::Dangerous(_)));
        assert!(matches!(p.judge("os.path", "join"), Verdict::Dangerous(_)));
        assert!(matches!(p.judge("builtins", "eval"), Verdict::Dangerous(_)));
        assert!(matches!(
            p.judge("__builtin__", "getattr"),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            p.judge("torch.utils.collect_env", "run"),
            Verdict::Dangerous(_)
        ));
        assert_eq!(p.judge("builtins", "len"), Verdict::Unknown);
        assert_eq!(p.judge("mypkg", "Thing"), Verdict::Unknown);
        assert!(p.digest().starts_with("sha256:"));
    }

    #[test]
    fn user_files_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        std::fs::write(&f, "[[allow]]\nmodule = \"x\"\nnames = [\"*\"]\n").unwrap();
        let e = Allowlist::load(std::slice::from_ref(&f))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wildcards"), "{e}");
        std::fs::write(
            &f,
            "[[allow]]\nmodule = \"x\"\nnames = [\"A\"]\ncolour = 1\n",
        )
        .unwrap();
        let e = Allowlist::load(std::slice::from_ref(&f))
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour") && e.contains("a.toml:4:1"), "{e}");
        std::fs::write(&f, "[[allow]]\nmodule = \"mypkg\"\nnames = [\"Layer\"]\n").unwrap();
        let p = Allowlist::load(&[f]).unwrap();
        assert_eq!(p.judge("mypkg", "Layer"), Verdict::Allowed { call: true });
        assert_ne!(p.digest(), Allowlist::builtin().digest());
    }
}

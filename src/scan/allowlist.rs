//! The scan policy: which globals a pickle may import (exact allow-list) and which known-dangerous
//! ones get a critical label. Kept as TOML in `policies/scan.toml` (embedded, with the generated
//! scikit-learn list), extendable with reviewed library profiles (`--profile gensim`) and with
//! user files of the same shape (`--allowlist FILE`).
//!
//! Profiles and user files can only add allow entries for globals that are not known to be
//! dangerous: an entry naming `posix.system` is refused, not honoured.

use crate::report::diag::{self, ConfigError, Diagnostics, Key};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// The built-in policy, embedded in the binary.
pub const BUILTIN: &str = include_str!("../../policies/scan.toml");
/// The built-in scikit-learn allow-list (generated from scikit-learn's public estimators).
pub const BUILTIN_SKLEARN: &str = include_str!("../../policies/scan-sklearn.toml");

/// A reviewed allow-list for one library, selectable by name (`--profile NAME`).
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// Name on the command line.
    pub name: &'static str,
    /// What it covers.
    pub summary: &'static str,
    /// The TOML text (same shape as a user allow-list).
    pub text: &'static str,
}

/// The profiles shipped with modelsec. Each entry was checked in the library's source: how the
/// pickle constructs the object, and what `__setstate__`, `__del__` and the like do with state
/// taken from the pickle (the reason is written beside each entry).
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "gensim",
        summary: "gensim 0.12–4.x models, keyed vectors, dictionaries and topic models",
        text: include_str!("../../policies/scan-gensim.toml"),
    },
    Profile {
        name: "pandas",
        summary: "pandas 0.2x–2.x DataFrame, Series and Index pickles",
        text: include_str!("../../policies/scan-pandas.toml"),
    },
    Profile {
        name: "transformers",
        summary: "Hugging Face Trainer's training_args.bin (TrainingArguments, accelerate state, option enums)",
        text: include_str!("../../policies/scan-transformers.toml"),
    },
    Profile {
        name: "sklearn-crfsuite",
        summary: "sklearn-crfsuite CRF estimators (python-crfsuite models embedded in the pickle)",
        text: include_str!("../../policies/scan-sklearn-crfsuite.toml"),
    },
];

/// Why a policy could not be used (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AllowlistError {
    /// The file could not be read.
    #[error("could not read the allow-list: {0}")]
    Read(#[from] crate::util::fs::ReadError),
    /// The file is not a valid allow-list; every problem is listed with its place.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// No profile has this name.
    #[error("no allow-list profile is called `{name}`; the profiles are: {known}")]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
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
    /// Attributes the BUILD state must leave `None`.
    #[serde(default)]
    state: Option<StateEntry>,
    /// `false`: instances may be created without running the constructor (NEWOBJ,
    /// `copyreg._reconstructor`, as pickles of these classes do), but calling the class with
    /// arguments (REDUCE, which runs `__init__`) is a finding.
    #[serde(default = "yes")]
    init: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateEntry {
    #[serde(default)]
    none: Vec<String>,
    #[serde(default)]
    plain: Vec<String>,
    why: String,
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

/// A condition on the BUILD state of an allowed class, because the class acts on these
/// attributes (a finaliser that deletes the file named there, a temporary file created with a
/// prefix taken from the state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateRule {
    /// Attributes that must be `None` (or absent).
    pub none: Vec<String>,
    /// Attributes that must be `None` or a plain name: no path separator, no `..`.
    pub plain: Vec<String>,
    /// Why, for the finding.
    pub why: String,
}

#[derive(Clone, Copy, Debug)]
struct Allowed {
    call: bool,
    init: bool,
    state: Option<usize>,
}

/// Where a policy text comes from, which decides what it may do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Shipped and reviewed: may carve exact exceptions out of a dangerous module.
    Builtin,
    /// A profile or a user file: may not allow anything labelled dangerous.
    Added,
}

/// A loaded policy: the built-in one plus any profiles and user files.
#[derive(Clone, Debug)]
pub struct Allowlist {
    allow: HashMap<(String, String), Allowed>,
    states: Vec<StateRule>,
    dangerous: Vec<(String, Option<HashSet<String>>, String)>,
    digest: String,
    sources: Vec<String>,
    texts: Vec<(String, String)>,
}

impl Allowlist {
    /// The built-in policy only.
    pub fn builtin() -> Self {
        Self::load(&[]).expect("the built-in scan policy is valid (unit-tested)")
    }

    /// The built-in policy extended with user files.
    pub fn load(extra: &[PathBuf]) -> Result<Self, AllowlistError> {
        Self::with_profiles(&[], extra)
    }

    /// The built-in policy, the named profiles (see [`PROFILES`]) and user files, in that
    /// order.
    pub fn with_profiles(profiles: &[String], extra: &[PathBuf]) -> Result<Self, AllowlistError> {
        let mut texts = vec![
            (
                "builtin:scan.toml".to_string(),
                BUILTIN.to_string(),
                Origin::Builtin,
            ),
            (
                "builtin:scan-sklearn.toml".to_string(),
                BUILTIN_SKLEARN.to_string(),
                Origin::Builtin,
            ),
        ];
        let mut seen = HashSet::new();
        for name in profiles {
            let Some(p) = PROFILES.iter().find(|p| p.name == name) else {
                return Err(AllowlistError::UnknownProfile {
                    name: name.clone(),
                    known: PROFILES
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            if seen.insert(p.name) {
                texts.push((
                    format!("profile:{}", p.name),
                    p.text.to_string(),
                    Origin::Added,
                ));
            }
        }
        for p in extra {
            let text = crate::util::fs::read_text(p, crate::util::fs::MAX_CONFIG_BYTES)?;
            texts.push((p.display().to_string(), text, Origin::Added));
        }
        let mut policy = Allowlist {
            allow: HashMap::new(),
            states: Vec::new(),
            dangerous: Vec::new(),
            digest: String::new(),
            sources: Vec::new(),
            texts: Vec::new(),
        };
        let mut hasher = Sha256::new();
        for (name, text, origin) in texts {
            policy.add(&name, &text, origin)?;
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
            policy.sources.push(name.clone());
            policy.texts.push((name, text));
        }
        policy.digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        Ok(policy)
    }

    fn add(&mut self, name: &str, text: &str, origin: Origin) -> Result<(), AllowlistError> {
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
        // Danger labels first, so a file cannot allow what it (or the built-in list) labels.
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
            let state = match &e.state {
                Some(s) if s.none.is_empty() && s.plain.is_empty() => {
                    d.push_at(
                        text,
                        &at("state"),
                        "`state` names no attribute (`none` and `plain` are empty)",
                        None,
                    );
                    None
                }
                Some(s) => {
                    self.states.push(StateRule {
                        none: s.none.clone(),
                        plain: s.plain.clone(),
                        why: s.why.clone(),
                    });
                    Some(self.states.len() - 1)
                }
                None => None,
            };
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
                } else if let (Origin::Added, Some(why)) =
                    (origin, self.dangerous_label(&e.module, n))
                {
                    d.push_at(
                        text,
                        &at("names"),
                        format!(
                            "`{}.{n}` is a known-dangerous global ({why}); an allow-list cannot allow it",
                            e.module
                        ),
                        Some("remove the entry; if the model needs this global, it runs code when loaded".into()),
                    );
                } else {
                    let a = Allowed {
                        call: e.call,
                        init: e.init,
                        state,
                    };
                    // scikit-learn 0.22 made its modules private (`sklearn.svm.classes` became
                    // `sklearn.svm._classes`) and kept the old names as re-exports until 0.24:
                    // pickles of older estimators name the old path of the same class.
                    if origin == Origin::Builtin
                        && let Some(old) = sklearn_public_path(&e.module)
                    {
                        self.allow.insert((old, n.clone()), a);
                    }
                    self.allow.insert((e.module.clone(), n.clone()), a);
                }
            }
        }
        if d.is_empty() {
            Ok(())
        } else {
            Err(diag::render(KIND, name, text, &d).into())
        }
    }

    fn dangerous_label(&self, module: &str, name: &str) -> Option<&str> {
        let full = format!("{module}.{name}");
        let first = name.split('.').next().unwrap_or(name);
        self.dangerous.iter().find_map(|(m, names, why)| {
            let hit = match names {
                None => full == *m || full.starts_with(&format!("{m}.")),
                Some(set) => {
                    (module == m || module.starts_with(&format!("{m}."))) && set.contains(first)
                }
            };
            hit.then_some(why.as_str())
        })
    }

    /// What the policy says about `module.name` (both after Python 2 mapping).
    pub fn judge(&self, module: &str, name: &str) -> Verdict {
        if let Some(a) = self.allow.get(&(module.to_string(), name.to_string())) {
            return Verdict::Allowed { call: a.call };
        }
        match self.dangerous_label(module, name) {
            Some(why) => Verdict::Dangerous(why.to_string()),
            None => Verdict::Unknown,
        }
    }

    /// Whether an allowed class may be called with arguments (its constructor run); `false`
    /// for entries that allow only constructor-less creation.
    pub fn init_allowed(&self, module: &str, name: &str) -> bool {
        self.allow
            .get(&(module.to_string(), name.to_string()))
            .is_none_or(|a| a.init)
    }

    /// The condition on an allowed class's BUILD state, if its entry has one.
    pub fn state_rule(&self, module: &str, name: &str) -> Option<&StateRule> {
        let a = self.allow.get(&(module.to_string(), name.to_string()))?;
        a.state.map(|i| &self.states[i])
    }

    /// `sha256:` digest over every policy text in load order (recorded in reports and signatures).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Where the policy came from, in load order.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Every policy text in load order, with its source: what `scan --print-allowlist` shows.
    pub fn texts(&self) -> &[(String, String)] {
        &self.texts
    }

    /// Number of allowed `(module, name)` pairs.
    pub fn allowed_len(&self) -> usize {
        self.allow.len()
    }

    /// The shipped profile, not loaded in this policy, whose reviewed entries allow
    /// `module.name`: what a finding on an unknown global suggests (`--profile NAME`).
    pub fn profile_allowing(&self, module: &str, name: &str) -> Option<&'static str> {
        let hit = profile_index().get(&(module.to_string(), name.to_string()))?;
        (!self.sources.iter().any(|s| s == &format!("profile:{hit}"))).then_some(*hit)
    }
}

/// `(module, name)` → the first shipped profile that allows it, built once.
fn profile_index() -> &'static HashMap<(String, String), &'static str> {
    static INDEX: std::sync::OnceLock<HashMap<(String, String), &'static str>> =
        std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = HashMap::new();
        for p in PROFILES {
            // Profiles are unit-tested to load; one that did not would simply suggest nothing.
            let Ok(file) = toml::from_str::<File>(p.text) else {
                continue;
            };
            for e in &file.allow {
                for n in &e.names {
                    index.entry((e.module.clone(), n.clone())).or_insert(p.name);
                }
            }
        }
        index
    })
}

/// `sklearn.svm._classes` → `sklearn.svm.classes` (the pre-0.22 path), for sklearn modules.
fn sklearn_public_path(module: &str) -> Option<String> {
    if !module.starts_with("sklearn.") {
        return None;
    }
    let parts: Vec<&str> = module.split('.').collect();
    if !parts
        .iter()
        .any(|p| p.starts_with('_') && !p.starts_with("__"))
    {
        return None;
    }
    Some(
        parts
            .iter()
            .map(|p| p.strip_prefix('_').unwrap_or(p))
            .collect::<Vec<_>>()
            .join("."),
    )
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
    fn allow_list_gaps_found_on_real_files_issue_14_item_8() {
        let p = Allowlist::builtin();
        for (m, n) in [
            ("numpy.matrixlib.defmatrix", "matrix"),
            ("numpy.random", "__RandomState_ctor"),
            ("functools", "partial"),
        ] {
            assert_eq!(p.judge(m, n), Verdict::Allowed { call: true }, "{m}.{n}");
        }
        assert_eq!(
            p.judge("builtins", "hash"),
            Verdict::Allowed { call: false }
        );
        // joblib's pre-0.10 wrappers load a second file by a path taken from the pickle.
        for n in ["NDArrayWrapper", "ZNDArrayWrapper"] {
            assert!(
                matches!(p.judge("joblib.numpy_pickle", n), Verdict::Dangerous(ref w) if w.contains("np.load")),
                "{n}"
            );
        }
    }

    #[test]
    fn old_scikit_learn_paths_of_allowed_classes_are_allowed() {
        let p = Allowlist::builtin();
        let new = p.judge("sklearn.svm._classes", "LinearSVC");
        assert_eq!(new, Verdict::Allowed { call: true });
        assert_eq!(p.judge("sklearn.svm.classes", "LinearSVC"), new);
        assert_eq!(p.judge("sklearn.svm.classes", "system"), Verdict::Unknown);
    }

    /// The built-in lists may carve exact, reviewed exceptions out of a dangerous module;
    /// this is the complete list of them, so adding one is a deliberate change.
    #[test]
    fn builtin_exceptions_to_dangerous_modules_are_listed() {
        let p = Allowlist::builtin();
        let mut carved: Vec<String> = p
            .allow
            .keys()
            .filter(|(m, n)| p.dangerous_label(m, n).is_some())
            .map(|(m, n)| format!("{m}.{n}"))
            .collect();
        carved.sort();
        assert_eq!(
            carved,
            [
                "copyreg._reconstructor",
                "pathlib.Path",
                "pathlib.PosixPath",
                "pathlib.PurePath",
                "pathlib.PurePosixPath",
                "pathlib.PureWindowsPath",
                "pathlib.WindowsPath",
                "torch.jit._pickle.build_boollist",
                "torch.jit._pickle.build_doublelist",
                "torch.jit._pickle.build_intlist",
                "torch.jit._pickle.build_tensor_from_id",
                "torch.jit._pickle.build_tensorlist",
                "torch.jit._pickle.restore_type_tag",
                "torch.serialization._get_layout",
            ]
        );
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

    #[test]
    fn user_files_cannot_allow_dangerous_globals_issue_14_item_14() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        std::fs::write(
            &f,
            "[[allow]]\nmodule = \"posix\"\nnames = [\"system\"]\n\n[[allow]]\nmodule = \"builtins\"\nnames = [\"eval\", \"len\"]\n",
        )
        .unwrap();
        let err = Allowlist::load(std::slice::from_ref(&f)).unwrap_err();
        let AllowlistError::Invalid(c) = &err else {
            panic!("{err}")
        };
        assert_eq!(c.errors.len(), 2, "{}", c.rendered);
        assert!(
            c.rendered
                .contains("`posix.system` is a known-dangerous global")
        );
        assert!(c.rendered.contains("`builtins.eval`"));
        assert!(c.rendered.contains("a.toml:3:"), "{}", c.rendered);
        // A file's own danger labels count too.
        std::fs::write(
            &f,
            "[[dangerous]]\nmodules = [\"mypkg.net\"]\nwhy = \"opens sockets\"\n\n[[allow]]\nmodule = \"mypkg.net\"\nnames = [\"Client\"]\n",
        )
        .unwrap();
        assert!(Allowlist::load(&[f]).is_err());
    }

    #[test]
    fn checkpoint_metadata_value_types_are_allowed_and_the_rest_of_their_modules_is_not() {
        let p = Allowlist::builtin();
        for (m, n) in [
            ("datetime", "datetime"),
            ("datetime", "timezone"),
            ("decimal", "Decimal"),
            ("fractions", "Fraction"),
            ("argparse", "Namespace"),
            ("pathlib", "PosixPath"),
            ("pathlib", "WindowsPath"),
            ("torch.torch_version", "TorchVersion"),
            ("scipy.sparse.csr", "csr_matrix"),
            ("scipy.sparse._coo", "coo_matrix"),
        ] {
            assert_eq!(p.judge(m, n), Verdict::Allowed { call: true }, "{m}.{n}");
        }
        // The exact classes are carved out of the dangerous pathlib entry; nothing else is.
        for (m, n) in [
            ("pathlib", "Path.write_text"),
            ("pathlib", "os"),
            ("pathlib._local", "Path"),
        ] {
            assert!(matches!(p.judge(m, n), Verdict::Dangerous(_)), "{m}.{n}");
        }
        assert_eq!(p.judge("argparse", "ArgumentParser"), Verdict::Unknown);
    }

    #[test]
    fn unknown_globals_a_profile_allows_name_that_profile() {
        let p = Allowlist::builtin();
        assert_eq!(p.judge("pandas.core.frame", "DataFrame"), Verdict::Unknown);
        assert_eq!(
            p.profile_allowing("pandas.core.frame", "DataFrame"),
            Some("pandas")
        );
        assert_eq!(p.profile_allowing("mypkg", "Thing"), None);
        assert_eq!(p.profile_allowing("os", "system"), None);
        // Once the profile is loaded the global is allowed, and nothing is suggested.
        let with = Allowlist::with_profiles(&["pandas".into()], &[]).unwrap();
        assert_eq!(
            with.profile_allowing("pandas.core.frame", "DataFrame"),
            None
        );
    }

    #[test]
    fn profiles_load_by_name_and_change_the_digest() {
        for p in PROFILES {
            let a = Allowlist::with_profiles(&[p.name.to_string()], &[])
                .unwrap_or_else(|e| panic!("profile {}: {e}", p.name));
            assert_ne!(a.digest(), Allowlist::builtin().digest(), "{}", p.name);
            assert_eq!(a.sources().last().unwrap(), &format!("profile:{}", p.name));
            assert!(a.allowed_len() > Allowlist::builtin().allowed_len());
        }
        let e = Allowlist::with_profiles(&["tensorflow".into()], &[]).unwrap_err();
        assert!(e.to_string().contains("gensim"), "{e}");
    }

    #[test]
    fn every_profile_entry_says_why() {
        for p in PROFILES {
            let f: File = toml::from_str(p.text).unwrap();
            assert!(f.dangerous.is_empty(), "{}", p.name);
            for e in &f.allow {
                assert!(
                    e.why.as_deref().is_some_and(|w| w.len() > 20),
                    "profile {}: `{}` needs a reason",
                    p.name,
                    e.module
                );
            }
        }
    }

    #[test]
    fn state_rules_are_attached_to_their_entries() {
        let p = Allowlist::with_profiles(&["sklearn-crfsuite".into()], &[]).unwrap();
        let r = p
            .state_rule("sklearn_crfsuite._fileresource", "FileResource")
            .expect("FileResource is allowed only with name None");
        assert_eq!(r.none, ["name"]);
        assert!(p.state_rule("sklearn_crfsuite.estimator", "CRF").is_none());
    }
}

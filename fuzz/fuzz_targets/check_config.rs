//! Any bytes, read as any config format, then judged by every built-in rule: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsec::check::{self, PolicySet, Read};
use std::sync::OnceLock;

const NAMES: &[&str] = &[
    "deploy.yaml",
    "c.json",
    "p.toml",
    "config.properties",
    "basic_auth.ini",
    ".env",
    "Dockerfile",
    "x.service",
    "jupyter_server_config.py",
    "requirements.txt",
];

fuzz_target!(|data: &[u8]| {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    let set = SET.get_or_init(|| PolicySet::builtin().expect("built-in policies load"));
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = NAMES[pick as usize % NAMES.len()];
    if let Read::File(f) = check::parse_text(name, text.to_string(), None) {
        let files = vec![f];
        let subjects = check::model::subjects(&files);
        let _ = check::evaluate(&set.rules, &files, &subjects, Some(modelsec::check::Exposure::Internet));
    }
});

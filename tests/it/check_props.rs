//! Properties of the policy language and the config readers: arbitrary input never panics.

use modelsec::check::{self, PolicySet, Read};
use proptest::prelude::*;

/// Fragments of real policy syntax, so generated text gets past the TOML parser often.
fn policy_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[[rule]]\n".to_string()),
        Just("id = \"a/b\"\n".to_string()),
        Just("title = \"t\"\nseverity = \"high\"\ntarget = \"container\"\n".to_string()),
        Just("message = \"{value} {path}\"\nremediation = \"r\"\n".to_string()),
        Just("refs = { ncsc = [\"x\"], atlas = [\"AML.T0040\"] }\n".to_string()),
        Just("[rule.check]\n".to_string()),
        Just("[rule.fail_when]\n".to_string()),
        Just("any = [ { path = \"env.X\", op = \"truthy\" } ]\n".to_string()),
        Just("path = 'argv.\"--x\"'\nop = \"regex\"\nvalue = \"(\"\n".to_string()),
        Just("all = []\n".to_string()),
        Just(
            "not = { not = { path = \"a[?b == \\\"c\\\"]\", op = \"gt\", value = \"4Gi\" } }\n"
                .to_string()
        ),
        Just("[[rule.test]]\nexpect = \"fail\"\nfile = \".env\"\ninput = \"X=1\"\n".to_string()),
        Just("[[rule.raise]]\nseverity = \"critical\"\n".to_string()),
        "[ -~\n]{0,40}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

    #[test]
    fn loading_arbitrary_policy_text_never_panics(text in policy_text()) {
        match check::lang::load("p.toml", &text) {
            Ok(rules) => {
                // Whatever loads can run its own cases without panicking.
                let set = PolicySet { rules };
                let _ = check::run_tests(&set);
            }
            Err(e) => {
                prop_assert!(e.count > 0);
                prop_assert!(!e.rendered.is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_config_text_never_panics(
        text in "[ -~\n\t]{0,300}",
        name in prop::sample::select(vec![
            "deploy.yaml", "c.json", "p.toml", "config.properties", "basic_auth.ini", ".env",
            "Dockerfile", "x.service", "jupyter_server_config.py", "requirements.txt",
        ]),
    ) {
        let set = PolicySet::builtin().unwrap();
        if let Read::File(f) = check::parse_text(name, text, None) {
            let files = vec![f];
            let subjects = check::model::subjects(&files);
            let _ = check::evaluate(&set.rules, &files, &subjects, Some(modelsec::check::Exposure::Internet));
            let _ = check::inline_suppressions(&files, &subjects);
        }
    }

    #[test]
    fn selectors_parse_or_explain(text in "[a-z.\\[\\]*?\"@=~!\\- ]{0,30}") {
        if let Err(e) = check::select::Selector::parse(&text) {
            prop_assert!(!e.is_empty());
        }
    }
}

/// Fragments of YAML structure (anchors, aliases, flow and block collections, merge keys).
fn yaml_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a: &a [x, y, z]\n".to_string()),
        Just("b: &b [*a, *a, *a, *a]\n".to_string()),
        Just("c: &c [*b, *b, *b, *b]\n".to_string()),
        Just("d: [*c, *c, *c, *c, *c]\n".to_string()),
        Just("m: &m {k: v}\nn:\n  <<: *m\n".to_string()),
        Just("args: [\n  \"x\"\n]\n".to_string()),
        Just("- item\n".to_string()),
        Just("---\n".to_string()),
        Just("s: |\n  text\n".to_string()),
        "[ -~\n]{0,30}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(8), ..ProptestConfig::default() })]

    /// The YAML reader returns documents or an error, never panics, and what aliases add stays
    /// within the budget for the input's size.
    #[test]
    fn yaml_reader_is_total_and_bounded(text in yaml_text()) {
        fn size(n: &check::doc::Node) -> usize {
            1 + match &n.kind {
                check::doc::Kind::Seq(items) => items.iter().map(size).sum(),
                check::doc::Kind::Map(entries) => entries.iter().map(|(_, v)| 1 + size(v)).sum(),
                _ => 0,
            }
        }
        if let Ok(docs) = check::yaml::parse(&text) {
            let total: usize = docs.iter().map(size).sum();
            prop_assert!(total <= 2 * text.len() + check::yaml::alias_budget(text.len()) + 16);
        }
    }
}

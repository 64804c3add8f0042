//! Evaluating conditions on a subject's root, with the evidence that decided them.

use super::values::{node_test, scalar_test};
use super::{Cond, Leaf, Op, Quantifier};
use crate::check::select::Hit;

// ---------------------------------------------------------------------------------------------
// Evaluation.

/// What decided a leaf: the path and value a finding should name and point at.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub path: String,
    pub value: Option<String>,
    pub at: crate::check::doc::Pos,
    pub defaulted: bool,
}

fn evidence(hit: &Hit<'_>) -> Evidence {
    Evidence {
        path: hit.path.clone(),
        value: Some(hit.node.display()),
        at: hit.at,
        defaulted: false,
    }
}

impl Leaf {
    fn eval(&self, root: &crate::check::doc::Node) -> (bool, Option<Evidence>) {
        let mut hits = Vec::new();
        for p in &self.paths {
            hits = p.resolve(root);
            if !hits.is_empty() {
                break;
            }
        }
        let first_path = self
            .paths
            .first()
            .map(|p| p.text.clone())
            .unwrap_or_default();
        if hits.is_empty() {
            return match &self.default {
                Some(d) => (
                    scalar_test(&self.op, d),
                    Some(Evidence {
                        path: first_path,
                        value: Some(d.clone()),
                        at: Default::default(),
                        defaulted: true,
                    }),
                ),
                None => (
                    matches!(self.op, Op::Absent),
                    Some(Evidence {
                        path: first_path,
                        value: None,
                        at: Default::default(),
                        defaulted: false,
                    }),
                ),
            };
        }
        let results: Vec<bool> = hits.iter().map(|h| node_test(&self.op, h.node)).collect();
        let holds = match self.quantifier {
            Quantifier::Any => results.iter().any(|&r| r),
            Quantifier::All => results.iter().all(|&r| r),
        };
        // Point at a hit that agrees with the outcome: the one that satisfied it, or the one
        // that broke it.
        let pick = results.iter().position(|&r| r == holds).unwrap_or(0);
        (holds, Some(evidence(&hits[pick])))
    }
}

impl Cond {
    /// Whether the condition holds on `root`, and the evidence that decided it.
    pub fn eval(&self, root: &crate::check::doc::Node) -> (bool, Option<Evidence>) {
        match self {
            Cond::Leaf(l) => l.eval(root),
            Cond::Not(c) => {
                let (b, e) = c.eval(root);
                (!b, e)
            }
            Cond::All(cs) => {
                // When all hold, the first condition is the primary one (what a message names).
                let mut first = None;
                for c in cs {
                    let (b, e) = c.eval(root);
                    if !b {
                        return (false, e);
                    }
                    first = first.or(e);
                }
                (true, first)
            }
            Cond::Any(cs) => {
                let mut first: Option<Evidence> = None;
                for c in cs {
                    let (b, e) = c.eval(root);
                    if b {
                        return (true, e);
                    }
                    // Prefer evidence with a real position (a key that is present).
                    let better = match (&first, &e) {
                        (None, _) => true,
                        (Some(f), Some(n)) => !f.at.known() && n.at.known(),
                        _ => false,
                    };
                    if better {
                        first = e;
                    }
                }
                (false, first)
            }
        }
    }
}

impl Cond {
    /// Every piece of evidence that makes the condition hold (one per matching hit of a leaf;
    /// the union over the branches of `any`): what a rule with `report = "each"` reports.
    pub fn witnesses(&self, root: &crate::check::doc::Node) -> Vec<Evidence> {
        match self {
            Cond::Leaf(l) if l.quantifier == Quantifier::Any => {
                let mut hits = Vec::new();
                for p in &l.paths {
                    hits = p.resolve(root);
                    if !hits.is_empty() {
                        break;
                    }
                }
                if hits.is_empty() {
                    return match l.eval(root) {
                        (true, Some(e)) => vec![e],
                        _ => vec![],
                    };
                }
                hits.iter()
                    .filter(|h| node_test(&l.op, h.node))
                    .map(evidence)
                    .collect()
            }
            Cond::Any(cs) => {
                let mut out: Vec<Evidence> = Vec::new();
                for c in cs {
                    for e in c.witnesses(root) {
                        if !out.iter().any(|o| o.at == e.at && o.path == e.path) {
                            out.push(e);
                        }
                    }
                }
                out
            }
            Cond::All(cs) => {
                if cs.iter().all(|c| c.eval(root).0) {
                    cs.first().map(|c| c.witnesses(root)).unwrap_or_default()
                } else {
                    vec![]
                }
            }
            _ => match self.eval(root) {
                (true, Some(e)) => vec![e],
                (true, None) => vec![],
                _ => vec![],
            },
        }
    }
}

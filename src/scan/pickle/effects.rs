//! What a pickle does to the objects it made: persistent ids (PyTorch storages), stores into
//! containers, BUILD (state setting), and joblib's inline array data.

use super::super::input::Input;
use super::super::rules;
use super::machine::{Machine, is_special_attr};
use super::text::invalid;
use super::value::{V, dict_get, numpy_itemsize, state_keys};
use super::{End, StorageRef};

/// Nested pickles (joblib object arrays) deeper than this are not followed.
const MAX_NEST: u32 = 8;

impl Machine<'_> {
    pub(super) fn persistent_id(&mut self, pid: &V) {
        // torch: ('storage', storage_type, key, location, numel[, view_metadata])
        if let V::Tuple(t, _) = pid
            && t.len() >= 5
            && t[0].as_str() == Some("storage")
            && let (V::Global(cls), Some(key), Some(numel)) = (&t[1], t[2].as_str(), t[4].as_int())
            && numel >= 0
            && self.out.storages.len() < 1 << 20
        {
            self.out.storages.push(StorageRef {
                key: key.to_string(),
                class: cls.full(),
                numel: numel as u64,
            });
        }
    }

    /// APPEND(S) (`dict = false`) or SETITEM(S) (`dict = true`): the target must be a list or
    /// dict, or an object whose own method the loader calls; never a class or module.
    pub(super) fn store_into(
        &mut self,
        target: &V,
        items: impl Iterator<Item = V>,
        at: u64,
        op: &str,
        dict: bool,
    ) {
        match (target, dict) {
            (V::List(c), false) | (V::Dict(c), true) => {
                let mut c = c.borrow_mut();
                for v in items {
                    c.push(v);
                }
            }
            (V::Obj(_) | V::Unknown, _) => {}
            (V::Global(g), _) => self.find_once(
                &rules::MUTATES_GLOBAL,
                &format!("{op}:{}", g.full()),
                at,
                format!(
                    "{op} stores into `{}` (a module, class or function object)",
                    g.full()
                ),
            ),
            (other, _) => self.find_once(
                &rules::TYPE_CONFUSION,
                op,
                at,
                if dict {
                    format!(
                        "{op} on {}, not a dict (CVE-2026-24747 class)",
                        other.kind()
                    )
                } else {
                    format!("{op} on {}, not a list", other.kind())
                },
            ),
        }
    }

    /// ADDITEMS: the target must be a set (or an object with its own `add`).
    pub(super) fn add_items(&mut self, target: &V, at: u64) {
        match target {
            V::Set | V::Obj(_) | V::Unknown => {}
            V::Global(g) => self.find_once(
                &rules::MUTATES_GLOBAL,
                &format!("additems:{}", g.full()),
                at,
                format!(
                    "ADDITEMS adds to `{}` (a module, class or function object)",
                    g.full()
                ),
            ),
            other => self.find_once(
                &rules::TYPE_CONFUSION,
                "additems",
                at,
                format!("ADDITEMS on {}, not a set", other.kind()),
            ),
        }
    }

    pub(super) fn build(
        &mut self,
        target: &V,
        state: &V,
        at: u64,
        inp: &mut Input<'_>,
    ) -> Result<(), End> {
        match target {
            V::Global(g) => {
                self.find_once(
                    &rules::MUTATES_GLOBAL,
                    &format!("build:{}", g.full()),
                    at,
                    format!(
                        "BUILD sets attributes on `{}` itself (a module, class or function object): later imports of it read attacker values",
                        g.full()
                    ),
                );
            }
            V::Obj(o) => {
                // Plain dunder-shaped keys (`__FILE_RESOURCE_DATA__`) are data; the names
                // Python gives meaning to change what the object is or does.
                for key in state_keys(state).into_iter().filter(|k| is_special_attr(k)) {
                    self.find_once(
                        &rules::MUTATES_GLOBAL,
                        &format!("dunder:{key}"),
                        at,
                        format!(
                            "BUILD on a `{}` sets the special attribute `{key}`, which changes how the object behaves",
                            o.class.full()
                        ),
                    );
                }
                let class = o.class.clone();
                if let Some(rule) = self.policy.state_rule(&class.module, &class.name) {
                    self.check_state(&class.full(), rule, state, at);
                }
                if matches!(
                    class.module.as_str(),
                    "joblib.numpy_pickle" | "sklearn.externals.joblib.numpy_pickle"
                ) && class.name == "NumpyArrayWrapper"
                {
                    self.joblib_array(state, at, inp)?;
                }
                if let Some(w) = super::machine::joblib_wrapper(&class.module, &class.name) {
                    self.joblib_side_file(&class, w, state, at);
                }
            }
            V::Unknown => {}
            other => self.find_once(
                &rules::TYPE_CONFUSION,
                "build",
                at,
                format!("BUILD on {}, which has no state to set", other.kind()),
            ),
        }
        Ok(())
    }

    /// An allow-list entry that permits a class only with some attributes left `None` (its
    /// methods act on them: a file name its finaliser deletes, say): check the BUILD state.
    fn check_state(
        &mut self,
        class: &str,
        rule: &super::super::allowlist::StateRule,
        state: &V,
        at: u64,
    ) {
        let dict = match state {
            V::Dict(_) => Some(state.clone()),
            V::Tuple(t, _) => t.first().cloned(),
            _ => None,
        };
        let complete = match &dict {
            Some(V::Dict(c)) => !c.borrow().overflow,
            _ => false,
        };
        let checks = rule
            .none
            .iter()
            .map(|k| (k, false))
            .chain(rule.plain.iter().map(|k| (k, true)));
        for (key, plain_ok) in checks {
            let value = dict.as_ref().and_then(|d| dict_get(d, key));
            let bad = match value {
                Some(V::None) => None,
                Some(V::Str(s))
                    if plain_ok
                        && !s.contains(['/', '\\'])
                        && !s.split(['/', '\\']).any(|c| c == "..") =>
                {
                    None
                }
                Some(V::Str(s)) => Some(format!("`{s}`")),
                Some(v) => Some(v.kind().to_string()),
                None if complete || matches!(state, V::None) => None,
                None => Some("a value modelsec could not see".to_string()),
            };
            if let Some(what) = bad {
                let allowed = if plain_ok {
                    "None or a plain name (no path separator)"
                } else {
                    "None"
                };
                self.find_once(
                    &rules::PICKLE_UNSAFE_STATE,
                    &format!("state:{class}:{key}"),
                    at,
                    format!(
                        "BUILD sets `{key}` of a `{class}` to {what}; the allow-list permits this class only with `{key}` {allowed}: {}",
                        rule.why
                    ),
                );
            }
        }
    }

    /// A joblib < 0.10 wrapper's BUILD: joblib then loads `<pickle dir>/<filename>`. A plain
    /// file name is a file beside the pickle (recorded, so the scan reads it as the loader
    /// would); anything else is a path the pickle chooses.
    fn joblib_side_file(
        &mut self,
        class: &super::value::Global,
        w: super::machine::Wrapper,
        state: &V,
        at: u64,
    ) {
        let full = class.full();
        match dict_get(state, "filename") {
            Some(V::Str(f))
                if !f.is_empty()
                    && !f.contains(['/', '\\'])
                    && f.as_ref() != ".."
                    && f.as_ref() != "." =>
            {
                if w == super::machine::Wrapper::Nd && self.out.side_files.len() < 1024 {
                    self.out.side_files.push(f.to_string());
                }
            }
            other => {
                let what = match other {
                    Some(V::Str(f)) => format!("the path `{f}`"),
                    Some(v) => v.kind().to_string(),
                    None => "no file name modelsec could see".to_string(),
                };
                let why = match self.policy.judge(&class.module, &class.name) {
                    super::super::allowlist::Verdict::Dangerous(why) => why,
                    _ => String::new(),
                };
                self.find_once(
                    &rules::DANGEROUS_GLOBAL,
                    &format!("wrapper:{full}"),
                    at,
                    format!(
                        "BUILD of a `{full}` names {what} as the file joblib loads next: {why}"
                    ),
                );
            }
        }
    }

    /// joblib writes a NumpyArrayWrapper's array bytes (or, for object arrays, a nested pickle)
    /// into the stream right after its BUILD; the joblib unpickler reads them there.
    fn joblib_array(&mut self, state: &V, at: u64, inp: &mut Input<'_>) -> Result<(), End> {
        let get = |k: &str| dict_get(state, k);
        let shape = get("shape");
        let count = match &shape {
            Some(V::Tuple(t, _)) => t.iter().try_fold(1u128, |acc, v| {
                v.as_int()
                    .filter(|i| *i >= 0)
                    .and_then(|i| acc.checked_mul(i as u128))
            }),
            _ => None,
        };
        let dtype = get("dtype").and_then(|d| numpy_itemsize(&d));
        let aligned = get("numpy_array_alignment_bytes").is_some_and(|v| !matches!(v, V::None));
        match (count, dtype) {
            (_, Some(None)) => {
                // Object array: a complete nested pickle follows.
                if self.nest >= MAX_NEST {
                    return Err(End::Limit(format!(
                        "joblib object arrays nested more than {MAX_NEST} deep"
                    )));
                }
                self.nest += 1;
                let r = self.run_one(inp);
                self.nest -= 1;
                r
            }
            (Some(count), Some(Some(itemsize))) => {
                if aligned {
                    let pad = inp.array::<1>()?[0] as u64;
                    inp.raw_skip(pad)?;
                }
                let n = count
                    .checked_mul(itemsize as u128)
                    .filter(|n| *n <= u64::MAX as u128)
                    .ok_or_else(|| End::Invalid(format!("joblib array at {at}: size overflows")))?;
                inp.raw_skip(n as u64)?;
                Ok(())
            }
            _ => invalid(format!(
                "joblib NumpyArrayWrapper at {at}: cannot determine the array's shape and dtype, so the bytes after it cannot be located"
            )),
        }
    }
}

//! Unit tests of the pickle machine: each opcode family, the loader modes, and the regressions
//! found on real files (issue 14).

use super::super::allowlist::Allowlist;
use super::super::input::{Input, Mode};
use super::*;

fn scan(data: &[u8]) -> (Stream, Option<u64>) {
    scan_bytes(&Allowlist::builtin(), data, Mode::Linear)
}

fn scan_with(data: &[u8], loader: Loader) -> Stream {
    let mut r: &[u8] = data;
    let mut input = Input::new(&mut r, Mode::Linear);
    let opts = Options {
        loader,
        deadline: None,
    };
    scan_stream(&Allowlist::builtin(), opts, &mut input, 1)
}

fn rules_of(s: &Stream) -> Vec<&'static str> {
    s.outcomes
        .iter()
        .flat_map(|o| o.findings.iter().map(|f| f.rule.id))
        .collect()
}

#[test]
fn python2_names_are_mapped_only_below_protocol_3() {
    // protocol 2: cPickle.loads is pickle.loads (dangerous)
    let (s, _) = scan(b"\x80\x02ccPickle\nloads\n.");
    assert_eq!(s.outcomes[0].imports, ["pickle.loads"]);
    // protocol 4: no mapping; the name is still labelled dangerous by the catalogue
    let (s, _) = scan(b"\x80\x04ccPickle\nloads\n.");
    assert_eq!(s.outcomes[0].imports, ["cPickle.loads"]);
    assert_eq!(rules_of(&s), ["scan/pickle-dangerous-global"]);
    // __builtin__.set → builtins.set (allowed) under protocol 0
    let (s, _) = scan(b"c__builtin__\nset\n(]tR.");
    assert!(rules_of(&s).is_empty(), "{:?}", rules_of(&s));
}

#[test]
fn allowed_globals_and_plain_data_are_clean() {
    let (s, c) = scan(b"\x80\x02ccollections\nOrderedDict\n)R}(X\x01\x00\x00\x00aK\x01ub.");
    // BUILD with a dict state on an OrderedDict instance is fine
    assert!(rules_of(&s).is_empty(), "{:?}", rules_of(&s));
    assert_eq!((s.end, c, s.trailing), (End::Stop, None, None));
}

#[test]
fn memo_resolves_stack_global_operands() {
    // STACK_GLOBAL('os', 'system') with both names coming from the memo
    let (s, _) = scan(b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93.");
    assert_eq!(s.outcomes[0].imports, ["os.system"]);
}

#[test]
fn unknown_stack_global_operand_is_computed_import() {
    let (s, _) = scan(b"\x80\x04K\x01\x8c\x06system\x93.");
    assert_eq!(rules_of(&s), ["scan/pickle-computed-import"]);
}

#[test]
fn frame_crossing_is_detected_and_buffered_mode_sees_the_payload() {
    let p = b"cos\nsystem\n(S'id'\ntR";
    let mut d = b"\x80\x05\x95\x02\x00\x00\x00\x00\x00\x00\x00B".to_vec();
    d.push(1 + p.len() as u8);
    d.extend_from_slice(b"\0\0\0\0");
    d.extend_from_slice(p);
    d.push(b'.');
    let (lin, crossing) = scan(&d);
    assert_eq!(crossing, Some(12));
    assert!(
        rules_of(&lin).is_empty(),
        "the linear reading hides the call"
    );
    let (buf, _) = scan_bytes(&Allowlist::builtin(), &d, Mode::Buffered);
    assert_eq!(rules_of(&buf), ["scan/pickle-dangerous-global"]);
}

#[test]
fn joblib_inline_array_is_skipped_and_what_follows_is_scanned() {
    let dtype = b"cnumpy\ndtype\n(X\x02\x00\x00\x00f8\x89\x88tR";
    let mut d = b"\x80\x04]cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(X\x05\x00\x00\x00shapeK\x03\x85X\x05\x00\x00\x00dtype".to_vec();
    d.extend_from_slice(dtype);
    d.extend_from_slice(b"X\x1b\x00\x00\x00numpy_array_alignment_bytesK\x10ub");
    d.extend_from_slice(b"\x02\xff\xff"); // padding length 2 + padding
    d.extend_from_slice(&[0x63; 24]); // 3 × f8 of 'c' bytes: would be GLOBAL opcodes if read as a pickle
    d.extend_from_slice(b"acos\nsystem\n.");
    let (s, _) = scan(&d);
    assert_eq!(s.end, End::Stop);
    assert_eq!(rules_of(&s), ["scan/pickle-dangerous-global"]);
}

#[test]
fn truncated_and_invalid_streams_end_badly() {
    assert_eq!(scan(b"\x80\x02cos\nsys").0.end, End::Truncated);
    assert!(matches!(scan(b"\x80\x02\xff.").0.end, End::Invalid(_)));
    assert!(matches!(scan(b"\x80\x07.").0.end, End::Invalid(_)));
    assert!(matches!(scan(b"h\x05.").0.end, End::Invalid(_)));
}

#[test]
fn huge_frame_lengths_do_not_overflow() {
    // Found by cargo-fuzz: FRAME u64::MAX, then a read (offset arithmetic must saturate).
    let mut d = b"\x80\x04\x95".to_vec();
    d.extend_from_slice(&[0xff; 8]);
    d.extend_from_slice(b"\x95\xff\xff\xff\xff\xff\xff\xff\xffJ\x00\x00\x00\x00.");
    for mode in [Mode::Linear, Mode::Buffered] {
        let _ = scan_bytes(&Allowlist::builtin(), &d, mode);
    }
}

#[test]
fn deep_nesting_and_self_reference_are_bounded() {
    // 1M nested tuples, then 1M nested calls: dropping them must not recurse 1M deep.
    let mut d = b"\x80\x04N".to_vec();
    d.extend(std::iter::repeat_n(0x85u8, 1_000_000));
    d.extend_from_slice(b"0ccollections\nOrderedDict\n\x94N");
    for _ in 0..200_000 {
        d.extend_from_slice(b"h\x00\x8c\x01a\x86R"); // OrderedDict(('a', prev))
    }
    d.push(b'.');
    let (s, _) = scan(&d);
    assert_eq!(s.end, End::Stop);
    // A dict that contains itself (found by cargo-fuzz as a reference-cycle leak).
    let (s, _) = scan(b"\x80\x04}\x94(\x8c\x01kh\x00u.");
    assert_eq!(s.end, End::Stop);
}

#[test]
fn trailing_pickles_are_scanned() {
    let (s, _) = scan(b"\x80\x02N.\x80\x02cos\nsystem\n.");
    assert_eq!(s.trailing, Some(4));
    assert_eq!(rules_of(&s), ["scan/pickle-dangerous-global"]);
}

/// `pickle.dumps({i: {'a': 1.0, 'b': 2.0} for i in range(4500)}, protocol=4)`, as CPython
/// writes it: SETITEMS batches of 1000 pairs, each inner dict built inside the outer MARK.
fn nested_dicts(n: u32) -> Vec<u8> {
    let mut d = b"\x80\x04}\x94".to_vec();
    let keys: Vec<u32> = (0..n).collect();
    for batch in keys.chunks(1000) {
        d.push(b'(');
        for &i in batch {
            d.push(b'M');
            d.extend_from_slice(&(i as u16).to_le_bytes());
            d.extend_from_slice(b"}\x94(\x8c\x01a\x94G");
            d.extend_from_slice(&1.0f64.to_be_bytes());
            d.extend_from_slice(b"\x8c\x01b\x94G");
            d.extend_from_slice(&2.0f64.to_be_bytes());
            d.push(b'u');
        }
        d.push(b'u');
    }
    d.push(b'.');
    d
}

#[test]
fn mark_bookkeeping_does_not_drift_issue_14_item_1() {
    // 130 KB of ordinary nested dicts: the stack never holds more than ~2,000 values, but a
    // MARK count that added the saved stack and subtracted the popped items reached 4 M.
    let d = nested_dicts(4500);
    assert!(d.len() < 200_000);
    let (s, _) = scan(&d);
    assert_eq!(s.end, End::Stop, "{:?}", s.end);
    assert!(rules_of(&s).is_empty(), "{:?}", rules_of(&s));
}

#[test]
fn dunder_shaped_data_keys_are_not_special_attributes_issue_14_item_3() {
    // sklearn-crfsuite's FileResource pickles its file as `__FILE_RESOURCE_DATA__`: data.
    let plain =
        b"\x80\x02ccollections\nOrderedDict\n)R}X\x16\x00\x00\x00__FILE_RESOURCE_DATA__C\x01xsb.";
    let (s, _) = scan(plain);
    assert!(rules_of(&s).is_empty(), "{:?}", rules_of(&s));
    // The names Python gives meaning to still count, in a dict state or a slot state.
    for key in [
        "__class__",
        "__setstate__",
        "__reduce__",
        "__getattr__",
        "__dict__",
    ] {
        let mut d = b"\x80\x02ccollections\nOrderedDict\n)RN}X".to_vec();
        d.extend_from_slice(&(key.len() as u32).to_le_bytes());
        d.extend_from_slice(key.as_bytes());
        d.extend_from_slice(b"K\x01s\x86b.");
        let (s, _) = scan(&d);
        assert_eq!(rules_of(&s), ["scan/pickle-mutates-global"], "{key}");
    }
}

#[test]
fn one_newline_after_stop_is_not_trailing_data_issue_14_item_7() {
    let (s, _) = scan(b"\x80\x02N.\n");
    assert_eq!((&s.end, s.trailing), (&End::Stop, None));
    assert!(rules_of(&s).is_empty());
    let (s, _) = scan(b"\x80\x02N.\r\n  \n");
    assert_eq!(s.trailing, None);
    // Anything else after STOP is still scanned and reported.
    let (s, _) = scan(b"\x80\x02N.\nX");
    assert_eq!(s.trailing, Some(4));
    assert!(
        rules_of(&s).is_empty(),
        "the trailing pickle is invalid, but its end is not the stream's end"
    );
}

#[test]
fn torchscript_pickles_use_torchscript_globals_issue_14_item_2() {
    // A module object of a TorchScript class, a typed int list, a tensor: what
    // ScriptModule.save writes into data.pkl / constants.pkl.
    let d = b"\x80\x02c__torch__.vad.model.vad_annotator\nVADRNNJITMerge\nq\x00)\x81}q\x01(X\x08\x00\x00\x00trainingq\x02\x89X\x05\x00\x00\x00sizesq\x03ctorch.jit._pickle\nbuild_intlist\nq\x04]q\x05K\x01a\x85q\x06Rq\x07ub.";
    let ts = scan_with(d, Loader::TorchScript);
    assert!(rules_of(&ts).is_empty(), "{:?}", rules_of(&ts));
    assert_eq!(
        ts.outcomes[0].script_classes,
        ["__torch__.vad.model.vad_annotator.VADRNNJITMerge"]
    );
    // Read by Python's pickle, the TorchScript class is an unknown module.
    let py = scan_with(d, Loader::Python);
    assert_eq!(rules_of(&py), ["scan/pickle-unknown-global"]);
    // The module part of `__torch__.…` is not an attribute walk.
    assert!(!rules_of(&py).contains(&"scan/pickle-attribute-walk"));
    // A Python global in a TorchScript pickle is still judged (and labelled).
    let evil = scan_with(
        b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.",
        Loader::TorchScript,
    );
    assert_eq!(rules_of(&evil), ["scan/pickle-dangerous-global"]);
    // A TorchBind class from outside libtorch needs the application's native library.
    let custom = scan_with(
        b"\x80\x02c__torch__.torch.classes.myops\nKernel\n)\x81}b.",
        Loader::TorchScript,
    );
    assert_eq!(rules_of(&custom), ["scan/torchscript-custom-class"]);
    let quant = scan_with(
        b"\x80\x02c__torch__.torch.classes.quantized\nLinearPackedParamsBase\n)\x81}b.",
        Loader::TorchScript,
    );
    assert!(rules_of(&quant).is_empty());
}

#[test]
fn findings_name_the_global_and_whether_it_is_called() {
    let (s, _) = scan(b"\x80\x02cmypkg\nLayer\n)\x81cmypkg\nACT\n.");
    let globals: Vec<_> = s.outcomes[0]
        .findings
        .iter()
        .filter_map(|f| f.global.clone())
        .collect();
    assert_eq!(globals.len(), 2);
    assert_eq!(
        (
            globals[0].module.as_str(),
            globals[0].name.as_str(),
            globals[0].called
        ),
        ("mypkg", "Layer", true)
    );
    assert_eq!(
        (globals[1].name.as_str(), globals[1].called),
        ("ACT", false)
    );
}

#[test]
fn the_deadline_stops_a_long_pickle() {
    let d = nested_dicts(2000);
    let mut r: &[u8] = &d;
    let mut input = Input::new(&mut r, Mode::Linear);
    let opts = Options {
        loader: Loader::Python,
        deadline: Some(std::time::Instant::now()),
    };
    let s = scan_stream(&Allowlist::builtin(), opts, &mut input, 1);
    assert!(
        matches!(s.end, End::Limit(ref w) if w.contains("time budget")),
        "{:?}",
        s.end
    );
}

#[test]
fn functools_partial_is_a_value_and_calling_one_is_still_a_call() {
    // `functools.partial(int, base=2)`, protocol 4: building it calls nothing.
    let (s, _) = scan(b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\tfunctools\x94\x8c\x07partial\x94\x93\x94\x8c\x08builtins\x94\x8c\x03int\x94\x93\x94\x85\x94R\x94(h\x06)}\x94\x8c\x04base\x94K\x02sNt\x94b.");
    assert!(rules_of(&s).is_empty(), "{:?}", rules_of(&s));
    // Calling a partial (REDUCE on the result of REDUCE) is a computed call.
    let (s, _) = scan(b"\x80\x02cfunctools\npartial\ncbuiltins\nint\n\x85R)R.");
    assert_eq!(rules_of(&s), ["scan/pickle-computed-call"]);
    // And a partial around a dangerous function is labelled by its import.
    let (s, _) = scan(b"\x80\x02cfunctools\npartial\ncposix\nsystem\n\x85R.");
    assert_eq!(rules_of(&s), ["scan/pickle-dangerous-global"]);
}

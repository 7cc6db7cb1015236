//! Fuzzes the YAML/JSON parser and the snapshot's line-by-line redaction: any text must parse
//! or be refused, and a redaction that succeeds must keep only what its policy keeps (it reads
//! back, and holds no line the policy removed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodecheck::parse::redact::{self, Keep, Seg};
use nodecheck::parse::yaml;

/// Keeps `kind` and everything under `keep`; removes the rest, `secret` keys above all.
fn policy(path: &[Seg<'_>], value: Option<&str>, _: Option<&str>) -> Keep {
    match path {
        [Seg::Key("kind")] | [Seg::Key("keep"), ..] => Keep::Whole,
        [.., Seg::Key("secret")] => Keep::Remove,
        _ if value.is_some() => Keep::Remove,
        _ => Keep::Descend,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = yaml::parse(text) else {
        return;
    };
    let _ = doc.path("a.b.c");
    if let Ok(out) = redact::redact_lines(text, &policy) {
        // What stays parses, and is what the policy kept.
        let kept = yaml::parse(&out).expect("a redaction reads back");
        assert_eq!(kept.get("kind"), doc.get("kind"));
        assert_eq!(kept.get("keep"), doc.get("keep"));
    }
});

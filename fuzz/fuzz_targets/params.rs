//! `Params::parse` (query strings and form bodies): never panics, finds every
//! repeated name (RFC 6749 §3.1), reads an empty value as absent, and what it
//! decodes survives encoding and decoding again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simply_mcp_oauth::Params;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let params = Params::parse(text);
    let pairs = params.pairs();
    for (name, value) in pairs {
        let count = pairs.iter().filter(|(n, _)| n == name).count();
        match params.single(name) {
            Err(_) => assert!(count > 1, "{name:?} refused as repeated but appears once"),
            Ok(found) => {
                assert_eq!(count, 1, "{name:?} appears {count} times but was not refused");
                assert_eq!(found, (!value.is_empty()).then_some(value.as_str()));
                assert_eq!(params.required(name).ok(), found);
            }
        }
    }
    // A name that is not there is absent, not an error.
    let absent = "\u{0}absent";
    if !pairs.iter().any(|(n, _)| n == absent) {
        assert_eq!(params.single(absent).unwrap(), None);
        assert!(params.required(absent).is_err());
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .finish();
    assert_eq!(Params::parse(&encoded), params, "re-encoded as {encoded:?}");
    assert_eq!(Params::from_pairs(pairs.iter().cloned()), params);
});

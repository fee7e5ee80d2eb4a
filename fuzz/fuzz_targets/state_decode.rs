//! Fuzz target: `flinkform_state::format::decode` on arbitrary bytes (lossily decoded as
//! UTF-8). It must return `Ok` or `Err`, never panic; and a state it accepts must encode and
//! decode back to itself.
#![no_main]

use std::path::Path;

use flinkform_state::format::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("state.json");
    if let Ok(state) = decode(&text, path) {
        let again = encode(&state).expect("a decoded state encodes");
        let back = decode(&again, path).expect("an encoded state decodes");
        assert_eq!(back, state, "decode(encode(s)) != s");
    }
});

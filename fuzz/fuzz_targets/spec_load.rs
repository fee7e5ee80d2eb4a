//! Fuzz target: `flinkform_spec::load` on arbitrary bytes, as one file or several (the input
//! is split at each 0xFF byte, which valid UTF-8 never holds; each part is decoded lossily, as
//! a file read with replacement characters would be). Every diagnostic is then rendered the
//! way the CLI renders it, so a span that points outside its file or inside a character is
//! caught too. The loader must return `Ok` or `Err`, never panic.
#![no_main]

use flinkform_spec::{SourceFile, load};
use libfuzzer_sys::fuzz_target;
use miette::{GraphicalReportHandler, GraphicalTheme};

fuzz_target!(|data: &[u8]| {
    let files: Vec<SourceFile> = data
        .split(|b| *b == 0xFF)
        .take(4)
        .enumerate()
        .map(|(i, part)| {
            SourceFile::new(
                format!("f{i}.yaml"),
                String::from_utf8_lossy(part).into_owned(),
            )
        })
        .collect();
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    let mut out = String::new();
    match load(&files) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                let _ = handler.render_report(&mut out, w);
            }
        }
        Err(errors) => {
            let _ = handler.render_report(&mut out, &errors);
        }
    }
});

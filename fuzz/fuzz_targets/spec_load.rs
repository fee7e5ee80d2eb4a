//! Fuzz target: `flinkform_spec::load` on arbitrary bytes, as one file or several (the input
//! is split at each 0xFF byte, which valid UTF-8 never holds; each part is decoded lossily, as
//! a file read with replacement characters would be). Every diagnostic is then rendered the
//! way the CLI renders it, so a span that points outside its file or inside a character is
//! caught too. A stack that loads is then expanded and planned against an empty cloud (the
//! pure pipeline the CLI runs next), and the plan rendered as text and JSON. None of it may
//! panic: every outcome is `Ok` or `Err`.
#![no_main]

use std::collections::BTreeMap;

use flinkform_core::Observed;
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
            match flinkform_plan::expand(&loaded.stack) {
                Ok(desired) => {
                    let recorded = BTreeMap::new();
                    let _ = flinkform_plan::observe_request(&desired, &recorded);
                    let observed = Observed::default();
                    match flinkform_plan::plan(&desired, &recorded, &observed, &Default::default())
                    {
                        Ok(p) => {
                            out.push_str(&flinkform_plan::render_text(&p));
                            out.push_str(&flinkform_plan::plan_json(&p).to_string());
                        }
                        Err(e) => {
                            let _ = handler.render_report(&mut out, &e);
                        }
                    }
                }
                Err(e) => {
                    let _ = handler.render_report(&mut out, &e);
                }
            }
        }
        Err(errors) => {
            let _ = handler.render_report(&mut out, &errors);
        }
    }
});

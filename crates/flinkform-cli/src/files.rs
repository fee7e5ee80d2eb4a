//! Reading spec files from the paths given on the command line (files, or directories whose
//! `*.yaml`/`*.yml` files are read in sorted order).

use std::path::{Path, PathBuf};

use flinkform_spec::SourceFile;

use crate::error::CliError;

/// Reads every spec file named by `paths`.
pub(crate) fn read_specs(paths: &[PathBuf]) -> Result<Vec<SourceFile>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| CliError::io(path, &e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            entries.sort();
            if entries.is_empty() {
                return Err(CliError::NoSpecs {
                    path: display(path),
                });
            }
            for p in entries {
                files.push(read_one(&p)?);
            }
        } else {
            files.push(read_one(path)?);
        }
    }
    Ok(files)
}

fn read_one(path: &Path) -> Result<SourceFile, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, &e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let (line, column) = position(bytes.get(..at).unwrap_or_default());
        CliError::NotUtf8 {
            path: display(path),
            byte: bytes.get(at).copied().unwrap_or_default(),
            line,
            column,
        }
    })?;
    Ok(SourceFile {
        name: display(path),
        text,
    })
}

/// The 1-based line and column (in characters) just after `valid`, the valid UTF-8 prefix
/// of a file.
fn position(valid: &[u8]) -> (usize, usize) {
    let text = std::str::from_utf8(valid).unwrap_or_default();
    let line_start = text.rfind('\n').map_or(0, |i| i + 1);
    let line = text.bytes().filter(|b| *b == b'\n').count() + 1;
    let column = text.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

pub(crate) fn display(path: &Path) -> String {
    path.display().to_string()
}

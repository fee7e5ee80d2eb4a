//! Source text handling: splitting a file into its YAML documents (so that an error in one
//! document does not hide the others), turning parser locations (relative to a document)
//! into file positions, and building diagnostics that point at them.

use std::collections::BTreeMap;
use std::sync::Arc;

use flinkform_core::Origin;
use miette::Severity;
use serde_saphyr::{Location, Spanned};

use crate::error::{Code, SpecDiagnostic};
use crate::snippet::{Snippet, clip_text};

/// One spec file, shared by every diagnostic raised in it.
#[derive(Debug)]
pub(crate) struct FileSrc {
    pub(crate) name: String,
    pub(crate) text: Arc<str>,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl FileSrc {
    pub(crate) fn new(name: &str, text: &str) -> Self {
        let text: Arc<str> = Arc::from(text);
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            name: name.to_owned(),
            text,
            line_starts,
        }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (u32, u32) {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (to_u32(line), to_u32(column))
    }

    /// The byte offset of a 1-based line and character column.
    fn offset_of(&self, line: u64, column: u64) -> usize {
        let line = usize::try_from(line.max(1)).unwrap_or(usize::MAX);
        let Some(&start) = self.line_starts.get(line - 1) else {
            return self.text.len();
        };
        let skip = usize::try_from(column.max(1) - 1).unwrap_or(usize::MAX);
        self.text
            .get(start..)
            .and_then(|rest| rest.char_indices().nth(skip).map(|(i, _)| start + i))
            .unwrap_or(self.text.len())
    }

    /// The origin of a byte offset.
    pub(crate) fn origin_at(&self, offset: usize) -> Origin {
        let (line, column) = self.line_col(offset);
        Origin {
            file: self.name.clone(),
            line,
            column,
        }
    }

    /// A diagnostic at a span of this file.
    pub(crate) fn diagnostic(
        &self,
        severity: Severity,
        code: Code,
        at: Site,
        text: Text,
    ) -> SpecDiagnostic {
        let (src, span) =
            Snippet::new(&self.name, &self.text, &self.line_starts, at.offset, at.len);
        SpecDiagnostic {
            code,
            severity,
            message: clip_text(text.message),
            label: clip_text(text.label),
            help: clip_text(text.help),
            origin: self.origin_at(at.offset),
            src,
            span,
            range: (at.offset, at.len),
        }
    }

    /// Widens a zero-length (or one-bracket) span to something worth underlining: a flow
    /// collection up to its closing bracket, otherwise the rest of the line without a
    /// trailing comment.
    fn widen(&self, offset: usize, len: usize) -> usize {
        let Some(rest) = self.text.get(offset..) else {
            return len;
        };
        let first = rest.chars().next();
        if len <= 1 && matches!(first, Some('{' | '[')) {
            return matching_bracket(rest).unwrap_or(len.max(1));
        }
        if len > 0 {
            return len;
        }
        let line = rest.split('\n').next().unwrap_or("");
        let line = line.find(" #").map_or(line, |i| &line[..i]);
        line.trim_end().len()
    }
}

/// The length of a flow collection starting at `text[0]`, up to and including its closing
/// bracket (quotes are skipped roughly: good enough for a label).
fn matching_bracket(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A span in a file, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Site {
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

/// What a diagnostic says.
#[derive(Debug, Clone)]
pub(crate) struct Text {
    pub(crate) message: String,
    pub(crate) label: String,
    pub(crate) help: String,
}

/// Builds a [`Text`].
pub(crate) fn text(
    message: impl Into<String>,
    label: impl Into<String>,
    help: impl Into<String>,
) -> Text {
    Text {
        message: message.into(),
        label: label.into(),
        help: help.into(),
    }
}

/// One YAML document of a file: its text and where it starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk<'a> {
    pub(crate) text: &'a str,
    /// Byte offset of `text` in the file.
    pub(crate) start: usize,
    /// Number of lines before `text` in the file.
    pub(crate) lines_before: u64,
}

/// Splits a YAML stream at its document markers (`---` at the start of a line). A marker
/// line belongs to the document it opens. Block scalars cannot hold such a line at column
/// 0 (their content is indented), so the split matches the YAML parser's.
pub(crate) fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut lines_before = 0u64;
    let mut offset = 0;
    for (line_no, line) in (0u64..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        if is_marker && offset > start {
            chunks.push(Chunk {
                text: &text[start..offset],
                start,
                lines_before,
            });
            start = offset;
            lines_before = line_no;
        }
        offset += line.len();
    }
    if offset > start || chunks.is_empty() {
        chunks.push(Chunk {
            text: &text[start..],
            start,
            lines_before,
        });
    }
    chunks
}

/// Diagnostics of one document: turns document-relative locations into file spans.
#[derive(Debug)]
pub(crate) struct DocCtx<'f> {
    pub(crate) file: &'f FileSrc,
    chunk_start: usize,
    lines_before: u64,
    pub(crate) diags: Vec<SpecDiagnostic>,
    /// The scalars written quoted or as blocks (strings whatever they hold): document-relative
    /// byte offset → the value (clipped) and whether it was quoted (else a block scalar).
    pub(crate) strings: BTreeMap<usize, (String, bool)>,
}

/// What a value that must not be a string is instead.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar {
    /// A whole number (`cu`, `months`).
    Number,
    /// `true` or `false`.
    Bool,
}

impl<'f> DocCtx<'f> {
    pub(crate) fn new(file: &'f FileSrc, chunk: Chunk<'_>) -> Self {
        Self {
            file,
            chunk_start: chunk.start,
            lines_before: chunk.lines_before,
            diags: Vec::new(),
            strings: BTreeMap::new(),
        }
    }

    /// The file span of a document-relative byte range.
    pub(crate) fn site_at(&self, offset: usize, len: usize) -> Site {
        let offset = (self.chunk_start + offset).min(self.file.text.len());
        Site {
            offset,
            len: len.min(self.file.text.len() - offset),
        }
    }

    /// Refuses `value` of field `key` when it was written as a string (quoted, or a block
    /// scalar) although serde read it as a number or boolean: a quoted value is a string.
    pub(crate) fn not_quoted<T>(&mut self, key: &str, value: &Spanned<T>, want: Scalar) {
        let offset = |loc: &Location| {
            loc.span()
                .byte_offset()
                .and_then(|b| usize::try_from(b).ok())
        };
        let Some((written, quoted)) = [&value.referenced, &value.defined]
            .into_iter()
            .find_map(|loc| offset(loc).and_then(|o| self.strings.get(&o)))
            .cloned()
        else {
            return;
        };
        let (what, example) = match want {
            Scalar::Number => ("a number", "16"),
            Scalar::Bool => ("`true` or `false`", "true"),
        };
        let plain = written.trim();
        let fix = if plain.is_empty() { example } else { plain };
        let (label, help) = if quoted {
            (
                "a quoted value is a string",
                format!("remove the quotes: `{key}: {fix}`"),
            )
        } else {
            (
                "a block scalar is a string",
                format!("write the value plain on the key's line: `{key}: {fix}`"),
            )
        };
        self.error(
            Code::InvalidType,
            &value.referenced,
            text(
                format!("expected {what}, found the string {written:?}"),
                label,
                help,
            ),
        );
    }

    /// The file span of a parser location.
    pub(crate) fn site(&self, loc: &Location) -> Site {
        let span = loc.span();
        let offset = match span.byte_offset() {
            Some(b) => self.chunk_start + usize::try_from(b).unwrap_or(0),
            None => self
                .file
                .offset_of(loc.line() + self.lines_before, loc.column()),
        };
        let len = span
            .byte_len()
            .map_or(0, |l| usize::try_from(l).unwrap_or(0));
        let offset = offset.min(self.file.text.len());
        Site {
            offset,
            len: self.file.widen(offset, len),
        }
    }

    /// The origin (file, line, column) of a parser location.
    pub(crate) fn origin(&self, loc: &Location) -> Origin {
        self.file.origin_at(self.site(loc).offset)
    }

    /// Records an error at `loc`.
    pub(crate) fn error(&mut self, code: Code, loc: &Location, text: Text) {
        let site = self.site(loc);
        self.diags
            .push(self.file.diagnostic(Severity::Error, code, site, text));
    }

    /// The span of a mapping key, found before its value's location (serde gives no
    /// location for keys); the value's span when the key is not found.
    pub(crate) fn key_site(&self, key: &str, value: &Location) -> Site {
        let at = self.site(value);
        let found = if key.is_empty() {
            None
        } else {
            self.file
                .text
                .get(..at.offset)
                .and_then(|before| before.rfind(key))
        };
        match found {
            Some(offset) if offset >= self.chunk_start => Site {
                offset,
                len: key.len(),
            },
            _ => at,
        }
    }

    /// Records an error at a site.
    pub(crate) fn error_at(&mut self, code: Code, site: Site, text: Text) {
        self.diags
            .push(self.file.diagnostic(Severity::Error, code, site, text));
    }

    /// Records a warning at `loc`.
    pub(crate) fn warn(&mut self, code: Code, loc: &Location, text: Text) {
        let site = self.site(loc);
        self.diags
            .push(self.file.diagnostic(Severity::Warning, code, site, text));
    }

    /// How many errors (not warnings) were recorded.
    pub(crate) fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| !d.is_warning()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_markers() {
        let text = "a: 1\n---\nb: 2\n--- # c\nc: 3\n";
        let chunks = split_documents(text);
        let got: Vec<_> = chunks
            .iter()
            .map(|c| (c.text, c.start, c.lines_before))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a: 1\n", 0, 0),
                ("---\nb: 2\n", 5, 1),
                ("--- # c\nc: 3\n", 14, 3)
            ]
        );
    }

    #[test]
    fn leading_marker_and_empty_text() {
        assert_eq!(split_documents("---\na: 1\n").len(), 1);
        assert_eq!(split_documents("").len(), 1);
        assert_eq!(split_documents("a: '---'\nb: |\n  ---\n").len(), 1);
    }

    #[test]
    fn line_and_column() {
        let f = FileSrc::new("f.yaml", "ab\ncé d\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(6), (2, 3));
        assert_eq!(f.offset_of(2, 3), 6);
        assert_eq!(f.offset_of(9, 1), f.text.len());
    }

    #[test]
    fn widening() {
        let f = FileSrc::new("f.yaml", "a: { b: [1, '}'] } # c\nkey: value  # note\n");
        assert_eq!(f.widen(3, 1), "{ b: [1, '}'] }".len());
        assert_eq!(f.widen(23, 0), "key: value".len());
        assert_eq!(f.widen(28, 5), 5);
    }
}

//! What a diagnostic shows of its file: the lines around the offending value, with a long
//! line clipped around it, and its texts with long quoted values clipped. miette renders this
//! excerpt instead of the whole file, so a diagnostic stays a few kilobytes whatever the file
//! holds (a 10 MB one-line value included), and rendering it reads only these lines.
//!
//! The excerpt has its own byte offsets (the label's span is given in them); it reports the
//! file's line numbers and the value's true column, so `file:line:column` in the rendered
//! header is the file's.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// At most this many characters of a source line are shown.
const SHOWN_CHARS: usize = 160;
/// Of which at most this many before the start of the offending value.
const BEFORE_CHARS: usize = 48;
/// At most this many lines of a value that spans several are shown.
const SPAN_LINES: usize = 4;
/// A value quoted in a message (between backticks) longer than this is clipped.
const QUOTED_CHARS: usize = 64;
/// A message, label or help text longer than this is clipped.
const TEXT_CHARS: usize = 1000;
/// Marks where text was cut.
const CUT: &str = "…";

/// The lines of a file shown by one diagnostic.
#[derive(Debug, Clone)]
pub(crate) struct Snippet {
    name: String,
    text: String,
    /// The 0-based line in the file of the first line of `text`.
    first_line: usize,
    lines: Vec<Shown>,
}

/// One line of a [`Snippet`].
#[derive(Debug, Clone, Copy)]
struct Shown {
    /// Where the line starts in the snippet's text (a cut mark may come first).
    text_start: usize,
    /// Where the shown part of the file's line starts in the snippet's text.
    at: usize,
    /// Where the shown part starts in the file.
    file: usize,
    /// The shown part's length in bytes.
    len: usize,
    /// Bytes of the file's line cut before the shown part.
    skipped: usize,
}

impl Snippet {
    /// The excerpt of `text` (a file named `name` whose lines start at `line_starts`) around
    /// the span `offset..offset + len`, and that span in the excerpt's offsets.
    pub(crate) fn new(
        name: &str,
        text: &str,
        line_starts: &[usize],
        offset: usize,
        len: usize,
    ) -> (Self, SourceSpan) {
        let line_of = |o: usize| line_starts.partition_point(|&s| s <= o).max(1) - 1;
        let bounds = |i: usize| {
            let start = line_starts.get(i).copied().unwrap_or(text.len());
            let end = line_starts.get(i + 1).map_or(text.len(), |n| n - 1);
            let line = text.get(start..end).unwrap_or_default();
            (start, start + line.strip_suffix('\r').unwrap_or(line).len())
        };
        let offset = offset.min(text.len());
        let end = offset.saturating_add(len).min(text.len());
        let first_span_line = line_of(offset);
        let last_span_line = if end > offset {
            line_of(end - 1)
        } else {
            first_span_line
        };
        let last_shown_span_line = last_span_line.min(first_span_line + SPAN_LINES - 1);
        let first = first_span_line.saturating_sub(1);
        let last = (last_shown_span_line + 1).min(line_starts.len().saturating_sub(1));
        let mut out = String::new();
        let mut lines = Vec::new();
        let (mut span_start, mut span_end) = (0, 0);
        for i in first..=last.max(first) {
            let (ls, le) = bounds(i);
            if ls == text.len() && i > first_span_line {
                // The end of a file that ends with a line break: no line to show.
                break;
            }
            let line = text.get(ls..le).unwrap_or_default();
            let from = if i == first_span_line { offset - ls } else { 0 };
            let (ks, ke) = window(line, from);
            let text_start = out.len();
            if ks > 0 {
                out.push_str(CUT);
            }
            let at = out.len();
            out.push_str(line.get(ks..ke).unwrap_or_default());
            if ke < line.len() {
                out.push_str(CUT);
            }
            out.push('\n');
            lines.push(Shown {
                text_start,
                at,
                file: ls + ks,
                len: ke - ks,
                skipped: ks,
            });
            let map = |o: usize| at + (o.clamp(ls + ks, ls + ke) - (ls + ks));
            if i == first_span_line {
                span_start = map(offset);
            }
            if i == last_shown_span_line {
                span_end = map(if last_shown_span_line < last_span_line {
                    le
                } else {
                    end
                });
            }
        }
        let span = SourceSpan::new(span_start.into(), span_end.saturating_sub(span_start));
        (
            Self {
                name: name.to_owned(),
                text: out,
                first_line: first,
                lines,
            },
            span,
        )
    }

    /// Replaces every shown character of the file that starts inside one of `ranges` (byte
    /// ranges of the file) with `*`, as many as its UTF-8 bytes, so that offsets stay valid.
    pub(crate) fn redact(&mut self, ranges: &[(usize, usize)]) {
        let mut text = String::with_capacity(self.text.len());
        let mut done = 0;
        for l in &self.lines {
            let shown = self.text.get(l.at..l.at + l.len).unwrap_or_default();
            text.push_str(self.text.get(done..l.at).unwrap_or_default());
            for (i, c) in shown.char_indices() {
                let o = l.file + i;
                if ranges.iter().any(|(s, n)| o >= *s && o < s + n) {
                    text.extend(std::iter::repeat_n('*', c.len_utf8()));
                } else {
                    text.push(c);
                }
            }
            done = l.at + l.len;
        }
        text.push_str(self.text.get(done..).unwrap_or_default());
        self.text = text;
    }
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        // miette counts the column in bytes from the start of the line; in the file, the
        // line also holds what was cut before the shown part.
        let column = match self.lines.get(inner.line()) {
            Some(l) if inner.column() > 0 => {
                (inner.column() + l.skipped).saturating_sub(l.at - l.text_start)
            }
            _ => inner.column(),
        };
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.clone(),
                inner.data(),
                *inner.span(),
                inner.line() + self.first_line,
                column,
                inner.line_count(),
            )
            .with_language("yaml"),
        ))
    }
}

/// The byte range of `line` to show: all of it when it is short, else at most
/// [`SHOWN_CHARS`] characters starting at most [`BEFORE_CHARS`] before byte `from`.
fn window(line: &str, from: usize) -> (usize, usize) {
    if line.char_indices().nth(SHOWN_CHARS).is_none() {
        return (0, line.len());
    }
    let mut from = from.min(line.len());
    while !line.is_char_boundary(from) {
        from -= 1;
    }
    let start = line
        .get(..from)
        .and_then(|before| before.char_indices().rev().nth(BEFORE_CHARS - 1))
        .map_or(0, |(i, _)| i);
    // Cutting a few characters saves nothing: the cut mark takes their place.
    let start = if start <= CUT.len() { 0 } else { start };
    let end = line
        .get(start..)
        .and_then(|rest| rest.char_indices().nth(SHOWN_CHARS))
        .map_or(line.len(), |(i, _)| start + i);
    (start, end)
}

/// `text` with every value quoted in backticks clipped to [`QUOTED_CHARS`] characters, and
/// the whole to [`TEXT_CHARS`].
pub(crate) fn clip_text(text: String) -> String {
    if text.char_indices().nth(QUOTED_CHARS).is_none() {
        return text;
    }
    let mut out = String::with_capacity(text.len().min(TEXT_CHARS * 4));
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts are inside backticks.
        if i % 2 == 1 {
            out.push_str(&clip(part, QUOTED_CHARS));
        } else {
            out.push_str(part);
        }
        if out.len() > TEXT_CHARS * 4 {
            break;
        }
    }
    clip(&out, TEXT_CHARS).into_owned()
}

/// `s` cut to `max` characters, with a cut mark when something was cut.
fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}{CUT}", &s[..i])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(text: &str) -> Vec<usize> {
        let mut v = vec![0];
        v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        v
    }

    fn excerpt(text: &str, offset: usize, len: usize) -> (Snippet, String) {
        let (s, span) = Snippet::new("f.yaml", text, &starts(text), offset, len);
        let shown = s.text[span.offset()..span.offset() + span.len()].to_owned();
        (s, shown)
    }

    #[test]
    fn short_lines_are_shown_whole_with_one_line_of_context() {
        let text = "a: 1\nb: 2\nc: 3\nd: 4\n";
        let (s, shown) = excerpt(text, 13, 1);
        assert_eq!(s.text, "b: 2\nc: 3\nd: 4\n");
        assert_eq!(shown, "3");
        assert_eq!(s.first_line, 1);
        let header = s.read_span(&SourceSpan::new(8.into(), 1), 0, 0).unwrap();
        assert_eq!((header.line(), header.column()), (2, 3));
    }

    #[test]
    fn a_long_line_is_clipped_around_the_value_and_keeps_its_true_column() {
        let long = "x".repeat(100_000);
        let text = format!("k: v\nname: {long}END tail {long}\nz: 1\n");
        let at = text.find("END").unwrap();
        let (s, shown) = excerpt(&text, at, 3);
        assert_eq!(shown, "END");
        assert!(s.text.len() < 2 * SHOWN_CHARS, "{}", s.text.len());
        let line = s.text.lines().nth(1).unwrap();
        assert!(line.starts_with(CUT) && line.ends_with(CUT), "{line}");
        let (_, span) = Snippet::new("f.yaml", &text, &starts(&text), at, 3);
        let header = s.read_span(&span, 0, 0).unwrap();
        assert_eq!(header.line(), 1);
        assert_eq!(header.column(), at - 5);
    }

    #[test]
    fn a_long_value_is_underlined_as_far_as_it_is_shown() {
        let value = "y".repeat(1 << 20);
        let text = format!("name: {value}\n");
        let (s, shown) = excerpt(&text, 6, value.len());
        assert_eq!(shown.len(), SHOWN_CHARS - "name: ".len());
        assert_eq!(
            s.text,
            format!("name: {}{CUT}\n", "y".repeat(SHOWN_CHARS - 6))
        );
    }

    #[test]
    fn multi_line_values_show_a_few_lines() {
        let text: String = (0..100).map(|i| format!("l{i}\n")).collect();
        let (s, _) = excerpt(&text, 0, text.len());
        assert_eq!(s.text.lines().count(), SPAN_LINES + 1);
    }

    #[test]
    fn redaction_maps_file_offsets() {
        let long = "x".repeat(1000);
        let text = format!("password: {long}secret{long}\n");
        let at = text.find("secret").unwrap();
        let (mut s, _) = excerpt(&text, at, 6);
        s.redact(&[(at, 6)]);
        assert!(
            s.text.contains("******") && !s.text.contains("secret"),
            "{}",
            s.text
        );
    }

    #[test]
    fn texts_clip_long_quoted_values() {
        let msg = format!("`{}` is not a valid name", "a".repeat(10_000));
        let clipped = clip_text(msg);
        assert_eq!(
            clipped,
            format!("`{}{CUT}` is not a valid name", "a".repeat(QUOTED_CHARS))
        );
        assert_eq!(clip_text("short".to_owned()), "short");
        assert!(clip_text("b".repeat(5000)).chars().count() <= TEXT_CHARS + 1);
    }
}

//! Parsing one YAML document: the header (`apiVersion`, `kind`) first, then the whole
//! document into its DTO; serde-saphyr's errors (syntax, unknown or missing fields,
//! duplicate keys, wrong types) become diagnostics with a location.

use std::borrow::Cow;
use std::collections::BTreeMap;

use flinkform_core::Origin;
use serde::de::DeserializeOwned;
use serde_saphyr::{Error as YamlError, MessageFormatter, Spanned, UserMessageFormatter};

use crate::dto::{DocumentDto, HeaderDto};
use crate::error::Code;
use crate::source::{DocCtx, Scalar, text};
use crate::validate::{self, Checked};

/// The only `apiVersion`.
pub(crate) const API_VERSION: &str = "flinkform/v1";

/// The kinds of document, for help texts.
pub(crate) const KINDS: &[&str] = &["FlinkWorkspace", "MarketplaceSubscription"];

/// What one document turned out to be.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// Nothing but comments or an empty document.
    Empty,
    /// It could not be read as a document of a known kind (diagnostics recorded).
    Failed,
    /// A `FlinkWorkspace` document, checked.
    Workspace {
        /// Where the document starts (its first key).
        origin: Origin,
        /// The outcome of its checks.
        checked: Box<Checked>,
    },
    /// A `MarketplaceSubscription` document, checked.
    Subscription {
        /// Where the document starts (its first key).
        origin: Origin,
        /// The outcome of its checks.
        checked: Box<crate::market_validate::CheckedSubscription>,
    },
}

fn from_yaml<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    // YAML 1.2 booleans only: `yes`, `on`, `y` are not `true`.
    serde_saphyr::from_str_with_options(
        text,
        serde_saphyr::options! { with_snippet: false, strict_booleans: true },
    )
}

/// What the YAML events of a document tell that serde does not: its tags, and which scalars
/// were written as strings (quoted or as blocks).
#[derive(Debug, Default)]
struct Scan {
    /// Document-relative byte offset and length of each tag, and the tag as written.
    tags: Vec<(usize, usize, String)>,
    /// Document-relative byte offset of each string scalar → its value (clipped), and
    /// whether it was quoted (else a block scalar).
    strings: BTreeMap<usize, (String, bool)>,
}

/// Longest value kept in [`Scan::strings`] (they are only quoted in messages).
const KEPT_CHARS: usize = 32;

/// Reads the events of `text` (linear in its length; syntax errors are serde's to report,
/// so the scan just stops at one).
fn scan(text: &str) -> Scan {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    let mut out = Scan::default();
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((event, span))) = parser.next_event() {
        let tag = match &event {
            Event::Scalar(value, style, _, tag) => {
                if *style != ScalarStyle::Plain
                    && let Some(at) = span.start.byte_offset()
                {
                    let kept: String = value.chars().take(KEPT_CHARS).collect();
                    let quoted =
                        matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
                    out.strings.insert(at, (kept, quoted));
                }
                tag.as_ref()
            }
            Event::SequenceStart(_, _, tag) | Event::MappingStart(_, _, tag) => tag.as_ref(),
            _ => None,
        };
        if let Some(tag) = tag {
            let range = span.tag_span().and_then(|t| {
                let start = t.start.byte_offset()?;
                Some((start, t.end.byte_offset()?.saturating_sub(start)))
            });
            let (at, len) = range.unwrap_or((span.start.byte_offset().unwrap_or(0), 0));
            out.tags.push((at, len, tag.original()));
        }
    }
    out
}

/// Refuses every tag of the document; `true` when it has none.
fn no_tags(ctx: &mut DocCtx<'_>, tags: &[(usize, usize, String)]) -> bool {
    for (at, len, tag) in tags {
        let site = ctx.site_at(*at, *len);
        ctx.error_at(
            Code::YamlTag,
            site,
            text(
                format!("YAML tags are not supported: remove `{tag}`"),
                "a YAML tag",
                "write the value without a tag: numbers and `true`/`false` plain, strings plain or quoted; \
                 see specs/spec-language.md (\"Values\")",
            ),
        );
    }
    tags.is_empty()
}

/// Refuses the numbers and booleans of a workspace that were written as strings.
fn strict_workspace(ctx: &mut DocCtx<'_>, doc: &DocumentDto) {
    let spec = &doc.spec;
    let billing = &spec.billing.value;
    if let Some(v) = &billing.auto_renew {
        ctx.not_quoted("autoRenew", v, Scalar::Bool);
    }
    if let Some(d) = &billing.duration {
        strict_duration(ctx, &d.value);
    }
    if let Some(q) = &spec.quota {
        ctx.not_quoted("cu", &q.value.cu, Scalar::Number);
    }
    for p in spec.projects.iter().flatten() {
        if let Some(cu) = &p.value.cu {
            ctx.not_quoted("cu", cu, Scalar::Number);
        }
    }
    if let Some(v) = &spec.protect {
        ctx.not_quoted("protect", v, Scalar::Bool);
    }
}

fn strict_duration(ctx: &mut DocCtx<'_>, d: &crate::dto::DurationDto) {
    if let Some(m) = &d.months {
        ctx.not_quoted("months", m, Scalar::Number);
    }
    if let Some(y) = &d.years {
        ctx.not_quoted("years", y, Scalar::Number);
    }
}

/// Refuses the numbers and booleans of a subscription that were written as strings.
fn strict_subscription(ctx: &mut DocCtx<'_>, doc: &crate::market_dto::SubscriptionDocumentDto) {
    if let Some(d) = &doc.spec.product.billing.value.duration {
        strict_duration(ctx, &d.value);
    }
    if let Some(v) = &doc.spec.protect {
        ctx.not_quoted("protect", v, Scalar::Bool);
    }
}

/// Parses and checks one document.
pub(crate) fn document(ctx: &mut DocCtx<'_>, text: &str) -> Parsed {
    let header: Option<Spanned<HeaderDto>> = match from_yaml(text) {
        Ok(h) => h,
        Err(e) => {
            yaml_error(ctx, &e);
            return Parsed::Failed;
        }
    };
    let Some(header) = header else {
        return Parsed::Empty;
    };
    let Scan { tags, strings } = scan(text);
    if !no_tags(ctx, &tags) {
        return Parsed::Failed;
    }
    ctx.strings = strings;
    let origin = ctx.origin(&header.referenced);
    if let Some(v) = &header.value.api_version
        && v.value != API_VERSION
    {
        ctx.error(
            Code::ApiVersion,
            &v.referenced,
            crate::source::text(
                format!("`{}` is not a supported apiVersion", v.value),
                "unknown apiVersion",
                format!("use `apiVersion: {API_VERSION}`"),
            ),
        );
    }
    if let Some(k) = &header.value.kind
        && !KINDS.contains(&k.value.as_str())
    {
        ctx.error(
            Code::Kind,
            &k.referenced,
            crate::source::text(
                format!("`{}` is not a kind of document", k.value),
                "unknown kind",
                format!("the kinds are: {}", KINDS.join(", ")),
            ),
        );
        return Parsed::Failed;
    }
    if header
        .value
        .kind
        .as_ref()
        .is_some_and(|k| k.value == "MarketplaceSubscription")
    {
        return match from_yaml::<crate::market_dto::SubscriptionDocumentDto>(text) {
            Ok(doc) => {
                strict_subscription(ctx, &doc);
                Parsed::Subscription {
                    origin,
                    checked: Box::new(crate::market_validate::check_subscription(ctx, doc)),
                }
            }
            Err(e) => {
                yaml_error(ctx, &e);
                Parsed::Failed
            }
        };
    }
    match from_yaml::<DocumentDto>(text) {
        Ok(doc) => {
            strict_workspace(ctx, &doc);
            Parsed::Workspace {
                origin,
                checked: Box::new(validate::check_workspace(ctx, doc)),
            }
        }
        Err(e) => {
            yaml_error(ctx, &e);
            Parsed::Failed
        }
    }
}

/// Records a serde-saphyr error as a diagnostic.
fn yaml_error(ctx: &mut DocCtx<'_>, err: &YamlError) {
    let err = err.without_snippet();
    let loc = err.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
    let see = "see specs/spec-language.md for the fields of each kind";
    let (code, t) = match err {
        YamlError::DuplicateMappingKey { key, .. } => {
            let key = key.as_deref().unwrap_or("this key");
            (
                Code::DuplicateKey,
                text(
                    format!("`{key}` is given twice in the same mapping"),
                    "duplicate key",
                    format!("keep one `{key}`: keys are unique in a YAML mapping"),
                ),
            )
        }
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            let hint = did_you_mean(field, expected)
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            (
                Code::UnknownField,
                text(
                    format!("unknown field `{field}`"),
                    "not a field here",
                    format!("{hint}the fields here are: {}; {see}", expected.join(", ")),
                ),
            )
        }
        YamlError::SerdeMissingField { field, .. } => (
            Code::MissingField,
            text(
                format!("missing field `{field}`"),
                format!("this mapping needs `{field}`"),
                format!("add `{field}`; {see}"),
            ),
        ),
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (
            Code::InvalidType,
            text(
                format!("expected {}, found {unexpected}", friendly(expected)),
                format!("expected {}", friendly(expected)),
                format!("write {} here; {see}", friendly(expected)),
            ),
        ),
        YamlError::Unexpected { expected, .. } => (
            Code::InvalidType,
            text(
                format!("expected {}", friendly(expected)),
                format!("expected {}", friendly(expected)),
                format!("write {} here; {see}", friendly(expected)),
            ),
        ),
        YamlError::InvalidScalar { ty, .. } => {
            let want = scalar_name(ty);
            (
                Code::InvalidType,
                text(
                    format!("expected {want}"),
                    format!("not {want}"),
                    format!("write {want} here; {see}"),
                ),
            )
        }
        YamlError::InvalidBooleanStrict { .. } => (
            Code::InvalidType,
            text(
                "expected `true` or `false`",
                "not a boolean",
                "write `true` or `false`: `yes`, `no`, `on`, `off` and `y` are not booleans in a spec \
                 (YAML 1.2)",
            ),
        ),
        other => {
            let message = printable(&UserMessageFormatter.format_message(other));
            let is_type = matches!(
                other,
                YamlError::SerdeInvalidLength { .. }
                    | YamlError::SerdeUnknownVariant { .. }
                    | YamlError::NullIntoString { .. }
            );
            if is_type {
                (Code::InvalidType, text(message, "wrong type", see))
            } else {
                (
                    Code::YamlSyntax,
                    text(
                        format!("invalid YAML: {message}"),
                        "here",
                        "fix the YAML syntax (indentation, quotes, brackets); values with `:` or `#` need quotes",
                    ),
                )
            }
        }
    };
    ctx.error(code, &loc, t);
}

/// The message with control characters (line breaks, escapes) replaced by spaces.
fn printable(message: &str) -> String {
    message
        .replace("\\'", "'")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Turns serde's "struct DocumentDto"-style expectations into words.
fn friendly(expected: &str) -> Cow<'_, str> {
    if expected.starts_with("struct ") || expected.contains("map") {
        Cow::Borrowed("a mapping (`key: value` lines or `{ ... }`)")
    } else if expected.contains("sequence") {
        Cow::Borrowed("a list (`- item` lines or `[ ... ]`)")
    } else if expected == "a string" || expected == "string" {
        Cow::Borrowed("a string")
    } else {
        Cow::Borrowed(expected)
    }
}

fn scalar_name(ty: &str) -> &'static str {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "bool" => "`true` or `false`",
        "f32" | "f64" => "a number",
        _ => "a value of another type",
    }
}

/// The expected name closest to `got`, when it is close enough to be a typo.
fn did_you_mean<'a>(got: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|e| {
            (
                distance(&got.to_ascii_lowercase(), &e.to_ascii_lowercase()),
                *e,
            )
        })
        .filter(|(d, e)| *d <= 2.max(e.len() / 4))
        .min()
        .map(|(_, e)| e)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_suggestions() {
        assert_eq!(
            did_you_mean("vswitches", &["vpc", "vSwitches"]),
            Some("vSwitches")
        );
        assert_eq!(did_you_mean("ossbuket", &["ossBucket"]), Some("ossBucket"));
        assert_eq!(did_you_mean("colour", &["vpc", "vSwitches"]), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}

//! Parsing one YAML document: the header (`apiVersion`, `kind`) first, then the whole
//! document into its DTO; serde-saphyr's errors (syntax, unknown or missing fields,
//! duplicate keys, wrong types) become diagnostics with a location.

use std::borrow::Cow;

use flinkform_core::Origin;
use serde::de::DeserializeOwned;
use serde_saphyr::{Error as YamlError, MessageFormatter, Spanned, UserMessageFormatter};

use crate::dto::{DocumentDto, HeaderDto};
use crate::error::Code;
use crate::source::{DocCtx, text};
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
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { with_snippet: false })
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
            Ok(doc) => Parsed::Subscription {
                origin,
                checked: Box::new(crate::market_validate::check_subscription(ctx, doc)),
            },
            Err(e) => {
                yaml_error(ctx, &e);
                Parsed::Failed
            }
        };
    }
    match from_yaml::<DocumentDto>(text) {
        Ok(doc) => Parsed::Workspace {
            origin,
            checked: Box::new(validate::check_workspace(ctx, doc)),
        },
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
        other => {
            let message = printable(&UserMessageFormatter.format_message(other));
            let is_type = matches!(
                other,
                YamlError::SerdeInvalidLength { .. }
                    | YamlError::SerdeUnknownVariant { .. }
                    | YamlError::InvalidBooleanStrict { .. }
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

//! YAML specs → a validated desired model ([`Stack`]), with source spans, miette diagnostics
//! and the JSON Schema. This crate does no IO: callers pass file names and contents.
//!
//! [`load`] reads every document of every file, checks every rule (reporting all broken
//! rules of all files at once, each at the offending value) and returns the [`Stack`] with
//! the warnings (recommendations), or [`SpecErrors`]. [`json_schema`] is the JSON Schema of
//! a document, generated from the same types serde reads.

mod dto;
mod error;
pub mod market;
mod market_dto;
mod market_validate;
pub mod model;
mod parse;
mod rules;
mod snippet;
mod source;
mod validate;

use std::collections::BTreeMap;

pub use error::{Code, SpecDiagnostic, SpecErrors};
pub use market::{
    AccountMode, BillingAccountSpec, BillingCenter, BillingSite, Company, ConnectorMode, Language,
    MarketBilling, MarketProduct, MarketplaceSubscription, SaasWorkspaceSpec, SecretRef,
    WorkspaceMode,
};
use miette::Severity;
pub use model::{
    Billing, Document, Duration, FlinkWorkspace, Network, Project, SpecResource, Stack, Storage,
    Upstream, VSwitchRef, VpcRef,
};
use source::{DocCtx, FileSrc, Site, split_documents, text};

/// One spec file: its name (as shown in diagnostics, usually the path given on the command
/// line) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// File name shown in diagnostics and origins.
    pub name: String,
    /// Contents.
    pub text: String,
}

impl SourceFile {
    /// A file from its name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Valid specs: the stack and the recommendations that apply to it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Every document, in file order then document order.
    pub stack: Stack,
    /// Warnings (severity `Warning`), in file order then by position.
    pub warnings: Vec<SpecDiagnostic>,
}

/// Reads, checks and converts the spec files (in the order given).
///
/// # Errors
/// [`SpecErrors`] with every error of every file (and the warnings found on the way) when
/// any rule is broken. A syntax error stops its own document only: the other documents and
/// files are still checked.
pub fn load(files: &[SourceFile]) -> Result<Loaded, SpecErrors> {
    let sources: Vec<FileSrc> = files
        .iter()
        .map(|f| FileSrc::new(&f.name, &f.text))
        .collect();
    let mut diags: Vec<(usize, SpecDiagnostic)> = Vec::new();
    let mut documents = Vec::new();
    let mut names: BTreeMap<String, (usize, Site)> = BTreeMap::new();
    let mut subscription_names: BTreeMap<String, (usize, Site)> = BTreeMap::new();
    let mut buckets: BTreeMap<String, (usize, Site, String)> = BTreeMap::new();
    for (fi, src) in sources.iter().enumerate() {
        let mut seen_document = false;
        for chunk in split_documents(&src.text) {
            let mut ctx = DocCtx::new(src, chunk);
            let parsed = parse::document(&mut ctx, chunk.text);
            let mut cross = Vec::new();
            match parsed {
                parse::Parsed::Empty => {}
                parse::Parsed::Failed => seen_document = true,
                parse::Parsed::Workspace { origin, checked } => {
                    seen_document = true;
                    let checked = *checked;
                    if let Some(name) = &checked.name {
                        check_unique(
                            &UNIQUE_WORKSPACE,
                            &sources,
                            fi,
                            name,
                            &mut names,
                            &mut cross,
                        );
                    }
                    if let Some(bucket) = &checked.bucket {
                        let ws = checked
                            .name
                            .as_ref()
                            .map_or_else(String::new, |n| n.value.clone());
                        check_unique_bucket(&sources, fi, bucket, &ws, &mut buckets, &mut cross);
                    }
                    if let Some(ws) = checked.workspace {
                        documents.push(Document {
                            origin,
                            resource: SpecResource::FlinkWorkspace(ws),
                        });
                    }
                }
                parse::Parsed::Subscription { origin, checked } => {
                    seen_document = true;
                    let checked = *checked;
                    if let Some(name) = &checked.name {
                        check_unique(
                            &UNIQUE_SUBSCRIPTION,
                            &sources,
                            fi,
                            name,
                            &mut subscription_names,
                            &mut cross,
                        );
                    }
                    if let Some(s) = checked.subscription {
                        documents.push(Document {
                            origin,
                            resource: SpecResource::MarketplaceSubscription(s),
                        });
                    }
                }
            }
            diags.extend(ctx.diags.into_iter().map(|d| (fi, d)));
            diags.extend(cross.into_iter().map(|d| (fi, d)));
        }
        if !seen_document {
            diags.push((
                fi,
                src.diagnostic(
                    Severity::Warning,
                    Code::EmptyFile,
                    Site { offset: 0, len: 0 },
                    text(
                        format!("`{}` holds no document", src.name),
                        "empty",
                        "add a document (apiVersion, kind, metadata, spec) or remove the file from the stack",
                    ),
                ),
            ));
        }
    }
    diags.sort_by_key(|(fi, d)| (*fi, d.offset()));
    // A secret written as a literal is masked in every diagnostic of its file, so that no
    // rendered source line repeats it.
    let secrets: Vec<(usize, (usize, usize))> = diags
        .iter()
        .filter(|(_, d)| d.rule() == Code::SecretLiteral)
        .map(|(fi, d)| (*fi, d.range()))
        .collect();
    if !secrets.is_empty() {
        for (fi, d) in &mut diags {
            let ranges: Vec<(usize, usize)> = secrets
                .iter()
                .filter(|(f, _)| f == fi)
                .map(|(_, r)| *r)
                .collect();
            if !ranges.is_empty() {
                d.redact(&ranges);
            }
        }
    }
    let (warnings, errors): (Vec<_>, Vec<_>) = diags
        .into_iter()
        .map(|(_, d)| d)
        .partition(SpecDiagnostic::is_warning);
    if errors.is_empty() {
        Ok(Loaded {
            stack: Stack { documents },
            warnings,
        })
    } else {
        Err(SpecErrors { errors, warnings })
    }
}

/// What a name must be unique among, for [`check_unique`].
struct Uniqueness {
    code: Code,
    /// `workspace`, `subscription`.
    noun: &'static str,
    /// Why, after "names are unique in a stack".
    why: &'static str,
}

const UNIQUE_WORKSPACE: Uniqueness = Uniqueness {
    code: Code::DuplicateWorkspace,
    noun: "workspace",
    why: " (and in an Alibaba Cloud account)",
};

const UNIQUE_SUBSCRIPTION: Uniqueness = Uniqueness {
    code: Code::DuplicateSubscription,
    noun: "subscription",
    why: "",
};

/// Reports `name` when an earlier document of the stack declared it already.
fn check_unique(
    what: &Uniqueness,
    sources: &[FileSrc],
    fi: usize,
    name: &validate::Keyed,
    names: &mut BTreeMap<String, (usize, Site)>,
    out: &mut Vec<SpecDiagnostic>,
) {
    if let Some((first_file, first)) = names.get(&name.value) {
        let at = sources
            .get(*first_file)
            .map(|f| f.origin_at(first.offset).to_string())
            .unwrap_or_default();
        if let Some(src) = sources.get(fi) {
            out.push(src.diagnostic(
                Severity::Error,
                what.code,
                name.site,
                text(
                    format!("{} `{}` is declared twice", what.noun, name.value),
                    "second declaration",
                    format!(
                        "the first is at {at}; {} names are unique in a stack{}: rename or remove one",
                        what.noun, what.why
                    ),
                ),
            ));
        }
    } else {
        names.insert(name.value.clone(), (fi, name.site));
    }
}

fn check_unique_bucket(
    sources: &[FileSrc],
    fi: usize,
    bucket: &validate::Keyed,
    workspace: &str,
    buckets: &mut BTreeMap<String, (usize, Site, String)>,
    out: &mut Vec<SpecDiagnostic>,
) {
    if let Some((first_file, first, first_ws)) = buckets.get(&bucket.value) {
        let at = sources
            .get(*first_file)
            .map(|f| f.origin_at(first.offset).to_string())
            .unwrap_or_default();
        if let Some(src) = sources.get(fi) {
            out.push(src.diagnostic(
                Severity::Error,
                Code::DuplicateBucket,
                bucket.site,
                text(
                    format!("bucket `{}` is already used by workspace `{first_ws}`", bucket.value),
                    "used twice",
                    format!(
                        "the first use is at {at}; each workspace needs its own bucket (the service writes its \
                         directories there): use another name, e.g. `{workspace}-flink`"
                    ),
                ),
            ));
        }
    } else {
        buckets.insert(
            bucket.value.clone(),
            (fi, bucket.site, workspace.to_owned()),
        );
    }
}

impl FlinkWorkspace {
    /// Where the field at `path` (`spec.quota.cu`, `spec.network.vSwitches[1]`) came from;
    /// for a path the spec did not write (a default, or a finer path than recorded), the
    /// origin of the closest enclosing field that it did, and finally `metadata.name`.
    #[must_use]
    pub fn origin(&self, path: &str) -> Option<&flinkform_core::Origin> {
        let mut path = path;
        loop {
            if let Some(o) = self.origins.get(path) {
                return Some(o);
            }
            match path.rfind(['.', '[']) {
                Some(i) => path = &path[..i],
                None => return self.origins.get("metadata.name"),
            }
        }
    }
}

/// The JSON Schema (2020-12) of one spec document, generated from the types the specs are
/// read with. `specs/flinkform.schema.json` holds it (pretty-printed); editors use it via
/// `# yaml-language-server: $schema=...`.
#[must_use]
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(AnyDocument).to_value()
}

/// Any spec document: the kinds, told apart by `kind`.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[schemars(title = "flinkform spec document")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum AnyDocument {
    /// `kind: FlinkWorkspace`.
    FlinkWorkspace(Box<dto::DocumentDto>),
    /// `kind: MarketplaceSubscription`.
    MarketplaceSubscription(Box<market_dto::SubscriptionDocumentDto>),
}

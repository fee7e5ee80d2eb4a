//! The diagnostics of this crate: one [`SpecDiagnostic`] per broken rule (or recommendation),
//! each with a stable [`Code`], the file it comes from, a label at the offending value and a
//! help text; and [`SpecErrors`], which carries every error of every file at once.
//!
//! `SpecDiagnostic` implements [`miette::Diagnostic`] by hand because its code, severity and
//! help vary per instance; `SpecErrors` is the crate's error type (what [`crate::load`] returns).

use std::fmt;

use flinkform_core::Origin;
use miette::{Diagnostic, LabeledSpan, Severity, SourceCode, SourceSpan};

use crate::snippet::Snippet;

/// The stable code of each rule. Rendered as `spec::<name>` (see [`Code::as_str`]); these
/// strings are part of the CLI contract and never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Code {
    /// The text is not well-formed YAML.
    YamlSyntax,
    /// A YAML tag (`!!binary`, `!!str`, `!custom`): the spec language has none.
    YamlTag,
    /// A value has the wrong type (a list where a number belongs, `cu: -1`, a quoted
    /// `"16"` where a number belongs, ...).
    InvalidType,
    /// A key that this kind of document does not have.
    UnknownField,
    /// A required key is missing.
    MissingField,
    /// The same key twice in one mapping.
    DuplicateKey,
    /// A file that holds no document (a warning).
    EmptyFile,
    /// `apiVersion` is not `flinkform/v1`.
    ApiVersion,
    /// `kind` is not a known kind.
    Kind,
    /// `metadata.name` breaks the workspace name rule.
    WorkspaceName,
    /// Two documents declare the same workspace name.
    DuplicateWorkspace,
    /// `metadata.labels` breaks the tag rules.
    Labels,
    /// `spec.account` is not a valid profile name.
    Account,
    /// A region id is malformed.
    Region,
    /// The region offers no fully managed Flink.
    UnsupportedRegion,
    /// A zone id is malformed.
    Zone,
    /// The zone is not in the region.
    ZoneNotInRegion,
    /// `spec.resourceGroup` is not a resource group id.
    ResourceGroup,
    /// `spec.billing.method` is not a billing method.
    BillingMethod,
    /// A subscription-only field on a pay-as-you-go workspace.
    SubscriptionOnly,
    /// A subscription without `duration` or `quota`.
    SubscriptionRequired,
    /// `spec.billing.duration` is malformed or out of range.
    Duration,
    /// `spec.quota.cu` is out of range.
    Quota,
    /// Not 1 to 5 vSwitches.
    VSwitchCount,
    /// A VPC or vSwitch entry without exactly one of `create` and `id`.
    CreateOrId,
    /// A CIDR block that is not a usable IPv4 network.
    Cidr,
    /// A CIDR block with a mask outside the allowed range.
    CidrMask,
    /// A created vSwitch outside the created VPC's CIDR block.
    VSwitchOutsideVpc,
    /// Two vSwitches whose CIDR blocks overlap.
    VSwitchOverlap,
    /// An existing vSwitch (`id`) in a VPC that is created by this spec.
    ExistingVSwitchInNewVpc,
    /// A cloud id without the prefix of its kind (`vpc-`, `vsw-`).
    CloudId,
    /// `spec.storage.ossBucket.name` breaks the bucket name rule.
    BucketName,
    /// Two workspaces use the same bucket.
    DuplicateBucket,
    /// A project name breaks the project name rule.
    ProjectName,
    /// The same project twice in a workspace.
    DuplicateProject,
    /// A project named like the generated default project.
    ReservedProject,
    /// A project's `cu` missing (subscription) or out of range.
    ProjectCu,
    /// The projects ask for more CU than the quota leaves after the default project.
    ProjectQuota,
    /// Recommendation: an upstream system in another region (a warning).
    UpstreamRegion,
    /// Recommendation: an upstream system in another zone (a warning).
    UpstreamZone,
    /// Recommendation: an upstream system in another VPC (a warning).
    UpstreamVpc,
    /// `metadata.name` of a subscription breaks the name rule.
    SubscriptionName,
    /// Two subscriptions with one name.
    DuplicateSubscription,
    /// `spec.product.code` is not a Marketplace product code.
    ProductCode,
    /// `spec.product.packageVersion` is empty or malformed.
    PackageVersion,
    /// `spec.billingCenter.site` is not `intl` or `china`.
    BillingSite,
    /// `spec.billingCenter.connector` is not `api` or `manual`.
    Connector,
    /// `spec.billingCenter.account.mode` is not `register` or `bind`.
    AccountMode,
    /// A Billing Center username breaks the username rule.
    Username,
    /// An e-mail address is malformed.
    Email,
    /// A secret written as a literal instead of a reference.
    SecretLiteral,
    /// A secret reference without exactly one of `env` and `file`, or malformed.
    SecretRef,
    /// A field only for `mode: register` on a bound account.
    RegisterOnly,
    /// `mode: register` without `password` or `company`.
    RegisterRequired,
    /// `spec.workspace.name` is empty, too long or has control characters.
    SaasWorkspaceName,
    /// `spec.workspace.language` is not `en` or `zh`.
    Language,
    /// `spec.workspace.mode` is not `create` or `bind`.
    WorkspaceMode,
}

impl Code {
    /// Every code, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::YamlSyntax,
        Self::YamlTag,
        Self::InvalidType,
        Self::UnknownField,
        Self::MissingField,
        Self::DuplicateKey,
        Self::EmptyFile,
        Self::ApiVersion,
        Self::Kind,
        Self::WorkspaceName,
        Self::DuplicateWorkspace,
        Self::Labels,
        Self::Account,
        Self::Region,
        Self::UnsupportedRegion,
        Self::Zone,
        Self::ZoneNotInRegion,
        Self::ResourceGroup,
        Self::BillingMethod,
        Self::SubscriptionOnly,
        Self::SubscriptionRequired,
        Self::Duration,
        Self::Quota,
        Self::VSwitchCount,
        Self::CreateOrId,
        Self::Cidr,
        Self::CidrMask,
        Self::VSwitchOutsideVpc,
        Self::VSwitchOverlap,
        Self::ExistingVSwitchInNewVpc,
        Self::CloudId,
        Self::BucketName,
        Self::DuplicateBucket,
        Self::ProjectName,
        Self::DuplicateProject,
        Self::ReservedProject,
        Self::ProjectCu,
        Self::ProjectQuota,
        Self::UpstreamRegion,
        Self::UpstreamZone,
        Self::UpstreamVpc,
        Self::SubscriptionName,
        Self::DuplicateSubscription,
        Self::ProductCode,
        Self::PackageVersion,
        Self::BillingSite,
        Self::Connector,
        Self::AccountMode,
        Self::Username,
        Self::Email,
        Self::SecretLiteral,
        Self::SecretRef,
        Self::RegisterOnly,
        Self::RegisterRequired,
        Self::SaasWorkspaceName,
        Self::Language,
        Self::WorkspaceMode,
    ];

    /// The code as shown to users, e.g. `spec::vswitch_count`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::YamlSyntax => "spec::yaml_syntax",
            Self::YamlTag => "spec::yaml_tag",
            Self::InvalidType => "spec::invalid_type",
            Self::UnknownField => "spec::unknown_field",
            Self::MissingField => "spec::missing_field",
            Self::DuplicateKey => "spec::duplicate_key",
            Self::EmptyFile => "spec::empty_file",
            Self::ApiVersion => "spec::api_version",
            Self::Kind => "spec::kind",
            Self::WorkspaceName => "spec::workspace_name",
            Self::DuplicateWorkspace => "spec::duplicate_workspace",
            Self::Labels => "spec::labels",
            Self::Account => "spec::account",
            Self::Region => "spec::region",
            Self::UnsupportedRegion => "spec::unsupported_region",
            Self::Zone => "spec::zone",
            Self::ZoneNotInRegion => "spec::zone_not_in_region",
            Self::ResourceGroup => "spec::resource_group",
            Self::BillingMethod => "spec::billing_method",
            Self::SubscriptionOnly => "spec::subscription_only",
            Self::SubscriptionRequired => "spec::subscription_required",
            Self::Duration => "spec::duration",
            Self::Quota => "spec::quota",
            Self::VSwitchCount => "spec::vswitch_count",
            Self::CreateOrId => "spec::create_or_id",
            Self::Cidr => "spec::cidr",
            Self::CidrMask => "spec::cidr_mask",
            Self::VSwitchOutsideVpc => "spec::vswitch_outside_vpc",
            Self::VSwitchOverlap => "spec::vswitch_overlap",
            Self::ExistingVSwitchInNewVpc => "spec::existing_vswitch_in_new_vpc",
            Self::CloudId => "spec::cloud_id",
            Self::BucketName => "spec::bucket_name",
            Self::DuplicateBucket => "spec::duplicate_bucket",
            Self::ProjectName => "spec::project_name",
            Self::DuplicateProject => "spec::duplicate_project",
            Self::ReservedProject => "spec::reserved_project",
            Self::ProjectCu => "spec::project_cu",
            Self::ProjectQuota => "spec::project_quota",
            Self::UpstreamRegion => "spec::upstream_region",
            Self::UpstreamZone => "spec::upstream_zone",
            Self::UpstreamVpc => "spec::upstream_vpc",
            Self::SubscriptionName => "spec::subscription_name",
            Self::DuplicateSubscription => "spec::duplicate_subscription",
            Self::ProductCode => "spec::product_code",
            Self::PackageVersion => "spec::package_version",
            Self::BillingSite => "spec::billing_site",
            Self::Connector => "spec::connector",
            Self::AccountMode => "spec::account_mode",
            Self::Username => "spec::username",
            Self::Email => "spec::email",
            Self::SecretLiteral => "spec::secret_literal",
            Self::SecretRef => "spec::secret_ref",
            Self::RegisterOnly => "spec::register_only",
            Self::RegisterRequired => "spec::register_required",
            Self::SaasWorkspaceName => "spec::saas_workspace_name",
            Self::Language => "spec::language",
            Self::WorkspaceMode => "spec::workspace_mode",
        }
    }

    /// The code with a `spec::` prefix as given by [`Code::as_str`], parsed back.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about the specs: an error (the specs are not valid) or a warning (a
/// recommendation). Renders with miette: code, message, the source line with a label under
/// the offending value, and a help text saying how to fix it.
#[derive(Debug, Clone)]
pub struct SpecDiagnostic {
    pub(crate) code: Code,
    pub(crate) severity: Severity,
    pub(crate) message: String,
    pub(crate) label: String,
    pub(crate) help: String,
    pub(crate) origin: Origin,
    /// The lines of the file shown (see [`Snippet`]).
    pub(crate) src: Snippet,
    /// The offending value in `src`'s offsets.
    pub(crate) span: SourceSpan,
    /// The offending value in the file: byte offset and length.
    pub(crate) range: (usize, usize),
}

impl SpecDiagnostic {
    /// The rule that produced it.
    #[must_use]
    pub fn rule(&self) -> Code {
        self.code
    }

    /// The byte range of the offending value in its file.
    pub(crate) fn range(&self) -> (usize, usize) {
        self.range
    }

    /// Replaces every shown character of the file that starts inside one of `ranges` with
    /// `*` (as many as its UTF-8 bytes, so offsets stay valid): the source a diagnostic shows
    /// never repeats a secret written as a literal.
    pub(crate) fn redact(&mut self, ranges: &[(usize, usize)]) {
        self.src.redact(ranges);
    }

    /// `true` for a recommendation, `false` for an error.
    #[must_use]
    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    /// What is wrong (one line, no location).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it.
    #[must_use]
    pub fn help_text(&self) -> &str {
        &self.help
    }

    /// The text of the label under the offending value.
    #[must_use]
    pub fn label_text(&self) -> &str {
        &self.label
    }

    /// File, line and column of the offending value.
    #[must_use]
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Byte offset of the offending value in its file (for ordering).
    pub(crate) fn offset(&self) -> usize {
        self.range.0
    }
}

impl fmt::Display for SpecDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecDiagnostic {}

impl Diagnostic for SpecDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(self.label.clone()), self.span),
        )))
    }
}

/// Every error found in the specs (all files, all documents), plus the warnings found on
/// the way. Rendering it with miette shows each error with its source snippet.
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
#[error("{} in the specs", count(.errors.len(), "error"))]
#[diagnostic(
    code(spec::invalid),
    help("fix the errors below; `flinkform validate` checks the specs without touching the cloud")
)]
pub struct SpecErrors {
    /// The errors, in file order, then by position in the file.
    #[related]
    pub errors: Vec<SpecDiagnostic>,
    /// The warnings (recommendations), in the same order; not part of the rendered report.
    pub warnings: Vec<SpecDiagnostic>,
}

impl SpecErrors {
    /// The codes of the errors, in order (handy for tests and machine output).
    #[must_use]
    pub fn codes(&self) -> Vec<Code> {
        self.errors.iter().map(SpecDiagnostic::rule).collect()
    }
}

/// `1 error`, `2 errors`.
pub(crate) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

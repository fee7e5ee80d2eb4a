//! The rules of a `MarketplaceSubscription` document: checks a parsed
//! [`SubscriptionDocumentDto`], records one diagnostic per broken rule (all of them), and
//! builds the validated [`MarketplaceSubscription`] when none is broken.

use std::collections::BTreeMap;

use flinkform_core::Origin;
use serde_saphyr::{Location, Spanned};

use crate::error::Code;
use crate::market::{
    AccountMode, BillingAccountSpec, BillingCenter, BillingSite, Company, ConnectorMode, Language,
    MarketBilling, MarketProduct, MarketplaceSubscription, SaasWorkspaceSpec, SecretRef,
    WorkspaceMode,
};
use crate::market_dto::{SecretDto, SubscriptionDocumentDto};
use crate::source::{DocCtx, text};
use crate::validate::Keyed;

/// What checking one subscription document gave.
#[derive(Debug)]
pub(crate) struct CheckedSubscription {
    /// The subscription, when the document broke no rule.
    pub(crate) subscription: Option<MarketplaceSubscription>,
    /// `metadata.name`, when valid (for the duplicate check).
    pub(crate) name: Option<Keyed>,
}

struct Origins<'a, 'f> {
    ctx: &'a DocCtx<'f>,
    map: BTreeMap<String, Origin>,
}

impl Origins<'_, '_> {
    fn put(&mut self, path: &str, loc: &Location) {
        self.map.insert(path.to_owned(), self.ctx.origin(loc));
    }
}

/// Whether `s` is a subscription name: 1-60 characters, a lowercase letter first, then
/// lowercase letters, digits and hyphens, not ending with a hyphen.
fn is_subscription_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= 60
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
}

fn is_product_code(s: &str) -> bool {
    (8..=12).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn is_package_version(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn is_username(s: &str) -> bool {
    (3..=32).contains(&s.len())
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
}

fn is_env_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks every rule of a `MarketplaceSubscription` document.
#[expect(
    clippy::too_many_lines,
    reason = "one linear pass over the document's fields"
)]
pub(crate) fn check_subscription(
    ctx: &mut DocCtx<'_>,
    doc: SubscriptionDocumentDto,
) -> CheckedSubscription {
    let errors_before = ctx.error_count();
    let SubscriptionDocumentDto { metadata, spec, .. } = doc;
    let mut o = Origins {
        ctx: &*ctx,
        map: BTreeMap::new(),
    };
    let name = metadata.name;
    o.put("metadata.name", &name.referenced);
    o.put("spec.account", &spec.account.referenced);
    o.put("spec.product.code", &spec.product.code.referenced);
    o.put(
        "spec.product.packageVersion",
        &spec.product.package_version.referenced,
    );
    o.put("spec.product.billing", &spec.product.billing.referenced);
    o.put(
        "spec.billingCenter.site",
        &spec.billing_center.site.referenced,
    );
    o.put(
        "spec.billingCenter.account.username",
        &spec.billing_center.account.username.referenced,
    );
    o.put(
        "spec.billingCenter.account.email",
        &spec.billing_center.account.email.referenced,
    );
    o.put("spec.workspace.name", &spec.workspace.name.referenced);
    o.put(
        "spec.workspace.language",
        &spec.workspace.language.referenced,
    );
    let origins = o.map;

    let name_ok = is_subscription_name(&name.value);
    if !name_ok {
        ctx.error(
            Code::SubscriptionName,
            &name.referenced,
            text(
                format!("`{}` is not a valid subscription name", name.value),
                "lowercase letters, digits and hyphens, a letter first",
                "use 1-60 characters: a lowercase letter first, then lowercase letters, digits and \
                 hyphens, not ending with a hyphen (e.g. `observability`)",
            ),
        );
    }

    let account = crate::validate::check_account(ctx, &spec.account);

    // product
    let product = &spec.product;
    let code_ok = is_product_code(&product.code.value);
    if !code_ok {
        ctx.error(
            Code::ProductCode,
            &product.code.referenced,
            text(
                format!("`{}` is not a Marketplace product code", product.code.value),
                "8-12 lowercase letters and digits",
                "copy the code from the product page URL, e.g. `cmgj00053362` from \
                 market.aliyun.com/products/56838014/cmgj00053362.html",
            ),
        );
    }
    if !is_package_version(&product.package_version.value) {
        ctx.error(
            Code::PackageVersion,
            &product.package_version.referenced,
            text(
                format!(
                    "`{}` is not a package version",
                    product.package_version.value
                ),
                "1-64 letters, digits, `.`, `_`, `-`",
                "use the package (`package_version` component) of the plan, e.g. \
                 `yuncode5336200001`",
            ),
        );
    }
    let billing = &product.billing.value;
    let market_billing = match billing.method.value.as_str() {
        "pay-as-you-go" => {
            if let Some(d) = &billing.duration {
                ctx.error(
                    Code::SubscriptionOnly,
                    &d.referenced,
                    text(
                        "`duration` is only for subscriptions",
                        "not used by pay-as-you-go",
                        "remove it, or set billing.method: subscription",
                    ),
                );
            }
            Some(MarketBilling::PayAsYouGo)
        }
        "subscription" => match &billing.duration {
            Some(d) => crate::validate::check_duration(ctx, d).map(MarketBilling::Subscription),
            None => {
                ctx.error(
                    Code::SubscriptionRequired,
                    &billing.method.referenced,
                    text(
                        "a subscription needs a `duration`",
                        "no duration",
                        "add `duration: { months: N }` (1-9) or `{ years: N }` (1-3)",
                    ),
                );
                None
            }
        },
        other => {
            ctx.error(
                Code::BillingMethod,
                &billing.method.referenced,
                text(
                    format!("`{other}` is not a billing method"),
                    "unknown billing method",
                    "use `pay-as-you-go` (activate pay-as-you-go service) or `subscription`",
                ),
            );
            None
        }
    };

    // billing center
    let bc = spec.billing_center;
    let site = match bc.site.value.as_str() {
        "intl" => Some(BillingSite::Intl),
        "china" => Some(BillingSite::China),
        other => {
            ctx.error(
                Code::BillingSite,
                &bc.site.referenced,
                text(
                    format!("`{other}` is not a Billing Center site"),
                    "`intl` or `china`",
                    "use `intl` (international site) or `china` (China site); it cannot be \
                     changed once the workspace exists",
                ),
            );
            None
        }
    };
    let connector = match bc.connector.as_ref().map(|c| c.value.as_str()) {
        None | Some("api") => Some(ConnectorMode::Api),
        Some("manual") => Some(ConnectorMode::Manual),
        Some(other) => {
            if let Some(c) = &bc.connector {
                ctx.error(
                    Code::Connector,
                    &c.referenced,
                    text(
                        format!("`{other}` is not a connector"),
                        "`api` or `manual`",
                        "use `api` (the vendor's connector, specs/connector.md) or `manual` (each \
                         vendor step becomes a gate you confirm)",
                    ),
                );
            }
            None
        }
    };
    let acct = bc.account;
    let mode = match acct.mode.value.as_str() {
        "register" => Some(AccountMode::Register),
        "bind" => Some(AccountMode::Bind),
        other => {
            ctx.error(
                Code::AccountMode,
                &acct.mode.referenced,
                text(
                    format!("`{other}` is not an account mode"),
                    "`register` or `bind`",
                    "use `register` for a new Billing Center account or `bind` for an existing one",
                ),
            );
            None
        }
    };
    if !is_username(&acct.username.value) {
        ctx.error(
            Code::Username,
            &acct.username.referenced,
            text(
                format!("`{}` is not a valid username", acct.username.value),
                "3-32 lowercase letters, digits, `.`, `_`, `-`",
                "use 3-32 lowercase letters, digits, `.`, `_` or `-`, starting with a letter or \
                 digit (e.g. `ops-team`)",
            ),
        );
    }
    if !is_email(&acct.email.value) {
        ctx.error(
            Code::Email,
            &acct.email.referenced,
            text(
                format!("`{}` is not an e-mail address", acct.email.value),
                "not an e-mail address",
                "use an address that receives mail (the verification code goes there), e.g. \
                 `ops@example.com`",
            ),
        );
    }
    let password = acct
        .password
        .as_ref()
        .and_then(|p| check_secret(ctx, p, "password"));
    let company = acct.company.as_ref().map(|c| Company {
        name: c.value.name.value.clone(),
        country: c.value.country.as_ref().map(|v| v.value.clone()),
        phone: c.value.phone.as_ref().map(|v| v.value.clone()),
    });
    if let Some(c) = &acct.company
        && c.value.name.value.trim().is_empty()
    {
        ctx.error(
            Code::RegisterRequired,
            &c.value.name.referenced,
            text(
                "the company name is empty",
                "empty",
                "write the company name the Billing Center account is registered for",
            ),
        );
    }
    match mode {
        Some(AccountMode::Register) => {
            if acct.password.is_none() {
                ctx.error(
                    Code::RegisterRequired,
                    &acct.mode.referenced,
                    text(
                        "registering an account needs a `password`",
                        "no password",
                        "add `password: { env: BC_PASSWORD }` (or `{ file: PATH }`) beside `mode`",
                    ),
                );
            }
            if acct.company.is_none() {
                ctx.error(
                    Code::RegisterRequired,
                    &acct.mode.referenced,
                    text(
                        "registering an account needs `company` details",
                        "no company",
                        "add `company: { name: ... }` (country and phone are optional)",
                    ),
                );
            }
        }
        Some(AccountMode::Bind) => {
            for (field, loc) in [
                ("password", acct.password.as_ref().map(|p| &p.referenced)),
                ("company", acct.company.as_ref().map(|c| &c.referenced)),
            ] {
                if let Some(loc) = loc {
                    ctx.error(
                        Code::RegisterOnly,
                        loc,
                        text(
                            format!("`{field}` is only for `mode: register`"),
                            "not used when binding",
                            "remove it: binding an existing account is verified by an e-mail code",
                        ),
                    );
                }
            }
        }
        None => {}
    }

    // workspace
    let ws = spec.workspace;
    let ws_name = ws.name.value.clone();
    if ws_name.trim().is_empty()
        || ws_name.chars().count() > 64
        || ws_name.contains(char::is_control)
    {
        ctx.error(
            Code::SaasWorkspaceName,
            &ws.name.referenced,
            text(
                format!("`{ws_name}` is not a workspace name"),
                "1-64 characters, no control characters",
                "use 1-64 printable characters, e.g. `prod-observability`",
            ),
        );
    }
    let language = match ws.language.value.as_str() {
        "en" => Some(Language::En),
        "zh" => Some(Language::Zh),
        other => {
            ctx.error(
                Code::Language,
                &ws.language.referenced,
                text(
                    format!("`{other}` is not a workspace language"),
                    "`en` or `zh`",
                    "use `en` (English) or `zh` (Chinese)",
                ),
            );
            None
        }
    };
    let ws_mode = match ws.mode.as_ref().map(|m| m.value.as_str()) {
        None | Some("create") => Some(WorkspaceMode::Create),
        Some("bind") => Some(WorkspaceMode::Bind),
        Some(other) => {
            if let Some(m) = &ws.mode {
                ctx.error(
                    Code::WorkspaceMode,
                    &m.referenced,
                    text(
                        format!("`{other}` is not a workspace mode"),
                        "`create` or `bind`",
                        "use `create` for a new workspace or `bind` for an existing one of the \
                         Billing Center account",
                    ),
                );
            }
            None
        }
    };
    let protect = spec.protect.as_ref().is_none_or(|p| p.value);

    let name_key = name_ok.then(|| Keyed {
        value: name.value.clone(),
        site: ctx.site(&name.referenced),
    });
    let valid = ctx.error_count() == errors_before;
    let subscription = valid
        .then(|| {
            Some(MarketplaceSubscription {
                name: name.value.clone(),
                account: account?,
                product: MarketProduct {
                    code: product.code.value.clone(),
                    package_version: product.package_version.value.clone(),
                    billing: market_billing?,
                },
                billing_center: BillingCenter {
                    site: site?,
                    connector: connector?,
                    account: BillingAccountSpec {
                        mode: mode?,
                        username: acct.username.value.clone(),
                        email: acct.email.value.clone(),
                        password,
                        company,
                    },
                },
                workspace: SaasWorkspaceSpec {
                    name: ws_name,
                    language: language?,
                    mode: ws_mode?,
                },
                protect,
                origins,
            })
        })
        .flatten();
    CheckedSubscription {
        subscription,
        name: name_key,
    }
}

/// Checks a secret reference; a literal is an error that never repeats the secret.
fn check_secret(ctx: &mut DocCtx<'_>, s: &Spanned<SecretDto>, field: &str) -> Option<SecretRef> {
    let v = &s.value;
    if let Some(len) = v.literal_len {
        ctx.error(
            Code::SecretLiteral,
            &s.referenced,
            text(
                format!("`{field}` is written here as a literal ({len} characters): secrets are never written into specs"),
                "a literal secret",
                format!(
                    "remove it from the file (and from its history) and reference it instead: \
                     `{field}: {{ env: BC_PASSWORD }}` reads the environment variable \
                     BC_PASSWORD, `{field}: {{ file: /run/secrets/bc-password }}` reads a file"
                ),
            ),
        );
        return None;
    }
    let bad = |ctx: &mut DocCtx<'_>, message: String, label: &str| {
        ctx.error(
            Code::SecretRef,
            &s.referenced,
            text(
                message,
                label,
                format!(
                    "write exactly one of `{field}: {{ env: NAME }}` (an environment variable \
                     name: letters, digits, `_`, not starting with a digit) and \
                     `{field}: {{ file: PATH }}`"
                ),
            ),
        );
    };
    if !v.unknown.is_empty() {
        bad(
            ctx,
            format!(
                "unknown key(s) {} in a secret reference",
                v.unknown.join(", ")
            ),
            "only `env` or `file`",
        );
        return None;
    }
    match (&v.env, &v.file) {
        (Some(e), None) if is_env_name(e) => Some(SecretRef::Env(e.clone())),
        (Some(e), None) => {
            bad(
                ctx,
                format!("`{e}` is not an environment variable name"),
                "not a variable name",
            );
            None
        }
        (None, Some(f)) if !f.trim().is_empty() => Some(SecretRef::File(f.clone())),
        (None, Some(_)) => {
            bad(ctx, "the file path is empty".to_owned(), "empty path");
            None
        }
        (Some(_), Some(_)) => {
            bad(
                ctx,
                "a secret reference has both `env` and `file`".to_owned(),
                "both given",
            );
            None
        }
        (None, None) => {
            bad(
                ctx,
                "a secret reference has neither `env` nor `file`".to_owned(),
                "empty reference",
            );
            None
        }
    }
}

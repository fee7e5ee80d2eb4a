//! Errors of the CLI itself (files, prompts, arguments); errors of the libraries are passed
//! through as their own diagnostics.

use std::path::Path;

/// Something the CLI itself could not do.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum CliError {
    /// A file could not be read or written.
    #[error("cannot access `{path}`: {message}")]
    #[diagnostic(code(cli::io))]
    Io { path: String, message: String },
    /// A secret reference of the specs cannot be read.
    #[error("`{address}` needs its password from `{reference}`, which cannot be read")]
    #[diagnostic(
        code(cli::secret_unavailable),
        help(
            "`env:NAME` needs the environment variable set (e.g. `read -rs NAME && export NAME`); `file:PATH` needs a readable file; nothing was ordered"
        )
    )]
    SecretUnavailable { address: String, reference: String },
    /// A spec file is not UTF-8 text: where its first invalid byte is (line and column in
    /// characters, counted over the valid text before it).
    #[error("`{path}` is not UTF-8 text: invalid byte 0x{byte:02X} at {path}:{line}:{column}")]
    #[diagnostic(
        code(cli::not_utf8),
        help("save the spec file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)")
    )]
    NotUtf8 {
        path: String,
        byte: u8,
        line: usize,
        column: usize,
    },
    /// A directory given as a spec path holds no spec files.
    #[error("`{path}` holds no *.yaml or *.yml files")]
    #[diagnostic(
        code(cli::no_specs),
        help("pass spec files, or a directory that contains them")
    )]
    NoSpecs { path: String },
    /// An address given on the command line is not one.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Address(#[from] flinkform_core::Error),
    /// Apply was not confirmed.
    #[error("apply cancelled")]
    #[diagnostic(
        code(cli::cancelled),
        help("answer `yes` to apply, or pass --auto-approve")
    )]
    Cancelled,
    /// Confirmation is needed but nobody can answer.
    #[error("{command} needs confirmation, and stdin is not a terminal")]
    #[diagnostic(
        code(cli::needs_approval),
        help("review the plan, then run again with --auto-approve")
    )]
    NeedsApproval { command: &'static str },
    /// The apply finished with failed actions.
    #[error("{failed} action(s) failed; {skipped} skipped because of them")]
    #[diagnostic(
        code(cli::apply_failed),
        help(
            "fix the cause named above and run apply again: completed steps are recorded and are not repeated"
        )
    )]
    ApplyFailed { failed: usize, skipped: usize },
    /// The emulator could not be used.
    #[error("emulator: {0}")]
    #[diagnostic(code(cli::sim))]
    Sim(String),
    /// No `--cloud` and no credentials where the emulator must not be chosen silently.
    #[error("no Alibaba Cloud credentials found and no --cloud given ({why})")]
    #[diagnostic(
        code(cli::no_cloud),
        help(
            "checked: {checked}. With CI set, or without a terminal, flinkform does not fall back to the emulator: pass `--cloud sim` (or FLINKFORM_CLOUD=sim) to use the emulator, or configure credentials (specs/cli.md, \"Credentials\")"
        )
    )]
    NoCloud { why: String, checked: String },
    /// A recorded resource was asked for that the state does not have.
    #[error("`{address}` is not in the state")]
    #[diagnostic(
        code(cli::not_in_state),
        help("run `flinkform state list` to see what is recorded")
    )]
    NotInState { address: String },
    /// `state mv` between two kinds.
    #[error("cannot move `{from}` to `{to}`: a state entry keeps its kind")]
    #[diagnostic(
        code(cli::state_mv_kind),
        help(
            "`state mv` renames an address within one kind, e.g. `flinkform state mv vpc.old vpc.new`"
        )
    )]
    StateMvKind { from: String, to: String },
    /// `state mv` onto an address the state records already.
    #[error("cannot move `{from}` to `{to}`: the state records `{to}` already")]
    #[diagnostic(
        code(cli::state_mv_exists),
        help("remove or move `{to}` first (`flinkform state rm {to}`), then move `{from}`")
    )]
    StateMvExists { from: String, to: String },
    /// State surgery on an address an interrupted call is unresolved for.
    #[error("`{address}` has an unresolved call of an interrupted apply ({op}, intent {intent})")]
    #[diagnostic(
        code(cli::state_interrupted),
        help("run `flinkform apply` first: it finds out what that call did and records it")
    )]
    StateInterrupted {
        address: String,
        op: String,
        intent: u64,
    },
    /// `import` of a kind that cannot be imported.
    #[error("`{address}` cannot be imported: {reason}")]
    #[diagnostic(
        code(cli::import_kind),
        help(
            "import works for `vpc`, `vswitch`, `oss_bucket`, `flink_workspace` and `flink_project`; nothing was read or recorded"
        )
    )]
    ImportKind { address: String, reason: String },
    /// `import` of an address the specs do not declare.
    #[error("`{address}` is not declared by the specs")]
    #[diagnostic(code(cli::import_not_declared), help("{help}"))]
    ImportNotDeclared { address: String, help: String },
    /// `import` of an address the specs reference by id.
    #[error(
        "`{address}` is referenced by id in the specs (`{id}`): flinkform only reads it, there is nothing to import"
    )]
    #[diagnostic(
        code(cli::import_data_source),
        help(
            "to manage it with this stack, declare it with `create:` in the specs instead of `id:`, then import it"
        )
    )]
    ImportDataSource { address: String, id: String },
    /// `import` of an id that is not one for this kind.
    #[error("`{id}` is not the id of a {what}: {expected}")]
    #[diagnostic(
        code(cli::import_bad_id),
        help("pass the id the cloud gave it, e.g. `flinkform import {address} {example}`")
    )]
    ImportBadId {
        address: String,
        id: String,
        what: String,
        expected: String,
        example: String,
    },
    /// `import` of an address the state already records.
    #[error("`{address}` is already in the state, as {id}")]
    #[diagnostic(
        code(cli::import_in_state),
        help(
            "this stack manages it already; there is no `state rm` yet: leave it as it is, or remove it from the specs (the next apply then deletes {id}) and import the other one afterwards"
        )
    )]
    ImportInState { address: String, id: String },
    /// `import` of an id the state already records under another address.
    #[error("{id} is already in the state, as `{other}`")]
    #[diagnostic(
        code(cli::import_duplicate),
        help(
            "one resource is managed under one address: use `{other}`, or remove `{other}` from the specs and apply first (that deletes {id})"
        )
    )]
    ImportDuplicate {
        address: String,
        id: String,
        other: String,
    },
    /// `import` while an interrupted apply's call on the address is unresolved.
    #[error(
        "an earlier apply was interrupted during {op} of `{address}` (intent {intent}, {started})"
    )]
    #[diagnostic(
        code(cli::import_interrupted),
        help(
            "run `flinkform apply` first: it settles what the interrupted call did, and may adopt the resource by itself"
        )
    )]
    ImportInterrupted {
        address: String,
        op: String,
        intent: u64,
        started: String,
    },
    /// `import` of something the cloud does not have.
    #[error("no {what} in account {account}{region}")]
    #[diagnostic(
        code(cli::import_not_found),
        help(
            "check the id, and that the specs put `{address}` in the account and region where it lives; nothing was recorded"
        )
    )]
    ImportNotFound {
        address: String,
        what: String,
        account: String,
        region: String,
    },
    /// `import` of a resource that is being deleted.
    #[error("{what} is being deleted")]
    #[diagnostic(
        code(cli::import_deleting),
        help("nothing was recorded; once it is gone, `flinkform apply` creates `{address}`")
    )]
    ImportDeleting { address: String, what: String },
    /// `import` of a bucket another Alibaba Cloud account owns.
    #[error("bucket `{id}` belongs to another Alibaba Cloud account")]
    #[diagnostic(
        code(cli::import_other_account),
        help(
            "a bucket of another account cannot be imported (bucket names are unique across all of Alibaba Cloud): choose another `spec.storage.ossBucket.name`"
        )
    )]
    ImportOtherAccount { address: String, id: String },
    /// `import` of a resource another flinkform stack's mark names.
    #[error(
        "{what} belongs to another flinkform stack: lineage {stack}, address `{owner_address}`"
    )]
    #[diagnostic(
        code(cli::import_other_stack),
        help(
            "nothing was recorded; if this stack must manage it from now on, `flinkform import --force {address} {id} …` takes it over, but that stack still records it, and its next apply would take it back (or delete it, once its specs drop it): make sure that stack no longer applies"
        )
    )]
    ImportOtherStack {
        address: String,
        what: String,
        id: String,
        stack: String,
        owner_address: String,
    },
}

/// `apply FILE` refused a saved plan that no longer fits (specs/plan-file.md).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the saved plan `{file}` is stale: {reasons}; run `flinkform plan -out` again")]
#[diagnostic(
    code(cli::stale_plan),
    help(
        "nothing was applied; run `flinkform plan -out {file} SPECS...` again, review it, and apply the new file"
    )
)]
pub(crate) struct StalePlan {
    pub(crate) file: String,
    /// What changed, `; `-separated.
    pub(crate) reasons: String,
}

impl CliError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

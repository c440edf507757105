//! The seam between the lab's PowerShell interpreter and the simulated
//! server: the interpreter evaluates the language and its own utility
//! cmdlets (Where-Object, ConvertTo-Json, …); every other command name goes
//! to a `CommandHost`, which binds parameters against a `CmdletSpec` and acts
//! on the world. Errors use PowerShell 5.1's own wording so a script (or a
//! test) sees what a real server would say.

use super::value::Value;

/// One argument as written on the command line, before binding.
#[derive(Debug, Clone, PartialEq)]
pub enum Argument {
    /// `-Name value`, `-Name:value`, or a bare switch `-Name` (value `None`).
    Named { name: String, value: Option<Value> },
    /// A positional argument.
    Positional(Value),
}

/// How a PowerShell error is classified (shown in CategoryInfo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCategory {
    NotSpecified,
    ObjectNotFound,
    InvalidArgument,
    InvalidOperation,
    InvalidData,
    ResourceUnavailable,
    PermissionDenied,
    ParserError,
    NotImplemented,
    /// What `throw` reports (`OperationStopped: (text:String) [], RuntimeException`).
    OperationStopped,
    /// Write-Error's default category.
    WriteError,
    /// An item that already exists (New-Item without -Force).
    ResourceExists,
    /// A connection that could not be opened (New-PSSession).
    OpenError,
}

impl ErrorCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::NotSpecified => "NotSpecified",
            ErrorCategory::ObjectNotFound => "ObjectNotFound",
            ErrorCategory::InvalidArgument => "InvalidArgument",
            ErrorCategory::InvalidOperation => "InvalidOperation",
            ErrorCategory::InvalidData => "InvalidData",
            ErrorCategory::ResourceUnavailable => "ResourceUnavailable",
            ErrorCategory::PermissionDenied => "PermissionDenied",
            ErrorCategory::ParserError => "ParserError",
            ErrorCategory::NotImplemented => "NotImplemented",
            ErrorCategory::OperationStopped => "OperationStopped",
            ErrorCategory::WriteError => "WriteError",
            ErrorCategory::ResourceExists => "ResourceExists",
            ErrorCategory::OpenError => "OpenError",
        }
    }
}

/// A PowerShell error record, as much of it as the lab needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PsError {
    /// The exception message, e.g. `A parameter cannot be found that matches parameter name 'Serv'.`
    pub message: String,
    pub category: ErrorCategory,
    /// e.g. `NamedParameterNotFound,Microsoft.Exchange.Management.SystemConfigurationTasks.SetServerComponentState`
    pub fully_qualified_error_id: String,
    /// The command that raised it, when there is one.
    pub command: Option<String>,
    /// The target object shown in CategoryInfo, e.g. `(Get-Foo:String)`.
    pub target: Option<String>,
    /// Terminating errors stop the script whatever `-ErrorAction` says.
    pub terminating: bool,
}

impl PsError {
    pub fn new(category: ErrorCategory, id: &str, message: impl Into<String>) -> Self {
        PsError {
            message: message.into(),
            category,
            fully_qualified_error_id: id.to_string(),
            command: None,
            target: None,
            terminating: false,
        }
    }

    pub fn terminating(mut self) -> Self {
        self.terminating = true;
        self
    }

    pub fn in_command(mut self, name: &str) -> Self {
        self.command = Some(name.to_string());
        self
    }

    /// `The term 'X' is not recognized …` (CommandNotFoundException).
    pub fn command_not_found(name: &str) -> Self {
        let mut e = PsError::new(
            ErrorCategory::ObjectNotFound,
            "CommandNotFoundException",
            format!(
                "The term '{name}' is not recognized as the name of a cmdlet, function, script file, \
                 or operable program. Check the spelling of the name, or if a path was included, \
                 verify that the path is correct and try again."
            ),
        );
        e.command = Some(name.to_string());
        e.target = Some(format!("{name}:String"));
        e.terminating = true;
        e
    }

    /// `A parameter cannot be found that matches parameter name 'X'.`
    pub fn parameter_not_found(command: &str, param: &str) -> Self {
        let mut e = PsError::new(
            ErrorCategory::InvalidArgument,
            "NamedParameterNotFound",
            format!("A parameter cannot be found that matches parameter name '{param}'."),
        );
        e.command = Some(command.to_string());
        e.target = Some(":".to_string());
        e.terminating = true;
        e
    }

    /// What a prompt does under `powershell.exe -NonInteractive`.
    pub fn non_interactive_prompt(command: &str) -> Self {
        let mut e = PsError::new(
            ErrorCategory::InvalidOperation,
            "HostFunctionNotImplemented",
            "PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.",
        );
        e.command = Some(command.to_string());
        e.terminating = true;
        e
    }
}

/// How a parameter takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `[switch]`: present or `-Name:$false`.
    Switch,
    /// Takes one value (any type; the cmdlet converts).
    Value,
}

#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    /// Position for positional binding, if the parameter accepts one.
    pub position: Option<usize>,
    pub aliases: &'static [&'static str],
}

/// ConfirmImpact of a cmdlet that supports ShouldProcess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmImpact {
    /// Never prompts by default (Low/Medium with the default $ConfirmPreference High).
    NoPrompt,
    /// ConfirmImpact High: prompts unless `-Confirm:$false`.
    High,
}

/// A cmdlet's signature, enough to bind arguments the way PowerShell does.
#[derive(Debug, Clone, Copy)]
pub struct CmdletSpec {
    /// Canonical name, e.g. `Set-ServerComponentState`.
    pub name: &'static str,
    pub params: &'static [ParamSpec],
    /// `Some` when the cmdlet supports `-WhatIf`/`-Confirm`.
    pub should_process: Option<ConfirmImpact>,
}

/// Shorthand for building `ParamSpec` tables.
pub const fn value(name: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Value,
        position: None,
        aliases: &[],
    }
}
pub const fn positional(name: &'static str, position: usize) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Value,
        position: Some(position),
        aliases: &[],
    }
}
pub const fn switch(name: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Switch,
        position: None,
        aliases: &[],
    }
}

/// Common parameters every cmdlet accepts (about_CommonParameters).
pub const COMMON_PARAMETERS: &[&str] = &[
    "Verbose",
    "Debug",
    "ErrorAction",
    "WarningAction",
    "InformationAction",
    "ErrorVariable",
    "WarningVariable",
    "InformationVariable",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
];

/// Arguments after binding: canonical parameter name → value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bound {
    pub values: Vec<(&'static str, Value)>,
    /// The `-ErrorAction` given, lower-cased (`stop`, `silentlycontinue`, …).
    pub error_action: Option<String>,
    /// `-WhatIf` present.
    pub what_if: bool,
}

impl Bound {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// A switch is on when present without value or bound to a truthy value.
    pub fn switch(&self, name: &str) -> bool {
        self.get(name).is_some_and(Value::is_truthy)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(super::convert::to_ps_string)
    }
}

/// Runs the commands the interpreter does not implement itself.
pub trait CommandHost {
    /// Runs `name` (as written in the script) with its raw arguments and
    /// pipeline input; returns its output objects. Unknown commands return
    /// `PsError::command_not_found`.
    fn invoke(
        &mut self,
        name: &str,
        args: &[Argument],
        input: Vec<Value>,
    ) -> Result<Vec<Value>, PsError>;

    /// Non-terminating errors written by the last `invoke` (PowerShell's
    /// Write-Error): the interpreter applies `-ErrorAction` and
    /// `$ErrorActionPreference` to them.
    fn take_non_terminating(&mut self) -> Vec<PsError> {
        Vec::new()
    }

    /// `[System.Net.ServicePointManager]::ServerCertificateValidationCallback`
    /// was set (`set`) or cleared in this process. A host without HTTP
    /// ignores it.
    fn set_certificate_callback(&mut self, set: bool) {
        let _ = set;
    }

    /// `$env:NAME` on this server (`COMPUTERNAME`, `SystemDrive`, …).
    fn env_var(&self, name: &str) -> Option<String>;

    /// The server's clock in ms since the Unix epoch (`Get-Date`,
    /// `[DateTime]::UtcNow`). A simulated world may supply its own time.
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// `Start-Sleep`: a simulated world decides what waiting means (advance
    /// its clock, run background work); the default does nothing.
    fn sleep_ms(&mut self, ms: u64) {
        let _ = ms;
    }

    /// `[System.IO.File]::ReadAllBytes(path)`: the file's bytes, or the
    /// .NET exception's message. A host without files finds none.
    fn read_file_bytes(&mut self, path: &str) -> Result<Vec<u8>, String> {
        Err(format!("Could not find file '{path}'."))
    }

    /// `[System.IO.File]::WriteAllBytes(path, bytes)`: creates or replaces
    /// the file, or returns the .NET exception's message.
    fn write_file_bytes(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        let _ = bytes;
        Err(format!("Access to the path '{path}' is denied."))
    }

    /// Script block logging (event 4104): PowerShell compiled `text`. A
    /// host without a log ignores it.
    fn log_script_block(&mut self, text: &str) {
        let _ = text;
    }

    /// Module logging (event 4103): `name` is about to run with these
    /// arguments and pipeline input. A host without a log ignores it.
    fn log_invocation(&mut self, name: &str, args: &[Argument], input: &[Value]) {
        let _ = (name, args, input);
    }

    /// The signature of a host command, when the host knows it. The
    /// interpreter uses it only to tell a switch (`-Force x`: `x` is
    /// positional) from a parameter that takes the next token as its value,
    /// as PowerShell's binder does; without it the next token is the value.
    fn command_spec(&self, name: &str) -> Option<CmdletSpec> {
        let _ = name;
        None
    }

    /// `TaskFolder.RegisterTaskDefinition` through the Task Scheduler's COM
    /// objects (`com.rs`): registers the task, or returns the COM
    /// exception's message. A host without a Task Scheduler has none.
    fn register_task(&mut self, task: &TaskRegistration) -> Result<(), String> {
        let _ = task;
        Err("The service has not been started. (Exception from HRESULT: 0x800704DD)".to_string())
    }
}

/// What a script asked `TaskFolder.RegisterTaskDefinition` to register:
/// the definition's first exec action, its principal's run level and its
/// settings' priority, and the call's flags (TASK_CREATION), account,
/// password and logon type (TASK_LOGON_TYPE) as numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRegistration {
    pub name: String,
    pub execute: String,
    pub arguments: Option<String>,
    pub flags: i64,
    pub user: Option<String>,
    pub password: Option<String>,
    pub logon_type: i64,
    pub run_level: i64,
    pub priority: i64,
}

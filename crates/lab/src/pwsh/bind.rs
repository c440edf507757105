//! Parameter binding as PowerShell does it: names are case-insensitive and
//! may be shortened to any unambiguous prefix; positional arguments fill the
//! parameters that declare a position; common parameters are always
//! accepted; `-Confirm`/`-WhatIf` only where the cmdlet supports them.

use super::convert::to_ps_string;
use super::host::{
    Argument, Bound, CmdletSpec, ConfirmImpact, ParamKind, PsError, COMMON_PARAMETERS,
};
use super::value::Value;

/// Binds `args` to `spec`. A `ConfirmImpact::High` cmdlet without
/// `-Confirm:$false` (and without `-WhatIf`) fails as a prompt does in a
/// non-interactive session.
pub fn bind(spec: &CmdletSpec, args: &[Argument]) -> Result<Bound, PsError> {
    let mut bound = Bound::default();
    let mut confirm: Option<bool> = None;
    let mut positionals: Vec<&Value> = Vec::new();
    for arg in args {
        match arg {
            Argument::Positional(v) => positionals.push(v),
            Argument::Named { name, value } => {
                let lname = name.to_ascii_lowercase();
                if let Some(p) = resolve(spec, &lname)? {
                    let v = match (p.kind, value) {
                        (ParamKind::Switch, None) => Value::Bool(true),
                        (_, Some(v)) => v.clone(),
                        (ParamKind::Value, None) => {
                            return Err(missing_argument(spec.name, p.name));
                        }
                    };
                    if bound.get(p.name).is_some() {
                        return Err(PsError::new(
                            super::host::ErrorCategory::InvalidArgument,
                            "ParameterAlreadyBound",
                            format!(
                                "Cannot bind parameter because parameter '{}' is specified more than once. \
                                 To provide multiple values to parameters that can accept multiple values, \
                                 use the array syntax. For example, \"-parameter value1,value2,value3\".",
                                p.name
                            ),
                        )
                        .in_command(spec.name)
                        .terminating());
                    }
                    bound.values.push((p.name, v));
                    continue;
                }
                // Common parameters and the ShouldProcess pair.
                let common = COMMON_PARAMETERS
                    .iter()
                    .chain(["WhatIf", "Confirm"].iter())
                    .filter(|c| c.to_ascii_lowercase().starts_with(&lname))
                    .collect::<Vec<_>>();
                let Some(c) = common.first() else {
                    return Err(PsError::parameter_not_found(spec.name, name));
                };
                match **c {
                    "WhatIf" | "Confirm" if spec.should_process.is_none() => {
                        return Err(PsError::parameter_not_found(spec.name, name));
                    }
                    "WhatIf" => bound.what_if = value.as_ref().is_none_or(Value::is_truthy),
                    "Confirm" => confirm = Some(value.as_ref().is_none_or(Value::is_truthy)),
                    "ErrorAction" => {
                        let Some(v) = value else {
                            return Err(missing_argument(spec.name, "ErrorAction"));
                        };
                        bound.error_action = Some(to_ps_string(v).to_ascii_lowercase());
                    }
                    "Verbose" | "Debug" => {}
                    other => {
                        if value.is_none() {
                            return Err(missing_argument(spec.name, other));
                        }
                    }
                }
            }
        }
    }
    // Positional binding, in position order, to parameters not yet bound.
    let mut slots: Vec<_> = spec
        .params
        .iter()
        .filter(|p| p.position.is_some() && bound.get(p.name).is_none())
        .collect();
    slots.sort_by_key(|p| p.position);
    let mut slots = slots.into_iter();
    for v in positionals {
        let Some(p) = slots.next() else {
            return Err(PsError::new(
                super::host::ErrorCategory::InvalidArgument,
                "PositionalParameterNotFound",
                format!(
                    "A positional parameter cannot be found that accepts argument '{}'.",
                    to_ps_string(v)
                ),
            )
            .in_command(spec.name)
            .terminating());
        };
        bound.values.push((p.name, v.clone()));
    }
    if spec.should_process == Some(ConfirmImpact::High) && confirm != Some(false) && !bound.what_if
    {
        return Err(PsError::non_interactive_prompt(spec.name));
    }
    Ok(bound)
}

fn resolve<'a>(
    spec: &'a CmdletSpec,
    lname: &str,
) -> Result<Option<&'a super::host::ParamSpec>, PsError> {
    // An exact name or alias wins over prefixes.
    if let Some(p) = spec.params.iter().find(|p| {
        p.name.eq_ignore_ascii_case(lname)
            || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(lname))
    }) {
        return Ok(Some(p));
    }
    let matches: Vec<_> = spec
        .params
        .iter()
        .filter(|p| p.name.to_ascii_lowercase().starts_with(lname))
        .collect();
    match matches.len() {
        0 => Ok(None),
        1 => Ok(Some(matches[0])),
        _ => {
            Err(PsError::new(
                super::host::ErrorCategory::InvalidArgument,
                "AmbiguousParameter",
                format!(
                "Parameter cannot be processed because the parameter name '{lname}' is ambiguous. \
                 Possible matches include: {}.",
                matches.iter().map(|p| format!("-{}", p.name)).collect::<Vec<_>>().join(" ")
            ),
            )
            .in_command(spec.name)
            .terminating())
        }
    }
}

fn missing_argument(command: &str, param: &str) -> PsError {
    PsError::new(
        super::host::ErrorCategory::InvalidArgument,
        "MissingArgument",
        format!(
            "Missing an argument for parameter '{param}'. Specify a parameter of type 'System.String' and try again."
        ),
    )
    .in_command(command)
    .terminating()
}

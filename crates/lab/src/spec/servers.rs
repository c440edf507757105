//! The `[[lab.server]]` and `[[lab.media]]` entries of the `[lab]` section:
//! each lab server's name, FQDN, build, prerequisites and port (unique
//! across the lab), each medium's path, build and digest, and the lookup
//! other entries use to name a lab server. It checks the description only;
//! it must not build live servers (that is `World::from_spec`).

use std::collections::HashMap;

use planfile::values::*;
use planfile::{checked, name_and_fqdn, PlanError, Source, Text};
use toml::Spanned;

use super::raw::*;
use super::{LabMedia, LabMediaKind, LabServer};
use crate::build::ExchangeBuild;

/// `[[lab.media]]`: each an absolute local path like `setup_path` (the lab
/// copies it onto every server), with the build it installs; the kind comes
/// from the extension (`.exe` setup media, `.msp` security update).
pub(super) fn media(
    src: &Source,
    raw: &[Spanned<RawLabMedia>],
) -> Result<Vec<LabMedia>, PlanError> {
    let mut out: Vec<LabMedia> = Vec::with_capacity(raw.len());
    for entry in raw {
        let m = entry.get_ref();
        let kind = checked(src, &m.path, |t| {
            let kind = LabMediaKind::from_path(t).ok_or_else(|| {
                format!(
                    "media path '{t}' must end in .exe (setup media) or .msp (a security update)"
                )
            })?;
            let ext = if kind == LabMediaKind::Setup {
                ".exe"
            } else {
                ".msp"
            };
            check_local_windows_path("media path", t, ext)?;
            Ok(kind)
        })?;
        if out
            .iter()
            .any(|o| o.path.eq_ignore_ascii_case(m.path.get_ref()))
        {
            return Err(src.error(
                m.path.span(),
                format!("media '{}' is listed twice", m.path.get_ref()),
            ));
        }
        let build = checked(src, &m.build, |t| {
            t.parse::<ExchangeBuild>()
                .map_err(|e| format!("build: {e}"))
        })?;
        let sha256 = m
            .sha256
            .as_ref()
            .map(|h| {
                checked(src, h, |t| {
                    check_sha256(t)
                        .map(|d| d.to_ascii_uppercase())
                        .map_err(|_| {
                            format!("sha256 '{t}' is not a SHA-256 digest; expected 64 hexadecimal digits")
                        })
                })
            })
            .transpose()?;
        out.push(LabMedia {
            path: m.path.get_ref().clone(),
            build,
            kind,
            sha256,
        });
    }
    Ok(out)
}

/// Lab servers, each with the span of its name for later references.
pub(super) fn servers(
    src: &Source,
    raw: &[Spanned<RawLabServer>],
    base_port: u16,
) -> Result<Vec<(LabServer, Text)>, PlanError> {
    let mut out: Vec<(LabServer, Text)> = Vec::new();
    let mut ports: HashMap<u16, String> = HashMap::new();
    for (index, entry) in raw.iter().enumerate() {
        let s = entry.get_ref();
        let fqdn = name_and_fqdn(src, &s.name, &s.fqdn)?;
        if let Some((first, _)) = out
            .iter()
            .find(|(o, _)| o.name.eq_ignore_ascii_case(s.name.get_ref()))
        {
            return Err(src.error(
                s.name.span(),
                format!(
                    "[[lab.server]] '{}' is listed twice; list each lab server once",
                    first.name
                ),
            ));
        }
        let build = checked(src, &s.build, |t| {
            t.parse::<ExchangeBuild>()
                .map_err(|e| format!("build: {e}"))
        })?;
        checked(src, &s.os, |t| check_plain_text("os", t))?;
        let mut custom_app_settings = Vec::with_capacity(s.custom_app_settings.len());
        for (key, value) in &s.custom_app_settings {
            checked(src, value, |t| {
                check_plain_text("appSettings key", key)?;
                check_plain_text("appSettings value", t)
            })?;
            custom_app_settings.push((key.clone(), value.get_ref().clone()));
        }
        let port = match &s.port {
            Some(p) if *p.get_ref() == 0 => {
                return Err(src.error(p.span(), "port must be from 1 to 65535"))
            }
            Some(p) => *p.get_ref(),
            None => u16::try_from(index)
                .ok()
                .and_then(|i| base_port.checked_add(i))
                .ok_or_else(|| {
                    src.error(
                        s.name.span(),
                        "base_port plus this server's index is past port 65535; lower base_port",
                    )
                })?,
        };
        if let Some(other) = ports.insert(port, s.name.get_ref().clone()) {
            let span = s.port.as_ref().map_or(s.name.span(), Spanned::span);
            return Err(src.error(
                span,
                format!(
                    "lab server '{}' would listen on port {port}, which '{other}' already uses",
                    s.name.get_ref()
                ),
            ));
        }
        out.push((
            LabServer {
                name: s.name.get_ref().clone(),
                fqdn,
                build,
                dotnet_release: s.dotnet_release,
                os: s.os.get_ref().clone(),
                vcredist_2012: s.vcredist_2012,
                vcredist_2013: s.vcredist_2013,
                ucma: s.ucma,
                url_rewrite: s.url_rewrite,
                pending_reboot: s.pending_reboot,
                system_drive_free_gb: s.system_drive_free_gb,
                install_drive_free_gb: s.install_drive_free_gb,
                ccm_client: s.ccm_client.unwrap_or(false)
                    || s.pending_reboot == Some(super::PendingReboot::Ccm),
                staging_folder_open: s.staging_folder_open.unwrap_or(false),
                setup_log_earlier_mb: s.setup_log_earlier_mb.unwrap_or(0),
                queue_messages: s.queue_messages,
                um_calls: s.um_calls,
                custom_app_settings,
                port: s.port.as_ref().map(|p| *p.get_ref()),
                activation_policy: super::dag::activation_policy(
                    src,
                    s.activation_policy.as_ref(),
                )?,
                standalone: s.standalone.unwrap_or(false),
                extended_protection: s.extended_protection,
                rpc_ssl_offloading: s.rpc_ssl_offloading.unwrap_or(false),
                edge: crate::edge::spec(src, s)?,
                // Filled in by `dag::assign_dags` once the DAGs are known.
                dag: String::new(),
            },
            s.name.clone(),
        ));
    }
    Ok(out)
}

/// The lab server a reference names (case-insensitively), or an error at it.
pub(super) fn lab_server<'a>(
    src: &Source,
    servers: &'a [(LabServer, Text)],
    reference: &Text,
    what: &str,
) -> Result<&'a LabServer, PlanError> {
    checked(src, reference, |t| check_netbios(what, t))?;
    servers
        .iter()
        .map(|(s, _)| s)
        .find(|s| s.name.eq_ignore_ascii_case(reference.get_ref()))
        .ok_or_else(|| {
            let known: Vec<&str> = servers.iter().map(|(s, _)| s.name.as_str()).collect();
            src.error(
                reference.span(),
                format!(
                    "{what} '{}' is not a lab server; the [[lab.server]] entries are: {}",
                    reference.get_ref(),
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        })
}

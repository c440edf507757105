//! Folder ACLs on a lab server, as SDDL: what `Get-Acl` shows and
//! `icacls` changes. A folder nobody set an ACL on inherits `C:\`'s
//! default, which lets BUILTIN\Users create files and folders in every
//! sub-folder (review real-exchange.md #22; the inherited entries below
//! are the `(Get-Acl C:\<folder>).Sddl` of a Windows Server install, as
//! commonly shown: UNVERIFIED against a Microsoft page). A folder whose
//! ACL was set keeps its own entries, protected from inheritance or not.
//! Only folders are modelled; nothing here knows PowerShell.

use serde::{Deserialize, Serialize};

use super::registry::normalize_file_path as normalize_path;
use super::world::World;

/// What a sub-folder of `C:\` inherits: SYSTEM and Administrators full
/// control, Users read and execute, Users "create folders / append data"
/// (`LC`, 0x4) and "create files / write data" (`DC`, 0x2) on sub-folders,
/// CREATOR OWNER full control on what they create.
pub const INHERITED_FROM_C: &str = "(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)(A;CIID;LC;;;BU)(A;CIID;DC;;;BU)(A;OICIIOID;GA;;;CO)";

/// A folder's own ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderAcl {
    pub path: String,
    /// Inheritance removed (`icacls /inheritance:r`): `D:P…`.
    pub protected: bool,
    /// Explicit entries, SDDL ACE strings such as `(A;OICI;FA;;;BA)`.
    pub aces: Vec<String>,
}

/// The SDDL alias of a well-known SID icacls is given as `*S-1-…`
/// (Microsoft Learn, "Well-known SIDs" and "SID strings").
fn alias(sid: &str) -> String {
    match sid.trim_start_matches('*').to_ascii_uppercase().as_str() {
        "S-1-5-32-544" => "BA".into(),
        "S-1-5-18" => "SY".into(),
        "S-1-5-32-545" => "BU".into(),
        "S-1-5-11" => "AU".into(),
        "S-1-1-0" => "WD".into(),
        other => other.to_string(),
    }
}

/// `(OI)(CI)F` → the ACE's flags and rights.
fn ace(sid: &str, perm: &str) -> Result<String, String> {
    let mut flags = String::new();
    let mut rest = perm;
    while let Some(p) = rest.strip_prefix('(') {
        let (flag, after) = p.split_once(')').ok_or("Invalid parameter")?;
        flags.push_str(match flag.to_ascii_uppercase().as_str() {
            "OI" => "OI",
            "CI" => "CI",
            "IO" => "IO",
            "NP" => "NP",
            _ => return Err(format!("Invalid parameter \"{perm}\"")),
        });
        rest = after;
    }
    let rights = match rest.to_ascii_uppercase().as_str() {
        "F" => "FA",
        "M" => "0x1301bf",
        "RX" => "0x1200a9",
        "R" => "FR",
        "W" => "0x100116",
        _ => return Err(format!("Invalid parameter \"{perm}\"")),
    };
    Ok(format!("(A;{flags};{rights};;;{})", alias(sid)))
}

/// The folders a server starts with: `C:\cu-roll` when the spec says
/// someone opened it up (`staging_folder_open`).
pub(crate) fn initial_directories(s: &crate::spec::LabServer) -> Vec<String> {
    if s.staging_folder_open {
        vec![r"C:\cu-roll".to_string()]
    } else {
        Vec::new()
    }
}

/// Their ACLs: that folder grants BUILTIN\Users Modify explicitly.
pub(crate) fn initial_acls(s: &crate::spec::LabServer) -> Vec<FolderAcl> {
    initial_directories(s)
        .into_iter()
        .map(|path| FolderAcl {
            path,
            protected: false,
            aces: vec!["(A;OICI;0x1301bf;;;BU)".to_string()],
        })
        .collect()
}

impl World {
    /// The folder's ACL as `Get-Acl`'s `Sddl` shows it (owner
    /// Administrators, group SYSTEM), or `None` when it is no folder.
    pub fn folder_sddl(&self, i: usize, path: &str) -> Option<String> {
        if !self.directory_exists(i, path) {
            return None;
        }
        let own = self.folder_acl(i, path);
        let (protected, aces) = own.map_or((false, Vec::new()), |a| (a.protected, a.aces.clone()));
        let mut sddl = String::from("O:BAG:SYD:");
        sddl.push_str(if protected { "PAI" } else { "AI" });
        sddl.push_str(&aces.concat());
        if !protected {
            sddl.push_str(INHERITED_FROM_C);
        }
        Some(sddl)
    }

    fn folder_acl(&self, i: usize, path: &str) -> Option<&FolderAcl> {
        let want = normalize_path(path);
        self.servers[i]
            .folder_acls
            .iter()
            .find(|a| a.path.eq_ignore_ascii_case(&want))
    }

    /// Gives `path` an explicit ACL (the lab's starting state).
    pub fn set_folder_acl(&mut self, i: usize, path: &str, protected: bool, aces: Vec<String>) {
        let path = normalize_path(path);
        let acls = &mut self.servers[i].folder_acls;
        acls.retain(|a| !a.path.eq_ignore_ascii_case(&path));
        acls.push(FolderAcl {
            path,
            protected,
            aces,
        });
    }

    /// `icacls <folder> [/inheritance:e|d|r] [/grant[:r] <sid>:<perm>…]`
    /// (Microsoft Learn, "icacls"): `/inheritance:r` removes the inherited
    /// entries, `/inheritance:d` copies them as explicit ones, `/grant:r`
    /// replaces the explicit entries of that SID. Returns icacls' output,
    /// or its error text.
    pub fn icacls(&mut self, i: usize, args: &[String]) -> Result<String, String> {
        let Some((path, switches)) = args.split_first() else {
            return Err("Invalid parameter".into());
        };
        if !self.directory_exists(i, path) {
            return Err(format!("{path}: The system cannot find the file specified.\r\nSuccessfully processed 0 files; Failed processing 1 files"));
        }
        let (mut protected, mut aces) = self
            .folder_acl(i, path)
            .map_or((false, Vec::new()), |a| (a.protected, a.aces.clone()));
        let mut k = 0;
        while k < switches.len() {
            let s = switches[k].to_ascii_lowercase();
            match s.as_str() {
                "/inheritance:r" => protected = true,
                "/inheritance:e" => protected = false,
                "/inheritance:d" => {
                    if !protected {
                        aces.extend(
                            INHERITED_FROM_C
                                .split_inclusive(')')
                                .map(|a| a.replace("ID;", ";")),
                        );
                    }
                    protected = true;
                }
                "/grant" | "/grant:r" => {
                    k += 1;
                    while let Some(g) = switches.get(k).filter(|g| !g.starts_with('/')) {
                        let (sid, perm) = g.split_once(':').ok_or("Invalid parameter")?;
                        let new = ace(sid, perm)?;
                        if s == "/grant:r" {
                            let who = format!(";;;{})", alias(sid));
                            aces.retain(|a| !a.ends_with(&who));
                        }
                        aces.push(new);
                        k += 1;
                    }
                    continue;
                }
                other => return Err(format!("Invalid parameter \"{other}\"")),
            }
            k += 1;
        }
        self.set_folder_acl(i, path, protected, aces);
        Ok(format!(
            "processed file: {}\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n",
            normalize_path(path)
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::{three_member_spec, T0};
    use crate::World;

    #[test]
    fn a_new_folder_inherits_users_write_and_icacls_takes_it_away() {
        let mut w = World::from_spec(&three_member_spec(), "DAG01", T0);
        w.create_directory(0, r"C:\cu-roll").unwrap();
        let before = w.folder_sddl(0, r"C:\cu-roll").unwrap();
        assert!(before.contains("(A;CIID;DC;;;BU)"), "{before}");
        let args: Vec<String> = [
            r"C:\cu-roll",
            "/inheritance:r",
            "/grant:r",
            "*S-1-5-32-544:(OI)(CI)F",
            "*S-1-5-18:(OI)(CI)F",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        w.icacls(0, &args).unwrap();
        assert_eq!(
            w.folder_sddl(0, r"C:\cu-roll").unwrap(),
            "O:BAG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)"
        );
    }

    #[test]
    fn an_explicit_users_entry_survives_inheritance_removal() {
        let mut w = World::from_spec(&three_member_spec(), "DAG01", T0);
        w.create_directory(0, r"C:\cu-roll").unwrap();
        w.set_folder_acl(
            0,
            r"C:\cu-roll",
            false,
            vec!["(A;OICI;0x1301bf;;;BU)".into()],
        );
        let args: Vec<String> = [
            r"C:\cu-roll",
            "/inheritance:r",
            "/grant:r",
            "*S-1-5-18:(OI)(CI)F",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        w.icacls(0, &args).unwrap();
        let sddl = w.folder_sddl(0, r"C:\cu-roll").unwrap();
        assert!(sddl.contains("(A;OICI;0x1301bf;;;BU)"), "{sddl}");
        assert!(sddl.starts_with("O:BAG:SYD:PAI"), "{sddl}");
    }
}

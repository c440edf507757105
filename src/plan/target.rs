//! Resolving the plan's target (`2019-CU15` + `security_update`) against the
//! catalogue into the build every server must end at: the second half of
//! reading the plan, shared by pre-flight, the runbook and the reports. It
//! reads the catalogue only, never a server.

use super::{Plan, SecurityUpdateChoice, TargetSpec};
use crate::catalog::{BuildIdentity, Catalog, CuInfo, ExchangeBuild, SuInfo};

/// The target, resolved.
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    pub cu: CuInfo,
    pub su: Option<SuInfo>,
}

impl ResolvedTarget {
    /// The build every server ends at.
    pub fn build(&self) -> ExchangeBuild {
        self.su.as_ref().map_or(self.cu.build, |s| s.build)
    }

    /// `Exchange Server 2019 CU15 Feb26SU`.
    pub fn name(&self) -> String {
        match &self.su {
            Some(su) => format!("{} {}", self.cu.display_name(), su.name),
            None => self.cu.display_name(),
        }
    }

    pub fn released(&self) -> &str {
        self.su.as_ref().map_or(&self.cu.released, |s| &s.released)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{plan}: target '{id}' is not in the catalogue; known: {known}")]
    UnknownCu {
        plan: String,
        id: String,
        known: String,
    },
    #[error("{plan}: target build {build} is not a build the catalogue knows ({name}); give a catalogue id such as 2019-CU15 instead")]
    UnknownBuild {
        plan: String,
        build: ExchangeBuild,
        name: String,
    },
    #[error("{plan}: security_update = \"{name}\" is not an update of {cu}; known: {known}")]
    UnknownSu {
        plan: String,
        name: String,
        cu: String,
        known: String,
    },
    #[error("{plan}: the target is the exact build {build}; security_update must be \"none\" with an exact build (the build already says which update)")]
    BuildWithSu { plan: String, build: ExchangeBuild },
    #[error("{plan}: the target {name} is Exchange Server 2013, which cu-roll does not roll out (out of support since 2023-04-11); target Exchange Server 2016, 2019 or SE")]
    Exchange2013 { plan: String, name: String },
}

pub fn resolve_target(plan: &Plan, catalog: &Catalog) -> Result<ResolvedTarget, TargetError> {
    let target = resolve_any(plan, catalog)?;
    if target.cu.product == crate::catalog::Product::Exchange2013 {
        return Err(TargetError::Exchange2013 {
            plan: plan.path.display().to_string(),
            name: target.name(),
        });
    }
    Ok(target)
}

/// The target the plan names, whatever its product.
fn resolve_any(plan: &Plan, catalog: &Catalog) -> Result<ResolvedTarget, TargetError> {
    let plan_name = plan.path.display().to_string();
    match &plan.rollout.target {
        TargetSpec::CuId(id) => {
            let cu = catalog.cu_by_id(id).ok_or_else(|| TargetError::UnknownCu {
                plan: plan_name.clone(),
                id: id.clone(),
                known: catalog
                    .cus()
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            let su = match &plan.rollout.security_update {
                SecurityUpdateChoice::None => None,
                SecurityUpdateChoice::Latest => cu.latest_su().cloned(),
                SecurityUpdateChoice::Named(name) => {
                    Some(cu.su_by_name(name).cloned().ok_or_else(|| {
                        TargetError::UnknownSu {
                            plan: plan_name.clone(),
                            name: name.clone(),
                            cu: cu.display_name(),
                            known: cu
                                .security_updates
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        }
                    })?)
                }
            };
            Ok(ResolvedTarget { cu: cu.clone(), su })
        }
        TargetSpec::Build(build) => {
            if plan.rollout.security_update != SecurityUpdateChoice::None {
                return Err(TargetError::BuildWithSu {
                    plan: plan_name,
                    build: *build,
                });
            }
            match catalog.identify(*build) {
                BuildIdentity::Known { cu, su, .. } => Ok(ResolvedTarget {
                    cu: cu.clone(),
                    su: su.cloned(),
                }),
                other => Err(TargetError::UnknownBuild {
                    plan: plan_name,
                    build: *build,
                    name: other.name().to_string(),
                }),
            }
        }
    }
}

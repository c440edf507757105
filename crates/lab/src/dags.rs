//! Which DAG each lab server is a member of, and what each DAG's failover
//! cluster owns: one lab world holds several DAGs (one per distinct plan
//! `[[server]] dag`), each a cluster of its own with its own quorum,
//! Primary Active Manager (the owner of its core `Cluster Group`) and
//! databases (a database's copies stay in one DAG; the spec checks it).
//! Pure lookups plus the owner's bookkeeping; the rules that use them live
//! in `world.rs`, `quorum.rs`, `time.rs` and `cmdlets/`.

use crate::model::{NodeState, Server};
use crate::world::World;

impl Server {
    /// Whether this server is a member of `dag`; `default` is the world's
    /// first DAG, where a server saved without one belongs.
    pub fn dag_is(&self, dag: &str, default: &str) -> bool {
        let mine = if self.dag.is_empty() {
            default
        } else {
            &self.dag
        };
        mine.eq_ignore_ascii_case(dag)
    }
}

impl World {
    /// The DAG of server `i`.
    pub fn dag_of(&self, i: usize) -> &str {
        let d = &self.servers[i].dag;
        if d.is_empty() {
            &self.dag
        } else {
            d
        }
    }

    /// Whether servers `a` and `b` are in the same DAG.
    pub fn same_dag(&self, a: usize, b: usize) -> bool {
        self.dag_of(a).eq_ignore_ascii_case(self.dag_of(b))
    }

    /// The DAGs, in the order their first member appears.
    pub fn dags(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in 0..self.servers.len() {
            let d = self.dag_of(i);
            if !out.iter().any(|o| o.eq_ignore_ascii_case(d)) {
                out.push(d.to_string());
            }
        }
        if out.is_empty() {
            out.push(self.dag.clone());
        }
        out
    }

    /// The DAG named `name` (any case), in the world's spelling.
    pub fn find_dag(&self, name: &str) -> Option<String> {
        self.dags()
            .into_iter()
            .find(|d| d.eq_ignore_ascii_case(name))
    }

    /// Indices of the members of `dag`, in lab order.
    pub fn members(&self, dag: &str) -> Vec<usize> {
        (0..self.servers.len())
            // A standalone server is in no DAG (standalone.rs).
            .filter(|&i| !self.servers[i].standalone && self.dag_of(i).eq_ignore_ascii_case(dag))
            .collect()
    }

    /// The DAG database `d`'s copies are in (its first copy's server's).
    pub fn dag_of_database(&self, d: usize) -> String {
        self.databases[d]
            .copies
            .first()
            .and_then(|c| self.server_index(&c.server))
            .map_or_else(|| self.dag.clone(), |i| self.dag_of(i).to_string())
    }

    /// The member of `dag` owning its `Cluster Group` (the PAM).
    pub fn cluster_group_owner(&self, dag: &str) -> String {
        self.cluster_group_owners
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(dag))
            .map(|(_, v)| v.clone())
            .or_else(|| {
                self.members(dag)
                    .first()
                    .map(|&i| self.servers[i].name.clone())
            })
            .unwrap_or_default()
    }

    /// Gives `dag`'s `Cluster Group` to `owner`.
    pub fn set_cluster_group_owner(&mut self, dag: &str, owner: String) {
        let key = self.find_dag(dag).unwrap_or_else(|| dag.to_string());
        self.cluster_group_owners.insert(key, owner);
    }

    /// Where the failover cluster would put `Cluster Group` when it leaves
    /// `from`: the first other node of `from`'s cluster that is Up
    /// (neither Paused nor Down), in node id order, as `Move-ClusterGroup`
    /// without `-Node` picks "the best possible node".
    pub fn cluster_group_target(&self, from: &str) -> Option<String> {
        let i = self.server_index(from)?;
        self.members(self.dag_of(i))
            .into_iter()
            .map(|j| &self.servers[j])
            .find(|s| !s.name.eq_ignore_ascii_case(from) && s.cluster_node.state == NodeState::Up)
            .map(|s| s.name.clone())
    }
}

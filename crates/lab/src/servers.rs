//! `Servers`: the world's list of servers, which remembers which of them
//! were borrowed for writing since the lab last compared the world with
//! its save (`store/persist.rs`), so that comparison reads only those
//! instead of every server on every call. Reading is as through a
//! `Vec<Server>`; writing one server (`servers[i].x = …`, `&mut
//! servers[i]`) marks that server; any other write access (`iter_mut`,
//! `push`, a `&mut Vec`) marks them all. Serialised as a plain list. It
//! holds no behaviour of the servers themselves.

use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut, Index, IndexMut};

use serde::{Deserialize, Serialize};

use super::model::Server;

#[derive(Debug, Clone, Default)]
pub struct Servers {
    list: Vec<Server>,
    touched: Touched,
}

/// Which servers may have changed since `take_touched`.
#[derive(Debug, Clone, Default)]
pub enum Touched {
    /// Only these indices (none at first).
    #[default]
    None,
    Some(BTreeSet<usize>),
    All,
}

impl Servers {
    /// What may have changed since the last call, and forget it.
    pub(crate) fn take_touched(&mut self) -> Touched {
        std::mem::take(&mut self.touched)
    }

    /// Every server may have changed (a save that failed: the next
    /// comparison reads them all).
    pub(crate) fn mark_all(&mut self) {
        self.touched = Touched::All;
    }

    /// The list without marking anything: for code that puts back what it
    /// changed (the comparison's own swaps).
    pub(crate) fn unmarked(&mut self) -> &mut Vec<Server> {
        &mut self.list
    }
}

impl From<Vec<Server>> for Servers {
    fn from(list: Vec<Server>) -> Servers {
        Servers {
            list,
            touched: Touched::All,
        }
    }
}

impl FromIterator<Server> for Servers {
    fn from_iter<I: IntoIterator<Item = Server>>(iter: I) -> Servers {
        Servers::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl PartialEq for Servers {
    fn eq(&self, other: &Servers) -> bool {
        self.list == other.list
    }
}

impl Deref for Servers {
    type Target = Vec<Server>;
    fn deref(&self) -> &Vec<Server> {
        &self.list
    }
}

impl DerefMut for Servers {
    fn deref_mut(&mut self) -> &mut Vec<Server> {
        self.touched = Touched::All;
        &mut self.list
    }
}

impl Index<usize> for Servers {
    type Output = Server;
    fn index(&self, i: usize) -> &Server {
        &self.list[i]
    }
}

impl IndexMut<usize> for Servers {
    fn index_mut(&mut self, i: usize) -> &mut Server {
        match &mut self.touched {
            Touched::All => {}
            Touched::Some(set) => {
                set.insert(i);
            }
            none @ Touched::None => *none = Touched::Some(BTreeSet::from([i])),
        }
        &mut self.list[i]
    }
}

impl<'a> IntoIterator for &'a Servers {
    type Item = &'a Server;
    type IntoIter = std::slice::Iter<'a, Server>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl<'a> IntoIterator for &'a mut Servers {
    type Item = &'a mut Server;
    type IntoIter = std::slice::IterMut<'a, Server>;
    fn into_iter(self) -> Self::IntoIter {
        self.deref_mut().iter_mut()
    }
}

impl Serialize for Servers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Servers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Servers, D::Error> {
        Vec::<Server>::deserialize(d).map(Servers::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::three_member_spec;

    fn servers() -> Servers {
        let spec = three_member_spec();
        let mut world = crate::World::from_spec(&spec, &spec.dag, crate::testkit::T0);
        world.servers.take_touched();
        world.servers
    }

    #[test]
    fn reads_mark_nothing_one_write_marks_its_server_other_writes_all() {
        let mut s = servers();
        let _ = s[1].name.len() + s.iter().count() + s.len();
        assert!(matches!(s.take_touched(), Touched::None));
        s[2].move_now = true;
        let _ = &mut s[0];
        match s.take_touched() {
            Touched::Some(set) => assert_eq!(set.into_iter().collect::<Vec<_>>(), [0, 2]),
            other => panic!("{other:?}"),
        }
        for server in s.iter_mut() {
            server.move_now = false;
        }
        assert!(matches!(s.take_touched(), Touched::All));
        assert!(matches!(s.take_touched(), Touched::None));
    }

    /// What the lab does around every call — settle to now (queues, due
    /// events), check availability (UM calls included) — borrows no server
    /// for writing when nothing about it changes: otherwise every call
    /// compares every server with the last save.
    #[test]
    fn settling_and_the_availability_check_mark_no_server_that_did_not_change() {
        let spec = three_member_spec();
        let mut world = crate::World::from_spec(&spec, &spec.dag, crate::testkit::T0);
        world.settle(crate::testkit::T0 + 1_000);
        world.servers.take_touched();
        world.settle(crate::testkit::T0 + 2_000);
        world.check_availability();
        assert!(
            matches!(world.servers.take_touched(), Touched::None),
            "a quiet world's servers were borrowed for writing"
        );
    }
}

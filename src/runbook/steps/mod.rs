//! Throwaway (backup worktree only): the lead's steps/mod.rs replaces this.
pub mod backup_config;

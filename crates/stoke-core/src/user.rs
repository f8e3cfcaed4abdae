//! The people who log in, and their teams.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::id::{TeamId, UserId};
use crate::value::Email;

/// What a user may reach. Agents see their own and their team's contacts; managers their teams';
/// admins everything, including bulk export, bulk delete, the playbook and users. Declared from
/// the fewest rights to the most, so `Ord` compares rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Agent,
    Manager,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role (admin, manager, agent)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "agent" => Ok(Role::Agent),
            "manager" => Ok(Role::Manager),
            "admin" | "owner" => Ok(Role::Admin),
            _ => Err(UnknownRole(s.trim().to_owned())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub team: Option<TeamId>,
    pub created_at: Timestamp,
}

/// What it takes to create a user. The password hash is computed by the caller (argon2id), so
/// the domain and the store never see a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDraft {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub team: Option<TeamId>,
    pub password_hash: Option<String>,
}

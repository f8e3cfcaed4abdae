//! Notes and tasks that agents keep on a contact.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::id::{ContactId, NoteId, TaskId, UserId};

/// A free-text note on a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: NoteId,
    pub contact: ContactId,
    pub author: Option<UserId>,
    pub text: String,
    pub at: Timestamp,
}

/// What kind of work a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    Call,
    Meeting,
    FollowUp,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Call => "call",
            TaskKind::Meeting => "meeting",
            TaskKind::FollowUp => "follow-up",
        }
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown task kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a task kind (call, meeting, follow-up)")]
pub struct UnknownTaskKind(pub String);

impl FromStr for TaskKind {
    type Err = UnknownTaskKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "call" => Ok(TaskKind::Call),
            "meeting" => Ok(TaskKind::Meeting),
            "follow-up" | "followup" | "follow_up" => Ok(TaskKind::FollowUp),
            _ => Err(UnknownTaskKind(s.trim().to_owned())),
        }
    }
}

/// A planned (and later done) call, meeting or follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub contact: ContactId,
    pub kind: TaskKind,
    pub title: String,
    pub due_at: Option<Timestamp>,
    pub assignee: Option<UserId>,
    pub done_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// What it takes to create a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDraft {
    pub contact: ContactId,
    pub kind: TaskKind,
    pub title: String,
    pub due_at: Option<Timestamp>,
    pub assignee: Option<UserId>,
}

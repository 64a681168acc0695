//! Emitting audit events ([`crate::audit`]) to the configured hook.

use super::Provider;
use crate::audit::{AuditEvent, AuditKind};
use crate::storage::{GrantRecord, Storage};

impl<S: Storage> Provider<S> {
    pub(crate) fn audit(
        &self,
        kind: AuditKind,
        client_id: Option<&str>,
        subject: Option<&str>,
        grant_id: Option<&str>,
    ) {
        if let Some(hook) = &self.config.audit {
            hook(&AuditEvent {
                kind,
                client_id: client_id.map(str::to_string),
                subject: subject.map(str::to_string),
                grant_id: grant_id.map(str::to_string),
                at: self.now(),
            });
        }
    }

    /// [`audit`](Self::audit) of an event about `grant`.
    pub(crate) fn audit_grant(&self, kind: AuditKind, grant: &GrantRecord) {
        self.audit(kind, Some(&grant.client_id), grant.subject.as_deref(), Some(&grant.id));
    }
}

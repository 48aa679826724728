//! Invitations: an owner invites someone by name to a role on a site; the
//! link (`<MALLARD_PUBLIC_URL>/invite/<token>`) is shown once, works once
//! and expires after `MALLARD_INVITATION_TTL` (7 days). Whoever opens it chooses a password and
//! becomes that user. Like keys, only the token's digest is stored (the
//! settings store's `invitations`).

use std::io;

use mallard_core::time::{format_timestamp, now_micros};
use serde::{Deserialize, Serialize};

use crate::auth::grants::{Grant, Grants};
use crate::auth::users::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    /// The login name the invitee gets.
    pub name: String,
    pub site: String,
    pub role: Role,
    pub created: String,
    /// Who invited (an audit label).
    pub by: String,
    pub expires: String,
    pub expires_micros: i64,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    digest: String,
}

impl Invitation {
    pub fn live(&self, now: i64) -> bool {
        now < self.expires_micros
    }
}

impl Grant for Invitation {
    fn id(&self) -> &str {
        &self.id
    }

    fn digest(&self) -> &str {
        &self.digest
    }

    fn public(&self) -> Invitation {
        Invitation { digest: String::new(), ..self.clone() }
    }
}

pub type Invitations = Grants<Invitation>;

pub const PREFIX: &str = "inv_";

impl Grants<Invitation> {
    pub fn open_invitations(store: &crate::store::Store) -> io::Result<Invitations> {
        Grants::open(store, "invitations")
    }

    /// A new invitation: its token (shown once, in the link) and its record.
    /// Expired ones are dropped on the way.
    pub fn invite(
        &self,
        name: &str,
        site: &str,
        role: Role,
        by: &str,
        ttl: std::time::Duration,
    ) -> io::Result<(String, Invitation)> {
        let now = now_micros();
        self.retain(|i| i.live(now))?;
        let expires_micros = now.saturating_add(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX));
        self.issue(PREFIX, |id, digest| Invitation {
            id,
            name: name.to_string(),
            site: site.to_string(),
            role,
            created: format_timestamp(now),
            by: by.to_string(),
            expires: format_timestamp(expires_micros),
            expires_micros,
            digest,
        })
    }
}

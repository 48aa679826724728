//! Users and their roles per site, in the settings store's `users`
//! document. A role on `*` covers every site, present and future; a user's
//! role on a site is the higher of that and the site's own. Owners manage
//! users, admins manage a site's settings, viewers read. There is always at
//! least one owner of every site (`*`), so nobody locks the team out.

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

use crate::auth::password::PasswordHash;
use crate::auth::secret;
use crate::store::{Doc, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            other => Err(format!("unknown role {other:?}; use \"viewer\", \"admin\" or \"owner\"")),
        }
    }
}

/// The site name that stands for every site.
pub const ALL_SITES: &str = "*";
/// The name of the user that today's single password becomes; a login
/// without a name is theirs.
pub const FIRST_OWNER: &str = "owner";

/// Site (or [`ALL_SITES`]) → role.
pub type Roles = BTreeMap<String, Role>;

/// The role `roles` give on `site`; `None` asks for the role on every site.
pub fn role_on(roles: &Roles, site: Option<&str>) -> Option<Role> {
    let all = roles.get(ALL_SITES).copied();
    match site {
        Some(s) if s != ALL_SITES => all.max(roles.get(s).copied()),
        _ => all,
    }
}

/// A login name: lowercase letters, digits and `.@+_-`, as in an email
/// address, at most 100 characters.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim().to_lowercase();
    let ok =
        !name.is_empty() && name.len() <= 100 && name.chars().all(|c| c.is_ascii_alphanumeric() || ".@+_-".contains(c));
    if ok { Ok(name) } else { Err("a user name is 1–100 of a-z, 0-9 and .@+_- (an email address works)".into()) }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub roles: Roles,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    password: Option<PasswordHash>,
}

impl User {
    /// The record as the API shows it: without the password hash.
    pub fn public(&self) -> User {
        User { password: None, ..self.clone() }
    }

    pub fn verify(&self, password: &str) -> bool {
        self.password.as_ref().is_some_and(|h| h.verify(password))
    }
}

#[derive(Debug)]
pub enum UserError {
    NotFound,
    NameTaken(String),
    /// The change would leave no owner of every site.
    LastOwner,
    Store(io::Error),
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserError::NotFound => write!(f, "no such user"),
            UserError::NameTaken(n) => write!(f, "there is already a user named {n:?}"),
            UserError::LastOwner => {
                write!(f, "this would leave nobody who owns every site; make another user an owner of \"*\" first")
            }
            UserError::Store(e) => write!(f, "could not save the users: {e}"),
        }
    }
}

fn has_owner(users: &[User]) -> bool {
    users.iter().any(|u| u.roles.get(ALL_SITES) == Some(&Role::Owner))
}

pub struct Users {
    doc: Doc<Vec<User>>,
}

fn new_id() -> io::Result<String> {
    Ok(secret::to_hex(&secret::random::<6>()?))
}

fn now() -> String {
    mallard_core::time::format_timestamp(mallard_core::time::now_micros())
}

impl Users {
    pub fn open(store: &Store) -> io::Result<Users> {
        Ok(Users { doc: store.open("users")? })
    }

    pub fn is_empty(&self) -> bool {
        self.doc.read(Vec::is_empty)
    }

    /// Makes `hash` the first owner, owner of every site, unless a user
    /// exists already (another collector may have been first); whether it did.
    pub fn create_first_owner(&self, hash: PasswordHash) -> io::Result<bool> {
        let id = new_id()?;
        self.doc.update(|users| {
            if !users.is_empty() {
                return false;
            }
            let roles = Roles::from([(ALL_SITES.to_string(), Role::Owner)]);
            users.push(User { id, name: FIRST_OWNER.into(), roles, created: now(), password: Some(hash) });
            true
        })
    }

    /// Adds a user with one role.
    pub fn add(&self, name: &str, hash: PasswordHash, site: &str, role: Role) -> Result<User, UserError> {
        let id = new_id().map_err(UserError::Store)?;
        let user = User {
            id,
            name: name.to_string(),
            roles: Roles::from([(site.to_string(), role)]),
            created: now(),
            password: Some(hash),
        };
        self.doc
            .update(|users| {
                if users.iter().any(|u| u.name == user.name) {
                    return Err(UserError::NameTaken(user.name.clone()));
                }
                users.push(user.clone());
                Ok(user.public())
            })
            .map_err(UserError::Store)?
    }

    pub fn by_name(&self, name: &str) -> Option<User> {
        self.doc.find(|users| users.iter().find(|u| u.name == name).cloned())
    }

    pub fn get(&self, id: &str) -> Option<User> {
        self.doc.find(|users| users.iter().find(|u| u.id == id).cloned())
    }

    /// Any user's hash: verifying a password against it costs what a real
    /// verification costs, so an unknown name answers as slowly as a known one.
    pub fn any(&self) -> Option<User> {
        self.doc.read(|users| users.first().cloned())
    }

    pub fn list(&self) -> Vec<User> {
        self.doc.read(|users| users.iter().map(User::public).collect())
    }

    /// Applies `change` to user `id`, refused if it leaves no owner of every site.
    fn change(&self, id: &str, change: impl FnOnce(&mut Vec<User>, usize)) -> Result<(), UserError> {
        self.doc
            .update(|users| {
                let Some(at) = users.iter().position(|u| u.id == id) else { return Err(UserError::NotFound) };
                let mut next = users.clone();
                change(&mut next, at);
                if !has_owner(&next) {
                    return Err(UserError::LastOwner);
                }
                *users = next;
                Ok(())
            })
            .map_err(UserError::Store)?
    }

    /// Sets (or with `None` removes) user `id`'s role on `site`.
    pub fn set_role(&self, id: &str, site: &str, role: Option<Role>) -> Result<(), UserError> {
        self.change(id, |users, at| match role {
            Some(role) => {
                users[at].roles.insert(site.to_string(), role);
            }
            None => {
                users[at].roles.remove(site);
            }
        })
    }

    pub fn remove(&self, id: &str) -> Result<(), UserError> {
        self.change(id, |users, at| {
            users.remove(at);
        })
    }

    pub fn set_password(&self, id: &str, hash: PasswordHash) -> Result<(), UserError> {
        self.change(id, |users, at| users[at].password = Some(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_on_every_site_counts_on_each() {
        let roles = Roles::from([("*".to_string(), Role::Viewer), ("a.com".to_string(), Role::Admin)]);
        assert_eq!(role_on(&roles, Some("a.com")), Some(Role::Admin));
        assert_eq!(role_on(&roles, Some("b.com")), Some(Role::Viewer));
        assert_eq!(role_on(&roles, None), Some(Role::Viewer));
        let one = Roles::from([("a.com".to_string(), Role::Owner)]);
        assert_eq!(role_on(&one, Some("b.com")), None);
        assert_eq!(role_on(&one, None), None, "owning one site is not owning all");
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Viewer);
    }

    #[test]
    fn names_are_checked_and_the_last_owner_stays() {
        assert_eq!(check_name(" Ana@Example.com ").unwrap(), "ana@example.com");
        assert!(check_name("").is_err() && check_name("a b").is_err() && check_name("<x>").is_err());
        let dir = std::env::temp_dir().join(format!("mallard-users-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let users = Users::open(&Store::local(&dir)).unwrap();
        let hash = PasswordHash::new("a long enough secret").unwrap();
        assert!(users.create_first_owner(hash.clone()).unwrap());
        assert!(!users.create_first_owner(hash.clone()).unwrap(), "only while there is nobody");
        let owner = users.by_name(FIRST_OWNER).unwrap();
        assert!(matches!(users.remove(&owner.id), Err(UserError::LastOwner)));
        assert!(matches!(users.set_role(&owner.id, "*", Some(Role::Admin)), Err(UserError::LastOwner)));
        let ana = users.add("ana", hash.clone(), "a.com", Role::Viewer).unwrap();
        assert!(matches!(users.add("ana", hash, "b.com", Role::Admin), Err(UserError::NameTaken(_))));
        users.set_role(&ana.id, "*", Some(Role::Owner)).unwrap();
        users.remove(&owner.id).unwrap();
        assert!(users.list().iter().all(|u| u.password.is_none()), "the API never shows a hash");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

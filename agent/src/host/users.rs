//! The host's users and groups, parsed from its own `/etc/passwd` and `/etc/group`.

use std::collections::HashMap;

/// Names of the host's users and groups, and group membership.
#[derive(Debug, Default, Clone)]
pub struct UserDb {
    users_by_id: HashMap<u32, String>,
    users_by_name: HashMap<String, (u32, u32)>,
    groups_by_id: HashMap<u32, String>,
    /// group name → (gid, member user names)
    groups_by_name: HashMap<String, (u32, Vec<String>)>,
}

impl UserDb {
    /// The users in group `gid`: its members in `/etc/group` and those whose primary group it
    /// is, sorted.
    pub fn group_members(&self, gid: u32) -> Vec<String> {
        let mut members: Vec<String> = self
            .groups_by_name
            .values()
            .filter(|(g, _)| *g == gid)
            .flat_map(|(_, m)| m.iter().cloned())
            .chain(
                self.users_by_name
                    .iter()
                    .filter(|(_, (_, primary))| *primary == gid)
                    .map(|(name, _)| name.clone()),
            )
            .collect();
        members.sort();
        members.dedup();
        members
    }

    /// Parses passwd and group text; malformed lines are skipped.
    pub fn parse(passwd: &str, group: &str) -> UserDb {
        let mut db = UserDb::default();
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 4 || fields[0].starts_with('#') {
                continue;
            }
            let (Ok(uid), Ok(gid)) = (fields[2].parse::<u32>(), fields[3].parse::<u32>()) else {
                continue;
            };
            db.users_by_id
                .entry(uid)
                .or_insert_with(|| fields[0].to_string());
            db.users_by_name
                .entry(fields[0].to_string())
                .or_insert((uid, gid));
        }
        for line in group.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 3 || fields[0].starts_with('#') {
                continue;
            }
            let Ok(gid) = fields[2].parse::<u32>() else {
                continue;
            };
            let members = fields
                .get(3)
                .map(|m| {
                    m.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            db.groups_by_id
                .entry(gid)
                .or_insert_with(|| fields[0].to_string());
            db.groups_by_name
                .entry(fields[0].to_string())
                .or_insert((gid, members));
        }
        db
    }

    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users_by_id.get(&uid).map(String::as_str)
    }

    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups_by_id.get(&gid).map(String::as_str)
    }

    /// `root` or `#1234` when the host has no name for the id.
    pub fn user_label(&self, uid: u32) -> String {
        self.user_name(uid)
            .map_or_else(|| format!("#{uid}"), str::to_string)
    }

    pub fn group_label(&self, gid: u32) -> String {
        self.group_name(gid)
            .map_or_else(|| format!("#{gid}"), str::to_string)
    }

    pub fn uid_of(&self, name: &str) -> Option<u32> {
        self.users_by_name.get(name).map(|(uid, _)| *uid)
    }

    /// Names of the groups a user belongs to (primary and supplementary), or `None` when the
    /// host has no such user.
    pub fn groups_of(&self, user: &str) -> Option<Vec<String>> {
        let (_, primary) = self.users_by_name.get(user)?;
        let mut groups: Vec<String> = self
            .groups_by_name
            .iter()
            .filter(|(_, (gid, members))| gid == primary || members.iter().any(|m| m == user))
            .map(|(name, _)| name.clone())
            .collect();
        groups.sort();
        Some(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_given_files() {
        let db = UserDb::parse(
            "root:x:0:0:root:/root:/bin/bash\netcd:x:998:997::/var/lib/etcd:/usr/sbin/nologin\nbad line\n",
            "root:x:0:\nssh_keys:x:996:\nadmins:x:1000:alice,etcd\n",
        );
        assert_eq!(db.user_name(998), Some("etcd"));
        assert_eq!(db.group_name(996), Some("ssh_keys"));
        assert_eq!(db.user_label(4242), "#4242");
        assert_eq!(db.uid_of("etcd"), Some(998));
        assert_eq!(db.groups_of("etcd"), Some(vec!["admins".to_string()]));
        assert_eq!(db.groups_of("nobody"), None);
    }
}

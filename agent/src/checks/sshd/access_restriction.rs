//! `sshd.access-restriction`: sshd limits who may log in.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Verdict, evidence};
use nodecheck_report::{Severity, Source};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.access-restriction",
        title: "SSH access is limited to named users or groups",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "Without AllowUsers/AllowGroups/DenyUsers/DenyGroups, every account with a shell and a credential may log in, including service accounts nobody watches. A lone `*` pattern satisfies the letter of CIS but restricts nobody, so it does not count.",
        remediation: "Add `AllowGroups ssh-users` (or AllowUsers with the administrators' accounts) to the sshd configuration, put the administrators in that group, and reload sshd.",
        cis: &[],
        references: &[
            "CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.4",
            "https://man.openbsd.org/sshd_config#AllowUsers",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

const LISTS: [(&str, &str); 4] = [
    ("allowusers", "AllowUsers"),
    ("allowgroups", "AllowGroups"),
    ("denyusers", "DenyUsers"),
    ("denygroups", "DenyGroups"),
];

/// A list restricts someone unless it only admits everybody (`*`, `*@*`) or denies nobody.
fn restricts(option: &str, values: &[String]) -> bool {
    let wildcard = |v: &String| v == "*" || v == "*@*";
    match option {
        "allowusers" | "allowgroups" => !values.is_empty() && !values.iter().all(wildcard),
        _ => !values.is_empty(),
    }
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let sshd = match super::accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let mut items = Vec::new();
    let mut restricted = false;
    for (option, display) in LISTS {
        if let Some(setting) = sshd.global.get(option) {
            let effective = restricts(option, &setting.values);
            restricted |= effective;
            let mut item = evidence(
                display,
                Some(setting.values.join(" ")),
                "a list that restricts someone",
                effective,
                super::place_source(setting.origin()),
            );
            if !effective {
                item.note = Some("a lone wildcard admits every user".into());
            }
            items.push(item);
        }
        for (_, setting) in sshd.config.block_settings(option) {
            let mut item = evidence(
                display,
                Some(setting.values.join(" ")),
                "a list that restricts someone",
                true,
                super::place_source(setting.origin()),
            );
            item.note = setting
                .block
                .and_then(|b| sshd.config.blocks.get(b))
                .map(|b| format!("{} (only for connections it matches)", b.label()));
            items.push(item);
        }
    }
    if restricted {
        let items = items
            .into_iter()
            .map(|mut e| {
                e.status = nodecheck_report::Status::Pass;
                e
            })
            .collect();
        return Verdict::new(
            nodecheck_report::Status::Pass,
            "login is limited by an Allow/Deny list",
            items,
        );
    }
    items.push(evidence(
        "AllowUsers, AllowGroups, DenyUsers, DenyGroups",
        None,
        "at least one set globally",
        false,
        Source::None,
    ));
    Verdict::new(
        nodecheck_report::Status::Fail,
        "no global AllowUsers, AllowGroups, DenyUsers or DenyGroups restricts who may log in; add AllowGroups",
        items,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_cases(
            &CHECK,
            &[
                ("AllowGroups ssh-users\n", Status::Pass),
                ("DenyUsers guest\n", Status::Pass),
                ("", Status::Fail),
                ("AllowUsers *\n", Status::Fail),
                ("Match User x\nAllowUsers x\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}

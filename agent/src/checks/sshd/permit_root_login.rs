//! `sshd.permit-root-login`: root cannot log in over SSH.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

pub const ALLOW_PROHIBIT_PASSWORD: ParamSpec = ParamSpec {
    name: "allow_prohibit_password",
    default: ParamDefault::Bool(false),
    doc: "Also accept prohibit-password (key-only root login) and forced-commands-only.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.permit-root-login",
        title: "Root login over SSH is disabled",
        area: super::AREA,
        severity: Severity::High,
        roles: ALL_ROLES,
        rationale: "A direct root login leaves no trace of who used it and makes root's credentials the one target worth attacking. OpenSSH's default, prohibit-password (printed without-password before 10.1), still admits root with a key.",
        remediation: "Set `PermitRootLogin no` in the sshd configuration (in a drop-in read before the others on Debian, where Include comes first), give administrators their own accounts with sudo, and reload sshd.",
        cis: &[],
        references: &[
            "CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.20",
            "https://man.openbsd.org/sshd_config#PermitRootLogin",
        ],
        params: &[ALLOW_PROHIBIT_PASSWORD],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    if ctx.params.flag(&ALLOW_PROHIBIT_PASSWORD) {
        super::judge_values(
            ctx,
            "permitrootlogin",
            "PermitRootLogin",
            &["no", "prohibit-password", "forced-commands-only"],
        )
    } else {
        super::judge_values(ctx, "permitrootlogin", "PermitRootLogin", &["no"])
    }
}

/// `PermitRootLogin no` wherever it fails (administrators log in as themselves and use sudo).
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("PermitRootLogin", "no")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::{ParamValue, Params};
    use nodecheck_report::{Role, Status};

    #[test]
    fn verdicts() {
        assert_cases(
            &CHECK,
            &[
                ("PermitRootLogin no\n", Status::Pass),
                ("", Status::Fail),
                ("PermitRootLogin without-password\n", Status::Fail),
                (
                    "PermitRootLogin no\nMatch Address 10.0.0.0/8\nPermitRootLogin yes\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }

    #[test]
    fn prohibit_password_and_its_alias_pass_when_allowed() {
        let mut params = Params::defaults(&CHECK.meta);
        params
            .0
            .insert("allow_prohibit_password".into(), ParamValue::Bool(true));
        for text in [
            "",
            "PermitRootLogin without-password\n",
            "PermitRootLogin prohibit-password\n",
        ] {
            let v = judge_with(&CHECK, &sshd_config(text), &[Role::Host], &params);
            assert_eq!(v.status, Status::Pass, "{text}");
        }
        let v = judge_with(
            &CHECK,
            &sshd_config("PermitRootLogin yes\n"),
            &[Role::Host],
            &params,
        );
        assert_eq!(v.status, Status::Fail);
    }

    #[test]
    fn message_names_the_file_and_line() {
        let facts = sshd_facts(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
            ),
            (
                "/etc/ssh/sshd_config.d/50-cloud-init.conf",
                "PermitRootLogin yes\n",
            ),
        ]);
        let v = judge(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message
                .contains("/etc/ssh/sshd_config.d/50-cloud-init.conf:1"),
            "{}",
            v.message
        );
    }
}

//! `sshd.password-authentication`: no password logins over SSH.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

pub const PAM_MFA: ParamSpec = ParamSpec {
    name: "pam_mfa",
    default: ParamDefault::Bool(false),
    doc: "Keyboard-interactive authentication is a PAM-backed second factor (e.g. TOTP with AuthenticationMethods publickey,keyboard-interactive): allow it when UsePAM is yes.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.password-authentication",
        title: "Password and keyboard-interactive authentication are disabled",
        area: super::AREA,
        severity: Severity::High,
        roles: ALL_ROLES,
        rationale: "Passwords can be guessed, phished and reused; keys and certificates cannot. KbdInteractiveAuthentication (alias ChallengeResponseAuthentication) usually asks for the same password through PAM. Cloud images often turn passwords back on in sshd_config.d/50-cloud-init.conf.",
        remediation: "Set `PasswordAuthentication no` and `KbdInteractiveAuthentication no` in the first-read drop-in (or above any Include in sshd_config), and reload sshd.",
        cis: &[],
        references: &["https://man.openbsd.org/sshd_config#PasswordAuthentication"],
        params: &[PAM_MFA],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let sshd = match super::accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let mut items = super::option_evidence(
        sshd,
        "passwordauthentication",
        "PasswordAuthentication",
        "no",
        &|s| s.value() == "no",
    );
    let mfa = ctx.params.flag(&PAM_MFA) && sshd.global.value("usepam") == "yes";
    let kbd_expected = if mfa {
        "no, or yes as PAM-backed MFA (pam_mfa)"
    } else {
        "no"
    };
    items.extend(super::option_evidence(
        sshd,
        "kbdinteractiveauthentication",
        "KbdInteractiveAuthentication",
        kbd_expected,
        &|s| mfa || s.value() == "no",
    ));
    Verdict::from_evidence(items, "password logins are disabled", |failing| {
        super::failing_message(failing, "no")
    })
}

/// Each failing value set to `no`.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(
        verdict,
        &[
            ("PasswordAuthentication", "no"),
            ("KbdInteractiveAuthentication", "no"),
        ],
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
                (
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
                    Status::Pass,
                ),
                (
                    "PasswordAuthentication no\nChallengeResponseAuthentication no\n",
                    Status::Pass,
                ),
                ("PasswordAuthentication no\n", Status::Fail),
                ("KbdInteractiveAuthentication no\n", Status::Fail),
                (
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nMatch User deploy\nPasswordAuthentication yes\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}

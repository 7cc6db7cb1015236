//! `sshd.max-startups`: unauthenticated connections are throttled.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

pub const MAX: ParamSpec = ParamSpec {
    name: "max",
    default: ParamDefault::Strings(&["10", "30", "60"]),
    doc: "Upper bounds for start, rate and full, compared field by field.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.max-startups",
        title: "MaxStartups is 10:30:60 or stricter",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "MaxStartups start:rate:full drops unauthenticated connections beyond `start` with probability `rate`% and all beyond `full`; low values blunt connection-flood denial of service. Unlike most options, the last MaxStartups line wins.",
        remediation: "Set `MaxStartups 10:30:60` in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.18"],
        params: &[MAX],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let bounds: Vec<i64> = ctx
        .params
        .list(&MAX)
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    // A list that is not three numbers (the profile loader checks only the type) falls back
    // to the declared default.
    let bounds = if bounds.len() == 3 {
        bounds
    } else {
        crate::checks::Params::default()
            .list(&MAX)
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    };
    let expected = format!(
        "{}:{}:{} or stricter, field by field",
        bounds[0], bounds[1], bounds[2]
    );
    super::judge_option(ctx, "maxstartups", "MaxStartups", &expected, &|s| {
        let fields: Vec<i64> = s
            .value()
            .split(':')
            .filter_map(|f| f.parse().ok())
            .collect();
        fields.len() == 3 && fields.iter().zip(&bounds).all(|(v, max)| v <= max)
    })
}

/// The profile's bounds themselves (`10:30:60` by default).
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    let bounds = ctx.params.list(&MAX);
    if bounds.len() != 3 || bounds.iter().any(|b| b.parse::<u32>().is_err()) {
        return Vec::new();
    }
    crate::checks::fix::sshd_values(verdict, &[("MaxStartups", &bounds.join(":"))])
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
                ("MaxStartups 10:30:60\n", Status::Pass),
                ("MaxStartups 10:30:60\nMaxStartups 5:20:30\n", Status::Pass),
                ("MaxStartups 5:20:30\nMaxStartups 10:30:100\n", Status::Fail),
                ("", Status::Fail),
                ("MaxStartups 8\n", Status::Pass),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}

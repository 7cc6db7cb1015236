//! The collector's storage test suite, run unchanged against every backend: SQLite in memory,
//! SQLite on disk (reads through its second, read-only connection), and a real PostgreSQL
//! (Debian's, started privately on loopback). Then what only PostgreSQL has: several replicas
//! writing one database at once, and its errors.
//!
//! Without PostgreSQL installed the PostgreSQL tests say why and pass, unless
//! `NODECHECK_REQUIRE_TOOLS=1` (as `scripts/test.sh`, which installs it, sets).

use nodecheck_collector::auth;
use nodecheck_collector::store::{
    ChangeFilter, ChangeRow, Direction, DriftFilter, DriftRow, Incoming, Ingested, NodeCursor,
    NodeFilter, NodeRow, NodeSort, Store, StoreError, TokenSpec,
};
use nodecheck_report::*;
use std::cell::Cell;

#[path = "support/report.rs"]
mod sample;

#[path = "support/postgres.rs"]
mod postgres_server;
use postgres_server::Postgres;

#[path = "support/scratch.rs"]
mod scratch;
use scratch::Scratch;

/// Where a case gets its stores: `fresh` names a new, empty database; `open` opens (and
/// reopens) one.
struct Backend<'a> {
    name: &'static str,
    fresh: &'a dyn Fn() -> String,
    open: &'a dyn Fn(&str) -> Store,
    /// Whether a database outlives its store (not so in memory).
    durable: bool,
}

impl Backend<'_> {
    fn store(&self) -> Store {
        (self.open)(&(self.fresh)())
    }
}

type Case = fn(&Backend<'_>);

const CASES: &[(&str, Case)] = &[
    (
        "aggregates follow status transitions",
        aggregates_follow_status_transitions,
    ),
    (
        "unchanged reports share one body",
        unchanged_reports_share_one_body,
    ),
    (
        "a check described anew is updated",
        a_check_described_anew_is_updated,
    ),
    (
        "stale nodes stop counting for a description",
        stale_nodes_stop_counting_for_a_description,
    ),
    ("stale nodes agree everywhere", stale_nodes_agree_everywhere),
    (
        "every sort pages through every node once",
        every_sort_pages_through_every_node_once,
    ),
    (
        "summary, history and check detail",
        summary_history_and_check_detail,
    ),
    ("tokens and sessions", tokens_and_sessions),
    ("hostile text is data", hostile_text_is_data),
    (
        "prune keeps latest reports and counts",
        prune_keeps_latest_reports_and_counts,
    ),
    (
        "reopening migrates nothing twice",
        reopening_migrates_nothing_twice,
    ),
    (
        "drift is counted again after the upgrade that moved its rows",
        drift_is_counted_again_after_the_upgrade,
    ),
    ("a node with many checks", a_node_with_many_checks),
    (
        "kubelet versions from Node objects",
        kubelet_versions_from_node_objects,
    ),
    (
        "report ids are unique per node",
        report_ids_are_unique_per_node,
    ),
    (
        "a token creates at most its nodes",
        a_token_creates_at_most_its_nodes,
    ),
    (
        "an unknown check no node reports is forgotten",
        an_unknown_check_no_node_reports_is_forgotten,
    ),
    (
        "a check left out of the latest report is not failing",
        a_check_left_out_is_not_failing,
    ),
    (
        "changes between consecutive reports",
        changes_between_consecutive_reports,
    ),
    (
        "the change feed pages and filters",
        change_feed_pages_and_filters,
    ),
    ("drift from peers is counted", drift_from_peers_is_counted),
    (
        "drift examples are found across a large group",
        drift_examples_are_found_across_a_large_group,
    ),
    (
        "webhook deliveries are enqueued, retried and dead-lettered",
        webhook_deliveries_are_enqueued_retried_and_dead_lettered,
    ),
    (
        "a hostile node's changes, drift and events stay bounded",
        a_hostile_nodes_changes_drift_and_events_stay_bounded,
    ),
];

fn run_suite(backend: &Backend<'_>) {
    for (name, case) in CASES {
        eprintln!("storage suite on {}: {name}", backend.name);
        case(backend);
    }
}

#[test]
fn storage_suite_on_sqlite_in_memory() {
    run_suite(&Backend {
        name: "SQLite in memory",
        fresh: &|| ":memory:".into(),
        open: &|_| Store::in_memory().expect("store"),
        durable: false,
    });
}

#[test]
fn storage_suite_on_sqlite_on_disk() {
    let dir = Scratch::new("storage-sqlite");
    let counter = Cell::new(0);
    run_suite(&Backend {
        name: "SQLite on disk",
        fresh: &|| {
            counter.set(counter.get() + 1);
            dir.join(format!("case-{}.db", counter.get()))
                .display()
                .to_string()
        },
        open: &|path| Store::open(std::path::Path::new(path)).expect("open"),
        durable: true,
    });
}

/// A PostgreSQL server, or `None` (with the reason printed) when it cannot run here and the
/// run does not require it.
fn postgres() -> Option<Postgres> {
    // Tests of one binary run in parallel, each with its own server.
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match Postgres::start_in(Scratch::new(&format!("postgres-{n}"))) {
        Ok(server) => Some(server),
        Err(reason) => {
            assert!(
                std::env::var("NODECHECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "NODECHECK_REQUIRE_TOOLS=1 but PostgreSQL cannot run: {reason}"
            );
            eprintln!("skipped: {reason}");
            None
        }
    }
}

#[test]
fn storage_suite_on_postgres() {
    let Some(server) = postgres() else { return };
    let counter = Cell::new(0);
    run_suite(&Backend {
        name: "PostgreSQL",
        fresh: &|| {
            counter.set(counter.get() + 1);
            server.create_database(&format!("case_{}", counter.get()))
        },
        open: &|url| Store::connect(url).expect("connect"),
        durable: true,
    });
}

/// Both dialects' migrations end in the same tables and the same columns (types differ:
/// BLOB and BYTEA, INTEGER and BIGINT).
#[test]
fn both_dialects_end_in_the_same_tables_and_columns() {
    let Some(server) = postgres() else { return };
    let dir = Scratch::new("storage-dialects");
    let path = dir.join("schema.db");
    drop(Store::open(&path).expect("sqlite"));
    drop(Store::connect(&server.create_database("dialects")).expect("postgres"));
    let sqlite = rusqlite::Connection::open(&path).expect("open");
    let mut tables: Vec<String> = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("tables")
        .query_map([], |row| row.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    tables.retain(|t| !t.starts_with("sqlite_"));
    let mut in_sqlite = Vec::new();
    for table in &tables {
        let columns: Vec<String> = sqlite
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .expect("columns")
            .query_map([], |row| row.get(0))
            .expect("columns")
            .collect::<Result<_, _>>()
            .expect("columns");
        in_sqlite.extend(columns.into_iter().map(|c| format!("{table}.{c}")));
    }
    in_sqlite.sort();
    let mut in_postgres: Vec<String> = server
        .client("dialects")
        .query(
            "SELECT table_name || '.' || column_name FROM information_schema.columns
             WHERE table_schema = current_schema()",
            &[],
        )
        .expect("columns")
        .iter()
        .map(|row| row.get(0))
        .collect();
    in_postgres.sort();
    assert_eq!(in_sqlite, in_postgres);
    assert!(in_sqlite.contains(&"reports.body_hash".to_string()));
}

// ---- the cases --------------------------------------------------------------------------

/// A report id is unique for its node only: another node's report with the same id is stored,
/// not a silent duplicate (issue 12: it used to be deduplicated fleet-wide). Changed
/// semantics: before, the second node's report was answered `duplicate` and lost.
fn report_ids_are_unique_per_node(backend: &Backend<'_>) {
    let store = backend.store();
    assert_eq!(
        store
            .ingest(report("same-id", "prod", "a", true), 100)
            .expect("a"),
        Ingested::Stored
    );
    assert_eq!(
        store
            .ingest(report("same-id", "prod", "b", false), 100)
            .expect("b"),
        Ingested::Stored
    );
    assert_eq!(
        store
            .ingest(report("same-id", "prod", "a", true), 200)
            .expect("a again"),
        Ingested::Duplicate
    );
    let (b, _) = store.node("prod", "b").expect("node").expect("b");
    assert_eq!(b.node.name, "b");
    assert_eq!(b.findings[0].status, Status::Pass);
    let (a, _) = store.node("prod", "a").expect("node").expect("a");
    assert_eq!(a.findings[0].status, Status::Fail);
    assert_eq!(store.report_count().expect("count"), 2);
    // Pruning keeps each node's latest, though they share an id.
    assert_eq!(store.prune(1_000).expect("prune"), 0);
}

/// A token that may create two nodes creates two; a third new node is refused and nothing of
/// it stored, while the two keep reporting and a node another token created is not counted.
fn a_token_creates_at_most_its_nodes(backend: &Backend<'_>) {
    use nodecheck_collector::store::{Creator, Incoming};
    let store = backend.store();
    let by = |token_id: i64, id: &str, node: &str| {
        let mut incoming = Incoming::new(report(id, "prod", node, true)).expect("incoming");
        incoming.creator = Some(Creator {
            token_id,
            max_nodes: 2,
        });
        store.ingest_batch(&[incoming], 100).expect("ingest")[0]
    };
    assert_eq!(by(7, "r1", "a"), Ingested::Stored);
    assert_eq!(by(7, "r2", "b"), Ingested::Stored);
    assert_eq!(by(7, "r3", "c"), Ingested::NodeLimit { max: 2 });
    assert!(store.node("prod", "c").expect("node").is_none());
    assert_eq!(store.report_count().expect("count"), 2);
    // Its nodes keep reporting; another token's node is its own.
    assert_eq!(by(7, "r4", "a"), Ingested::Stored);
    assert_eq!(by(8, "r5", "c"), Ingested::Stored);
    // A node that exists is no new node, whoever created it.
    assert_eq!(by(7, "r6", "c"), Ingested::Stored);
}

/// A check the catalogue does not know is listed while some node reports it, and forgotten
/// when none does (issue 12's red team: one node sending 2,048 new ids per report grew
/// /api/v1/checks to 88 MB); a check the catalogue knows stays listed. Reported again, an
/// unknown check is described anew.
fn an_unknown_check_no_node_reports_is_forgotten(backend: &Backend<'_>) {
    let store = backend.store();
    let with_custom = |id: &str, node: &str, title: &str| {
        let mut r = report(id, "prod", node, true);
        let mut custom = r.findings[0].clone();
        custom.id = "custom.short-lived".into();
        custom.title = title.into();
        r.findings.push(custom);
        r
    };
    let without_any = |id: &str, node: &str| {
        let mut r = report(id, "prod", node, true);
        r.findings.clear();
        r
    };
    store
        .ingest(with_custom("r1", "a", "First"), 100)
        .expect("r1");
    store
        .ingest(with_custom("r2", "b", "First"), 100)
        .expect("r2");
    store.ingest(without_any("r3", "a"), 200).expect("r3");
    let (row, failing) = store
        .check("custom.short-lived", 10)
        .expect("check")
        .expect("b still reports it");
    assert_eq!((row.failing_nodes, failing.len()), (1, 1));
    store.ingest(without_any("r4", "b"), 300).expect("r4");
    assert!(
        store
            .check("custom.short-lived", 10)
            .expect("check")
            .is_none()
    );
    assert!(
        !store
            .checks()
            .expect("checks")
            .iter()
            .any(|c| c.id == "custom.short-lived")
    );
    // The catalogue's checks stay, reported or not.
    assert!(
        store
            .check("sshd.permit-root-login", 10)
            .expect("check")
            .is_some()
    );
    // Back again, with a new description.
    store
        .ingest(with_custom("r5", "a", "Second"), 400)
        .expect("r5");
    let (row, _) = store
        .check("custom.short-lived", 10)
        .expect("check")
        .expect("reported again");
    assert_eq!(row.title, "Second");
    assert_eq!(row.failing_nodes, 1);
}

/// A check a node's latest report leaves out (its profile stopped enabling it) no longer lists
/// the node as failing it. Changed semantics: the node used to stay on the list forever.
fn a_check_left_out_is_not_failing(backend: &Backend<'_>) {
    let store = backend.store();
    let check = "sshd.permit-root-login";
    store
        .ingest(report("r1", "prod", "a", true), 100)
        .expect("r1");
    store
        .ingest(report("r2", "prod", "b", true), 100)
        .expect("r2");
    assert_eq!(failing_of(&store, check).0, 2);
    let mut without = report("r3", "prod", "a", true);
    without.findings.retain(|f| f.id != check);
    store.ingest(without, 200).expect("r3");
    assert_eq!(
        failing_of(&store, check),
        (
            1,
            vec![("prod".into(), "b".into(), "PermitRootLogin is yes".into())]
        )
    );
    // Reported again, it counts again.
    store
        .ingest(report("r4", "prod", "a", true), 300)
        .expect("r4");
    assert_eq!(failing_of(&store, check).0, 2);
}

/// Two findings: `sshd.permit-root-login` (failing or not) and a passing kubelet check.
fn report(id: &str, cluster: &str, name: &str, failing: bool) -> Report {
    let findings = vec![
        sample::finding(
            "sshd.permit-root-login",
            Severity::High,
            if failing { Status::Fail } else { Status::Pass },
            "PermitRootLogin is yes",
        ),
        sample::finding(
            "kubelet.anonymous-auth",
            Severity::Critical,
            Status::Pass,
            "off",
        ),
    ];
    sample::report(id, cluster, name, findings)
}

fn failing_of(store: &Store, check: &str) -> (i64, Vec<(String, String, String)>) {
    let (row, nodes) = store
        .check(check, 100)
        .expect("check")
        .expect("known check");
    (
        row.failing_nodes,
        nodes
            .into_iter()
            .map(|n| (n.cluster, n.name, n.message))
            .collect(),
    )
}

/// The ingest path skips rewriting unchanged rows; the aggregates must still follow every
/// transition of a node's statuses, messages included.
fn aggregates_follow_status_transitions(backend: &Backend<'_>) {
    let store = backend.store();
    let ingest = |report: Report, at: i64| store.ingest(report, at).expect("ingest");
    let check = "sshd.permit-root-login";
    ingest(report("r1", "prod", "a", true), 100);
    ingest(report("r2", "prod", "b", true), 100);
    assert_eq!(failing_of(&store, check).0, 2);
    // Same statuses again: nothing moves.
    ingest(report("r3", "prod", "a", true), 200);
    assert_eq!(failing_of(&store, check).0, 2);
    // a is fixed.
    ingest(report("r4", "prod", "a", false), 300);
    assert_eq!(
        failing_of(&store, check),
        (
            1,
            vec![("prod".into(), "b".into(), "PermitRootLogin is yes".into())]
        )
    );
    // b still fails, with another message: the message shown must be the new one.
    let mut changed = report("r5", "prod", "b", true);
    changed.findings[0].message = "PermitRootLogin is without-password".into();
    ingest(changed, 400);
    let (count, nodes) = failing_of(&store, check);
    assert_eq!(count, 1);
    assert_eq!(nodes[0].2, "PermitRootLogin is without-password");
    // A waiver takes b out of the failing count; the same id again is a duplicate.
    let mut waived = report("r6", "prod", "b", true);
    waived.findings[0].waiver = Some(Waiver {
        reason: "ticket 42".into(),
        expires: None,
    });
    assert_eq!(ingest(waived, 500), Ingested::Stored);
    assert_eq!(failing_of(&store, check).0, 0);
    assert_eq!(
        ingest(report("r6", "prod", "b", true), 600),
        Ingested::Duplicate
    );
    assert_eq!(failing_of(&store, check).0, 0);
    assert_eq!(store.report_count().expect("count"), 6);
}

/// A node that reports the same findings every interval has its body kept once; each report
/// keeps its own id, start time and duration, and pruning frees bodies no report uses.
fn unchanged_reports_share_one_body(backend: &Backend<'_>) {
    let store = backend.store();
    let mut first = report("r1", "prod", "a", true);
    first.started_at = "2026-11-27T00:00:00.000Z".into();
    first.duration_ms = 7;
    let mut second = report("r2", "prod", "a", true);
    second.started_at = "2026-11-27T00:10:00.000Z".into();
    second.duration_ms = 9;
    store.ingest(first, 100).expect("ingest");
    store.ingest(second.clone(), 700).expect("ingest");
    assert_eq!(store.report_count().expect("count"), 2);
    assert_eq!(store.body_count().expect("bodies"), 1, "one body for both");
    let (latest, _) = store.node("prod", "a").expect("node").expect("known");
    assert_eq!(latest, second, "the latest report comes back whole");

    // A change makes a new body; pruning the old reports frees the old body only.
    store
        .ingest(report("r3", "prod", "a", false), 1300)
        .expect("ingest");
    assert_eq!(store.body_count().expect("bodies"), 2);
    assert_eq!(store.prune(1000).expect("prune"), 2);
    assert_eq!(store.report_count().expect("count"), 1);
    assert_eq!(store.body_count().expect("bodies"), 1);
    let (latest, _) = store.node("prod", "a").expect("node").expect("known");
    assert_eq!(latest.id, "r3");
}

/// A check the catalogue does not know is described to the fleet as most of the nodes that
/// report it describe it, and a newer description takes over once most nodes give it.
/// Changed semantics (issue 12): the latest report's description used to win, so one node
/// could retitle a check for every viewer; a check the catalogue knows is described by the
/// catalogue alone.
fn a_check_described_anew_is_updated(backend: &Backend<'_>) {
    let store = backend.store();
    let check = "custom.newer-check";
    let with_custom = |id: &str, node: &str, title: &str| {
        let mut r = report(id, "prod", node, true);
        let mut custom = r.findings[0].clone();
        custom.id = check.into();
        custom.title = title.into();
        r.findings.push(custom);
        r
    };
    let title = |store: &Store| {
        let (row, failing) = store.check(check, 10).expect("check").expect("known");
        (row.title, row.failing_nodes, failing.len())
    };
    store
        .ingest(with_custom("01M1", "a", "Older title"), 100)
        .expect("ingest");
    store
        .ingest(with_custom("01M2", "b", "Older title"), 100)
        .expect("ingest");
    // One node, last to speak, with another title and a forged known check: not believed.
    let mut newer = with_custom("01M3", "c", "Newer title");
    newer.findings[0].title = "Root login is fine".into();
    newer.findings[0].rationale = "Shared root logins leave no trail.".into();
    store.ingest(newer, 200).expect("ingest");
    assert_eq!(title(&store), ("Older title".into(), 3, 3));
    // Saying it again and again gains it nothing.
    for i in 0..5 {
        store
            .ingest(
                with_custom(&format!("01M3{i}"), "c", "Newer title"),
                210 + i,
            )
            .expect("ingest");
    }
    assert_eq!(title(&store).0, "Older title");
    // Once most nodes give the newer description (their agents were upgraded), it is shown.
    store
        .ingest(with_custom("01M4", "a", "Newer title"), 300)
        .expect("ingest");
    assert_eq!(title(&store), ("Newer title".into(), 3, 3));
    store
        .ingest(with_custom("01M5", "b", "Third title"), 400)
        .expect("ingest");
    assert_eq!(title(&store).0, "Newer title", "two against one");
    // A node that leaves the check out no longer counts for its description; of equally
    // many, the description seen first stays.
    let mut without = report("01M6", "prod", "c", true);
    without.findings.retain(|f| f.id != check);
    store.ingest(without, 500).expect("ingest");
    assert_eq!(title(&store), ("Newer title".into(), 2, 2), "one each");
    store
        .ingest(with_custom("01M7", "a", "Third title"), 600)
        .expect("ingest");
    assert_eq!(title(&store), ("Third title".into(), 2, 2));
    let (row, _) = store
        .check("sshd.permit-root-login", 10)
        .expect("check")
        .expect("known");
    let known = nodecheck_collector::catalogue::get("sshd.permit-root-login").expect("known");
    assert_eq!(row.title, known.title);
    assert_eq!(row.rationale, known.rationale);
}

/// Nodes that stopped reporting (scaled down, their token revoked) do not outvote the fleet
/// for good: once stale, what they said about a check the catalogue does not know is withdrawn,
/// and counted again if they report again. (Red team: three revoked nodes kept "Evil" shown
/// over two live nodes forever.)
fn stale_nodes_stop_counting_for_a_description(backend: &Backend<'_>) {
    let store = backend.store();
    let check = "custom.voted";
    let with = |id: &str, node: &str, title: &str| {
        let mut r = report(id, "prod", node, true);
        r.agent.interval_s = Some(60);
        let mut custom = r.findings[0].clone();
        custom.id = check.into();
        custom.title = title.into();
        r.findings.push(custom);
        r
    };
    let shown = |store: &Store| {
        store
            .check(check, 10)
            .expect("check")
            .expect("known")
            .0
            .title
    };
    for (i, node) in ["e1", "e2", "e3"].iter().enumerate() {
        store
            .ingest(with(&format!("e{i}"), node, "Evil"), 100)
            .expect("ingest");
    }
    for (i, node) in ["l1", "l2"].iter().enumerate() {
        store
            .ingest(with(&format!("l{i}"), node, "Legit"), 100)
            .expect("ingest");
    }
    assert_eq!(shown(&store), "Evil", "three against two");
    assert_eq!(
        store.withdraw_stale_descriptions(150).expect("withdraw"),
        0,
        "none stale yet"
    );
    // The legit nodes keep reporting; the others stop (stale after three 60 s intervals).
    for (i, node) in ["l1", "l2"].iter().enumerate() {
        store
            .ingest(with(&format!("l{i}b"), node, "Legit"), 1000)
            .expect("ingest");
    }
    assert_eq!(shown(&store), "Evil", "not yet withdrawn");
    assert_eq!(
        store.withdraw_stale_descriptions(1000).expect("withdraw"),
        3
    );
    assert_eq!(shown(&store), "Legit");
    assert_eq!(
        store.withdraw_stale_descriptions(1000).expect("again"),
        0,
        "once"
    );
    // A stale node that reports again counts again, as one.
    store
        .ingest(with("e0b", "e1", "Evil"), 1100)
        .expect("ingest");
    assert_eq!(shown(&store), "Legit", "one against two");
    store
        .ingest(with("e1b", "e2", "Evil"), 1100)
        .expect("ingest");
    store
        .ingest(with("e2b", "e3", "Evil"), 1100)
        .expect("ingest");
    assert_eq!(shown(&store), "Evil", "three live against two");
    // The failing list was never affected: every node still reports the check.
    let (row, failing) = store.check(check, 10).expect("check").expect("known");
    assert_eq!((row.failing_nodes, failing.len()), (5, 5));
}

/// Staleness is judged in SQL (counts, lists, filters) and in Rust (each row's flag); both
/// must say the same, from the same constants.
fn stale_nodes_agree_everywhere(backend: &Backend<'_>) {
    use nodecheck_collector::store::{DEFAULT_INTERVAL_S, STALE_INTERVALS, STALE_SQL};
    assert_eq!(
        STALE_SQL,
        format!(
            "?now - last_seen > {STALE_INTERVALS} * COALESCE(interval_s, {DEFAULT_INTERVAL_S})"
        )
    );
    let store = backend.store();
    // Interval 600 s: stale after 1800 s of silence.
    for (i, last_seen) in [0, 1000, 1199, 1200, 2500].into_iter().enumerate() {
        let r = report(&format!("01T{i}"), "prod", &format!("n{i}"), false);
        store.ingest(r, last_seen).expect("ingest");
    }
    let now = 3000;
    let expected = vec!["n0".to_string(), "n1".to_string(), "n2".to_string()];
    let names = |rows: Vec<NodeRow>| rows.into_iter().map(|n| n.name).collect::<Vec<_>>();
    assert_eq!(names(store.stale_nodes(10, now).expect("stale")), expected);
    let filter = NodeFilter {
        stale: Some(true),
        limit: 10,
        ..Default::default()
    };
    let filtered = store.nodes(&filter, now).expect("nodes");
    assert!(filtered.iter().all(|n| n.stale), "{filtered:?}");
    assert_eq!(names(filtered), expected);
    let fresh = NodeFilter {
        stale: Some(false),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.nodes(&fresh, now).expect("nodes").len(), 2);
    assert_eq!(store.summary(now).expect("summary")["stale_nodes"], 3);
}

/// Names both databases order the same way only if both compare bytes: upper case before
/// lower case, ASCII before the rest.
const NAMES: &[&str] = &[
    "alpha", "Beta", "beta-2", "zeta", "Zulu", "äpfel", "node-10", "node-2", "node_1", "n",
];

/// Every sort, read a page of three at a time with the cursor of the last row, lists every
/// node exactly once, in the order the sort promises — the same on every backend.
fn every_sort_pages_through_every_node_once(backend: &Backend<'_>) {
    let store = backend.store();
    let mut expected: Vec<(String, String, Option<i64>)> = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let cluster = if i % 3 == 0 { "dev" } else { "prod" };
        // Scores repeat (ties are ordered by cluster and name), one node is unscored.
        let mut r = sample::report(
            &format!("01P{i}"),
            cluster,
            name,
            vec![sample::finding(
                "sshd.permit-root-login",
                Severity::High,
                if i % 2 == 0 {
                    Status::Fail
                } else {
                    Status::Pass
                },
                "m",
            )],
        );
        if i == 4 {
            r.score = None;
        }
        if i == 5 {
            r.node.roles = vec![Role::ControlPlane];
        }
        store
            .ingest(r.clone(), 1000 + (i as i64 % 4))
            .expect("ingest");
        expected.push((cluster.into(), name.to_string(), r.score.map(i64::from)));
    }
    for sort in [
        NodeSort::Name,
        NodeSort::Score,
        NodeSort::ScoreDescending,
        NodeSort::LastSeen,
    ] {
        let mut listed: Vec<NodeRow> = Vec::new();
        let mut after: Option<NodeCursor> = None;
        for _ in 0..20 {
            let page = store
                .nodes(
                    &NodeFilter {
                        sort,
                        after: after.clone(),
                        limit: 3,
                        ..Default::default()
                    },
                    2000,
                )
                .expect("page");
            let Some(last) = page.last() else { break };
            // The cursor goes through its text form, as clients carry it.
            let cursor = NodeCursor {
                key: sort.key_of(last),
                cluster: last.cluster.clone(),
                name: last.name.clone(),
            };
            after = Some(NodeCursor::decode(&cursor.encode(), sort).expect("cursor"));
            listed.extend(page);
        }
        let mut want = listed.clone();
        want.sort_by(|a, b| {
            let key = |n: &NodeRow| sort.key_of(n);
            let by_key = match sort {
                NodeSort::ScoreDescending => key(b).cmp(&key(a)),
                _ => key(a).cmp(&key(b)),
            };
            by_key.then_with(|| {
                (a.cluster.as_bytes(), a.name.as_bytes())
                    .cmp(&(b.cluster.as_bytes(), b.name.as_bytes()))
            })
        });
        assert_eq!(listed, want, "{sort:?} order");
        let mut names: Vec<(String, String)> = listed
            .iter()
            .map(|n| (n.cluster.clone(), n.name.clone()))
            .collect();
        names.sort();
        let mut all: Vec<(String, String)> = expected
            .iter()
            .map(|(c, n, _)| (c.clone(), n.clone()))
            .collect();
        all.sort();
        assert_eq!(names, all, "{sort:?} lists every node once");
    }
    // Filters.
    let count = |filter: NodeFilter| {
        store
            .nodes(
                &NodeFilter {
                    limit: 100,
                    ..filter
                },
                2000,
            )
            .expect("nodes")
            .len()
    };
    assert_eq!(
        count(NodeFilter {
            cluster: Some("dev".into()),
            ..Default::default()
        }),
        expected.iter().filter(|(c, _, _)| c == "dev").count()
    );
    assert_eq!(
        count(NodeFilter {
            role: Some("control-plane".into()),
            ..Default::default()
        }),
        1
    );
    let scored =
        |f: &dyn Fn(i64) -> bool| expected.iter().filter(|(_, _, s)| s.is_some_and(f)).count();
    assert_eq!(
        count(NodeFilter {
            min_score: Some(50),
            ..Default::default()
        }),
        scored(&|s| s >= 50)
    );
    assert_eq!(
        count(NodeFilter {
            max_score: Some(49),
            ..Default::default()
        }),
        scored(&|s| s <= 49)
    );
}

/// The summary's distribution and trend, a node's report and history, and a check's failing
/// nodes with their evidence.
fn summary_history_and_check_detail(backend: &Backend<'_>) {
    let store = backend.store();
    let day = 86_400;
    let mut failing = report("01S1", "prod", "a", true);
    failing.findings[0].evidence = vec![Evidence {
        subject: "PermitRootLogin".into(),
        observed: Some("yes".into()),
        expected: "no".into(),
        status: Status::Fail,
        source: Source::file("/etc/ssh/sshd_config", Some(12)),
        note: Some("it's \"quoted\" ✓".into()),
    }];
    store.ingest(failing.clone(), day + 10).expect("ingest");
    store
        .ingest(report("01S2", "prod", "b", false), day + 20)
        .expect("ingest");
    store
        .ingest(report("01S3", "prod", "b", false), 2 * day + 5)
        .expect("ingest");
    let summary = store.summary(2 * day + 10).expect("summary");
    assert_eq!(summary["nodes"], 2);
    let (fail_score, pass_score) = (
        i64::from(failing.score.expect("scored")),
        i64::from(report("x", "p", "b", false).score.expect("scored")),
    );
    assert_eq!(
        summary["fleet_score"],
        (fail_score + pass_score).div_euclid(2)
    );
    let distribution: Vec<i64> =
        serde_json::from_value(summary["score_distribution"].clone()).expect("distribution");
    assert_eq!(distribution.iter().sum::<i64>(), 2, "{distribution:?}");
    assert!(distribution[(fail_score / 10).min(9) as usize] >= 1);
    let trend = summary["trend"].as_array().expect("trend");
    assert_eq!(trend.len(), 2, "{trend:?}");
    assert_eq!(trend[0]["day"], day);
    assert_eq!(trend[0]["reports"], 2);
    assert_eq!(trend[1]["reports"], 1);

    let (latest, history) = store.node("prod", "b").expect("node").expect("known");
    assert_eq!(latest.id, "01S3");
    assert_eq!(
        history,
        vec![
            (day + 20, Some(pass_score)),
            (2 * day + 5, Some(pass_score))
        ]
    );
    assert!(store.node("prod", "nobody").expect("node").is_none());

    let (row, nodes) = store
        .check("sshd.permit-root-login", 10)
        .expect("check")
        .expect("known");
    assert_eq!((row.failing_nodes, row.severity.as_str()), (1, "high"));
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].evidence, failing.findings[0].evidence);
    assert!(store.check("no.such-check", 10).expect("check").is_none());
    let checks = store.checks().expect("checks");
    assert_eq!(checks[0].id, "sshd.permit-root-login", "most failed first");
    let worst = store.worst_nodes(1, 0).expect("worst");
    let worst = worst.first().expect("a node");
    assert_eq!(worst.name, "a");
    // Its one failing check is high; the critical one passes.
    assert_eq!(
        (worst.failing, worst.failing_critical, worst.failing_high),
        (1, 0, 1)
    );
}

fn tokens_and_sessions(backend: &Backend<'_>) {
    let store = backend.store();
    assert!(!store.has_tokens().expect("has"));
    let spec = TokenSpec {
        role: "agent".into(),
        name: "prod agents".into(),
        scope_cluster: Some("prod".into()),
        scope_nodes: Some("web-*,db-?".into()),
        expires_at: Some(5_000),
        max_nodes: Some(40),
        uses: None,
    };
    let (agent, secret) = auth::create(&store, &spec, 100).expect("create");
    let viewer_spec = TokenSpec {
        role: "viewer".into(),
        name: "screen".into(),
        ..TokenSpec::default()
    };
    let (viewer, _) = auth::create(&store, &viewer_spec, 100).expect("create");
    assert!(store.has_tokens().expect("has"));
    assert!(viewer > agent, "ids grow");
    let found = store
        .find_token(&auth::hash(&secret))
        .expect("find")
        .expect("known");
    assert_eq!(
        (found.id, found.role.as_str(), found.scope_nodes.as_deref()),
        (agent, "agent", Some("web-*,db-?"))
    );
    assert_eq!(found.max_nodes, Some(40));
    assert_eq!((found.expired(4_999), found.expired(5_000)), (false, true));
    assert!(store.find_token("not-a-hash").expect("find").is_none());
    assert_eq!(
        store
            .tokens()
            .expect("list")
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        vec![agent, viewer]
    );
    assert!(store.revoke_token(agent, 200).expect("revoke"));
    assert!(
        !store.revoke_token(agent, 300).expect("revoke"),
        "revoked once"
    );
    assert!(
        !store.revoke_token(9_999, 300).expect("revoke"),
        "no such token"
    );
    assert!(
        store
            .token_by_id(agent)
            .expect("by id")
            .expect("kept")
            .revoked
    );

    // Sessions: found while live, not after they expire, not by another id.
    store
        .add_session(&auth::hash("session-1"), viewer, 1_000, 100)
        .expect("session");
    assert_eq!(
        store
            .session_token(&auth::hash("session-1"), 999)
            .expect("session"),
        Some(viewer)
    );
    assert_eq!(
        store
            .session_token(&auth::hash("session-1"), 1_000)
            .expect("session"),
        None
    );
    assert_eq!(
        store
            .session_token(&auth::hash("session-2"), 500)
            .expect("session"),
        None
    );
    // Adding a session forgets the expired ones.
    store
        .add_session(&auth::hash("session-2"), viewer, 9_000, 2_000)
        .expect("session");
    assert_eq!(
        store
            .session_token(&auth::hash("session-2"), 2_000)
            .expect("session"),
        Some(viewer)
    );
}

/// Whatever text a node sends is stored and returned exactly, never read as SQL or as a
/// parameter; text no database can keep (NUL) is refused with the field named.
fn hostile_text_is_data(backend: &Backend<'_>) {
    let store = backend.store();
    let name = "x'); DROP TABLE nodes; --";
    let mut r = report("01H1", "prod ?1 $1", name, true);
    r.findings[0].message = "it's ?2 and $2 and '' \" \\ ; -- /* */ ✓".into();
    r.node.labels.insert("team".into(), "o'brien \"?3\"".into());
    store.ingest(r.clone(), 100).expect("ingest");
    let (latest, _) = store
        .node("prod ?1 $1", name)
        .expect("node")
        .expect("known");
    assert_eq!(latest, r);
    let (_, failing) = failing_of(&store, "sshd.permit-root-login");
    assert_eq!(
        failing,
        vec![(
            "prod ?1 $1".into(),
            name.into(),
            r.findings[0].message.clone()
        )]
    );
    let filtered = store
        .nodes(
            &NodeFilter {
                cluster: Some("' OR 1=1 --".into()),
                limit: 10,
                ..Default::default()
            },
            100,
        )
        .expect("nodes");
    assert!(
        filtered.is_empty(),
        "a filter value is a value: {filtered:?}"
    );
    let mut nul = report("01H2", "prod", "b", true);
    nul.findings[1].message = "a\0b".into();
    match store.ingest(nul, 100) {
        Err(StoreError::Invalid(why)) => assert!(
            why.starts_with("`findings[1].message` contains a NUL"),
            "{why}"
        ),
        other => panic!("NUL must be refused before the database: {other:?}"),
    }
    // A check reported twice would be counted twice.
    let mut twice = report("01H3", "prod", "c", true);
    twice.findings[1].id = twice.findings[0].id.clone();
    match store.ingest(twice, 100) {
        Err(StoreError::Invalid(why)) => assert!(
            why.starts_with("`findings[1].id` repeats \"sshd.permit-root-login\" of findings[0]"),
            "{why}"
        ),
        other => panic!("a repeated check must be refused: {other:?}"),
    }
    assert!(store.node("prod", "b").expect("node").is_none());
    assert!(store.node("prod", "c").expect("node").is_none());
    assert_eq!(store.report_count().expect("count"), 1);
}

/// Prune deletes full reports older than the cut-off except each node's latest, in chunks,
/// keeping the count of reports exact.
fn prune_keeps_latest_reports_and_counts(backend: &Backend<'_>) {
    let store = backend.store();
    // 3 nodes × 4 reports, one every 100 s; bodies alternate so several are kept.
    for round in 0..4 {
        for node in ["a", "b", "c"] {
            let r = report(&format!("01X{round}{node}"), "prod", node, round % 2 == 0);
            store.ingest(r, 100 * (round + 1)).expect("ingest");
        }
    }
    assert_eq!(store.report_count().expect("count"), 12);
    assert_eq!(store.prune(50).expect("prune"), 0, "nothing that old");
    // Rounds 0–2 are older than 350; round 3 is every node's latest.
    assert_eq!(store.prune(350).expect("prune"), 9);
    assert_eq!(store.report_count().expect("count"), 3);
    assert_eq!(
        store.prune(10_000).expect("prune"),
        0,
        "latest reports stay"
    );
    for node in ["a", "b", "c"] {
        let (latest, history) = store.node("prod", node).expect("node").expect("known");
        assert_eq!(latest.id, format!("01X3{node}"));
        assert_eq!(history.len(), 4, "history outlives full reports");
    }
    assert_eq!(store.body_count().expect("bodies"), 3);
}

/// Opening a database again runs no migration twice and keeps everything; a database from a
/// newer collector is refused, not damaged.
fn reopening_migrates_nothing_twice(backend: &Backend<'_>) {
    if !backend.durable {
        return;
    }
    let target = (backend.fresh)();
    {
        let store = (backend.open)(&target);
        store
            .ingest(report("01O1", "prod", "a", true), 100)
            .expect("ingest");
    }
    let store = (backend.open)(&target);
    assert_eq!(store.report_count().expect("count"), 1);
    assert_eq!(failing_of(&store, "sshd.permit-root-login").0, 1);
    store
        .ingest(report("01O2", "prod", "a", false), 200)
        .expect("ingest after reopening");
    drop(store);
    // A collector from the future migrated this database further.
    {
        let store = (backend.open)(&target);
        drop(store);
    }
    bump_schema_version(&target);
    let refused = if target.starts_with("postgres") {
        Store::connect(&target)
    } else {
        Store::open(std::path::Path::new(&target))
    };
    match refused {
        Err(e @ StoreError::SchemaTooNew { .. }) => {
            assert!(e.to_string().contains("newer than this collector"), "{e}")
        }
        other => panic!("a newer schema must be refused: {other:?}"),
    }
}

/// Runs `sql` (statements separated by `;`) on the database `target` directly.
fn run_sql(target: &str, sql: &str) {
    if target.starts_with("postgres") {
        let mut client = postgres::Client::connect(target, postgres::NoTls).expect("connect");
        client.batch_execute(sql).expect(sql);
    } else {
        let connection = rusqlite::Connection::open(target).expect("open");
        connection.execute_batch(sql).expect(sql);
    }
}

/// A database a collector of schema 16 left (drift counted through a row per node and setting,
/// the kept state's hash in node_state) is migrated: the drift counts start again from each
/// node's next report, which is compared in full, and nothing else is lost.
fn drift_is_counted_again_after_the_upgrade(backend: &Backend<'_>) {
    if !backend.durable {
        return;
    }
    let target = (backend.fresh)();
    let postgres = target.starts_with("postgres");
    let dialect = if postgres { "postgres" } else { "sqlite" };
    let version_16 = if postgres { 11 } else { 16 };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut sql = String::from("CREATE TABLE schema_version (version BIGINT NOT NULL);");
    for file in &files[..version_16] {
        sql.push_str(&std::fs::read_to_string(file).expect("migration"));
        sql.push(';');
    }
    // One node, counted as a schema-16 collector counted it, with a failing check.
    sql.push_str(&format!(
        "INSERT INTO schema_version (version) VALUES ({version_16});
         INSERT INTO nodes (cluster, name, first_seen, last_seen, roles, labels, agent_version, score, failing, last_report, peer_group)
            VALUES ('prod', 'w1', 100, 100, 'worker', '{{}}', '0.1.0', 50, 1, 'r1', 'worker');
         INSERT INTO node_checks (cluster, name, check_id, status, severity, message)
            VALUES ('prod', 'w1', 'sshd.permit-root-login', 'fail', 'critical', 'old');
         INSERT INTO node_state (cluster, name, body_hash, listeners, shell_images, settings)
            VALUES ('prod', 'w1', X'00', '[]', '[]', '{{\"kubelet:readOnlyPort\":\"\\\"0\\\"\"}}');
         INSERT INTO node_settings (cluster, key, digest, name) VALUES ('prod', 'kubelet:readOnlyPort', X'00', 'w1');
         INSERT INTO drift_groups (cluster, peer_group, nodes) VALUES ('prod', 'worker', 1);
         INSERT INTO drift_values (cluster, peer_group, key, digest, value, nodes)
            VALUES ('prod', 'worker', 'kubelet:readOnlyPort', X'00', '\"0\"', 1)"
    ));
    if postgres {
        sql = sql.replace("X'00'", "'\\x00'::bytea");
    }
    run_sql(&target, &sql);
    let store = (backend.open)(&target);
    let drift = all_drift;
    assert!(
        drift(&store).is_empty(),
        "counted again from the next reports"
    );
    let worker = |id: &str, name: &str, port: &str| {
        rich_report(
            id,
            name,
            false,
            &[],
            &[],
            &[("kubelet:readOnlyPort", Some(port))],
        )
    };
    store.ingest(worker("r2", "w1", "0"), 200).expect("ingest");
    store.ingest(worker("r3", "w2", "0"), 200).expect("ingest");
    store
        .ingest(worker("r4", "w3", "10255"), 200)
        .expect("ingest");
    assert_eq!(
        drift(&store),
        ["prod/worker kubelet:readOnlyPort 0(2) | 10255(1)[w3]"]
    );
    // w1's next report was compared with what the old collector kept: its check passes now.
    let feed = store
        .changes(&ChangeFilter {
            node: Some("w1".into()),
            cluster: Some("prod".into()),
            limit: 10,
            ..Default::default()
        })
        .expect("changes");
    assert!(
        feed.iter()
            .any(|c| c.subject == "sshd.permit-root-login" && c.after.as_deref() == Some("pass")),
        "{feed:?}"
    );
}

fn bump_schema_version(target: &str) {
    let sql = "UPDATE schema_version SET version = version + 1";
    if target.starts_with("postgres") {
        let mut client = postgres::Client::connect(target, postgres::NoTls).expect("connect");
        client.batch_execute(sql).expect("bump");
    } else {
        let connection = rusqlite::Connection::open(target).expect("open");
        connection.execute_batch(sql).expect("bump");
    }
}

/// A report of 45 checks (written in groups of rows on PostgreSQL: 32 + 8 + 5 × 1), then one
/// where 9 of them changed: every check row and count follows.
fn a_node_with_many_checks(backend: &Backend<'_>) {
    let store = backend.store();
    let findings = |round: usize| -> Vec<Finding> {
        (0..45)
            .map(|i| {
                let failing = (i + round * (i % 5 == 0) as usize).is_multiple_of(2);
                let mut f = sample::finding(
                    &format!("area.check-{i:02}"),
                    Severity::Medium,
                    if failing { Status::Fail } else { Status::Pass },
                    &format!("message {i} in round {round}"),
                );
                f.message = if i % 5 == 0 {
                    format!("message {i} in round {round}")
                } else {
                    format!("message {i}")
                };
                f
            })
            .collect()
    };
    for (round, at) in [(0, 100), (1, 200)] {
        let r = sample::report(&format!("01N{round}"), "prod", "big", findings(round));
        store.ingest(r, at).expect("ingest");
        for finding in &findings(round) {
            let (failing, nodes) = failing_of(&store, &finding.id);
            let fails = finding.status == Status::Fail;
            assert_eq!(failing, i64::from(fails), "{} in round {round}", finding.id);
            let want: Vec<(String, String, String)> = if fails {
                vec![("prod".into(), "big".into(), finding.message.clone())]
            } else {
                vec![]
            };
            assert_eq!(nodes, want, "{} in round {round}", finding.id);
        }
    }
    assert_eq!(store.checks().expect("checks").len(), 45);
}

/// The fleet check on kubelet versions follows the Node objects: a kubelet older than the
/// minimum fails with its evidence, an unreadable version is an error, an upgrade passes,
/// and a node gone from the cluster is forgotten.
fn kubelet_versions_from_node_objects(backend: &Backend<'_>) {
    use nodecheck_collector::kubernetes::KubeNode;
    use nodecheck_collector::store::KUBERNETES_VERSION_CHECK as CHECK;
    let store = backend.store();
    let node = |name: &str, version: &str| KubeNode {
        name: name.into(),
        labels: r#"{"kubernetes.io/hostname":"x"}"#.into(),
        roles: vec!["worker".into()],
        kubelet_version: version.into(),
    };
    let nodes = [
        node("a", "v1.34.2"),
        node("b", "v1.36.1+k3s1"),
        node("c", "banana"),
    ];
    assert_eq!(
        store
            .record_kubernetes_nodes("prod", &nodes, (1, 35), 100)
            .expect("record"),
        1
    );
    let (row, failing) = store.check(CHECK, 10).expect("check").expect("known");
    assert_eq!((row.failing_nodes, row.severity.as_str()), (1, "high"));
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].name, "a");
    assert_eq!(failing[0].evidence[0].observed.as_deref(), Some("v1.34.2"));
    assert_eq!(failing[0].evidence[0].status, Status::Fail);
    assert_eq!(
        store
            .kubernetes_node("prod", "b")
            .expect("node")
            .map(|n| n.2),
        Some("v1.36.1+k3s1".into())
    );
    // a is upgraded, b leaves the cluster.
    let nodes = [node("a", "v1.35.0"), node("c", "banana")];
    assert_eq!(
        store
            .record_kubernetes_nodes("prod", &nodes, (1, 35), 200)
            .expect("record"),
        0
    );
    assert_eq!(
        store
            .check(CHECK, 10)
            .expect("check")
            .expect("known")
            .0
            .failing_nodes,
        0
    );
    assert!(store.kubernetes_node("prod", "b").expect("node").is_none());
    // And downgraded again (a rebuilt node): counted once more, not twice.
    let nodes = [node("a", "v1.30.0")];
    assert_eq!(
        store
            .record_kubernetes_nodes("prod", &nodes, (1, 35), 300)
            .expect("record"),
        1
    );
    assert_eq!(
        store
            .record_kubernetes_nodes("prod", &nodes, (1, 35), 400)
            .expect("record"),
        1
    );
    assert_eq!(
        store
            .check(CHECK, 10)
            .expect("check")
            .expect("known")
            .0
            .failing_nodes,
        1
    );
}

// ---- PostgreSQL only --------------------------------------------------------------------

/// Three replicas write one database at once, each from several threads, reports of
/// overlapping nodes whose statuses flip: every aggregate must equal what the per-node rows
/// say, and every report must be stored exactly once.
#[test]
fn postgres_replicas_write_concurrently_and_aggregates_stay_exact() {
    let Some(server) = postgres() else { return };
    let url = server.create_database("replicas");
    let replicas: Vec<Store> = (0..3)
        .map(|_| Store::connect(&url).expect("connect"))
        .collect();
    let nodes = 12;
    let per_thread = 40;
    std::thread::scope(|scope| {
        for (r, store) in replicas.iter().enumerate() {
            for t in 0..2 {
                scope.spawn(move || {
                    for i in 0..per_thread {
                        // Batches of 3 reports for nodes in varying order, so that replicas
                        // meet on the same nodes and checks from different sides.
                        let batch: Vec<_> = (0..3)
                            .map(|k| {
                                let node = (i * 5 + k * 7 + r * 3 + t) % nodes;
                                let failing = (i + k + r) % 3 == 0;
                                let mut rep = report(
                                    &format!("01C{r}{t}{i:03}{k}"),
                                    "prod",
                                    &format!("n{node:02}"),
                                    failing,
                                );
                                rep.findings[1].status = if (i + r) % 2 == 0 {
                                    Status::Fail
                                } else {
                                    Status::Pass
                                };
                                rep.score = Some(((i * 7 + k * 13) % 101) as u8);
                                nodecheck_collector::store::Incoming::new(rep).expect("incoming")
                            })
                            .collect();
                        let stored = store
                            .ingest_batch(&batch, 1_000 + i as i64)
                            .expect("ingest batch");
                        assert!(stored.iter().all(|s| *s == Ingested::Stored));
                    }
                });
            }
        }
    });
    // The same reports again (ids are unique per node: each for the node it was first sent
    // for, replica 0, thread 0, round 0), through another replica: all duplicates.
    let again: Vec<_> = (0..3)
        .map(|k| {
            nodecheck_collector::store::Incoming::new(report(
                &format!("01C00000{k}"),
                "prod",
                &format!("n{:02}", (k * 7) % nodes),
                true,
            ))
            .expect("incoming")
        })
        .collect();
    let outcomes = replicas[2].ingest_batch(&again, 5_000).expect("again");
    assert!(
        outcomes.iter().all(|o| *o == Ingested::Duplicate),
        "{outcomes:?}"
    );

    let total = (3 * 2 * per_thread * 3) as i64;
    let mut client = server.client("replicas");
    let one = |client: &mut postgres::Client, sql: &str| -> i64 {
        client.query_one(sql, &[]).expect(sql).get(0)
    };
    assert_eq!(one(&mut client, "SELECT COUNT(*) FROM reports"), total);
    assert_eq!(replicas[0].report_count().expect("count"), total);
    assert_eq!(
        one(&mut client, "SELECT SUM(reports)::BIGINT FROM fleet_daily"),
        total
    );
    assert_eq!(one(&mut client, "SELECT COUNT(*) FROM nodes"), nodes as i64);
    // Failing nodes per check = node rows failing it.
    for row in client
        .query(
            "SELECT c.id, c.failing_nodes,
                    (SELECT COUNT(*) FROM node_checks n WHERE n.check_id = c.id AND n.status = 'fail')
             FROM checks c",
            &[],
        )
        .expect("checks")
    {
        let (id, kept, counted): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(kept, counted, "failing nodes of {id}");
    }
    // Score buckets = nodes by their latest score.
    for row in client
        .query(
            "SELECT b.bucket, b.nodes,
                    (SELECT COUNT(*) FROM nodes n WHERE COALESCE(LEAST(n.score / 10, 9), -1) = b.bucket)
             FROM score_buckets b",
            &[],
        )
        .expect("buckets")
    {
        let (bucket, kept, counted): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(kept, counted, "nodes in bucket {bucket}");
    }
    assert_eq!(
        one(&mut client, "SELECT SUM(nodes)::BIGINT FROM score_buckets"),
        nodes as i64
    );
    // Each node's row was written whole by the batch that last wrote it: its last report is
    // the one received when it was last seen, and its failing count is its failing rows'.
    assert_eq!(
        one(
            &mut client,
            "SELECT COUNT(*) FROM nodes n JOIN reports r ON r.id = n.last_report
             WHERE r.received_at = n.last_seen AND r.cluster = n.cluster AND r.node = n.name
               AND n.failing = (SELECT COUNT(*) FROM node_checks c
                                WHERE c.cluster = n.cluster AND c.name = n.name AND c.status = 'fail')"
        ),
        nodes as i64
    );
    // Replicas started together migrate once.
    let racing = server.create_database("racing");
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let url = racing.clone();
            std::thread::spawn(move || Store::connect(&url).map(|_| ()))
        })
        .collect();
    for racer in racers {
        racer
            .join()
            .expect("thread")
            .expect("concurrent first start");
    }
}

/// Errors name the problem and never repeat the password.
#[test]
fn postgres_errors_are_clear_and_never_show_the_password() {
    let Some(server) = postgres() else { return };
    let wrong_password = format!(
        "postgres://{}:not-the-password@127.0.0.1:{}/postgres",
        postgres_server::USER,
        server.port()
    );
    let e = Store::connect(&wrong_password).expect_err("wrong password");
    let text = e.to_string();
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");

    let missing = server.url("no_such_database");
    let text = Store::connect(&missing).expect_err("missing").to_string();
    assert!(text.contains("does not exist"), "{text}");
    assert!(!text.contains(postgres_server::PASSWORD), "{text}");

    let malformed = "postgres://user:hunter2@127.0.0.1:notaport/db";
    let text = Store::connect(malformed)
        .expect_err("malformed")
        .to_string();
    assert!(text.starts_with("invalid PostgreSQL address"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");

    // Nothing listens on port 1 of loopback: refused at once, not a hang.
    let text = Store::connect("postgres://u:p@127.0.0.1:1/db")
        .expect_err("refused")
        .to_string();
    assert!(!text.is_empty());
}

/// A database of the previous schema (SQLite's nine migrations) with reports in it is
/// migrated to per-node report ids with every report row kept.
#[test]
fn an_older_sqlite_database_keeps_its_reports_through_the_migration() {
    let dir = Scratch::new("storage-upgrade");
    let path = dir.join("old.db");
    {
        let old = rusqlite::Connection::open(&path).expect("open");
        let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        let mut files: Vec<_> = std::fs::read_dir(&migrations)
            .expect("migrations")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for file in &files[..9] {
            old.execute_batch(&std::fs::read_to_string(file).expect("sql"))
                .expect("old migration");
        }
        old.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (9);
             INSERT INTO reports (id, cluster, node, received_at, score, body, body_hash)
                VALUES ('r1', 'prod', 'a', 100, 50, '', x'00'), ('r2', 'prod', 'b', 100, 60, '', x'01');
             UPDATE counts SET value = 2 WHERE name = 'reports';",
        )
        .expect("old rows");
    }
    let store = Store::open(&path).expect("migrate");
    assert_eq!(store.report_count().expect("count"), 2);
    drop(store);
    let db = rusqlite::Connection::open(&path).expect("open");
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))
        .expect("rows");
    assert_eq!(rows, 2);
    let key: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('reports') WHERE pk > 0 ORDER BY pk")
        .expect("pk")
        .query_map([], |r| r.get(0))
        .expect("pk")
        .collect::<Result<_, _>>()
        .expect("pk");
    assert_eq!(key, ["cluster", "node", "id"]);
}

/// A report of `prod/name` with inventory and settings to compare: `failing` fails
/// `sshd.permit-root-login`; `listeners` are host listeners `(port, process)`; `shells` are
/// images of containers with a shell; `settings` its judged settings.
fn rich_report(
    id: &str,
    name: &str,
    failing: bool,
    listeners: &[(u16, &str)],
    shells: &[&str],
    settings: &[(&str, Option<&str>)],
) -> Report {
    let mut report = report(id, "prod", name, failing);
    report.inventory.listeners = listeners
        .iter()
        .map(|(port, process)| sample::host_listener(*port, process))
        .collect();
    report.inventory.containers = shells
        .iter()
        .enumerate()
        .map(|(i, image)| Container {
            pid: 1000 + i as u32,
            id: format!("{i:064x}"),
            runtime: "containerd".into(),
            namespace: Some("default".into()),
            pod: Some(format!("pod-{i}")),
            name: Some("app".into()),
            program: "app".into(),
            image: Some((*image).into()),
            uid: 0,
            gid: 0,
            user_namespace_root: None,
            capabilities: Vec::new(),
            no_new_privs: None,
            seccomp: None,
            host_namespaces: Vec::new(),
            memory_limit: None,
            shell: Some("/bin/sh".into()),
            package_manager: None,
        })
        .collect();
    report.settings = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect();
    report
}

fn feed(store: &Store, filter: ChangeFilter) -> Vec<ChangeRow> {
    store
        .changes(&ChangeFilter {
            limit: if filter.limit == 0 {
                1000
            } else {
                filter.limit
            },
            ..filter
        })
        .expect("changes")
}

/// `kind subject before→after direction` of each change, oldest first.
fn lines(rows: &[ChangeRow]) -> Vec<String> {
    rows.iter()
        .rev()
        .map(|c| {
            format!(
                "{} {} {}→{} {}",
                c.kind,
                c.subject,
                c.before.as_deref().unwrap_or("-"),
                c.after.as_deref().unwrap_or("-"),
                c.direction
            )
        })
        .collect()
}

/// Reports posted in sequence give the feed each report's differences from the one before,
/// computed from the stored state: an identical report gives none.
fn changes_between_consecutive_reports(backend: &Backend<'_>) {
    let store = backend.store();
    let ingest = |report: Report, at: i64| {
        assert_eq!(store.ingest(report, at).expect("ingest"), Ingested::Stored)
    };
    ingest(
        rich_report("r1", "a", false, &[(22, "sshd")], &[], &[]),
        100,
    );
    assert_eq!(
        lines(&feed(&store, ChangeFilter::default())),
        ["node  -→reporting neutral"]
    );
    // The same report again: no change.
    ingest(
        rich_report("r2", "a", false, &[(22, "sshd")], &[], &[]),
        200,
    );
    assert_eq!(feed(&store, ChangeFilter::default()).len(), 1);
    // Root login opens, the read-only port opens, an image with a shell starts, the kubelet
    // and the agent are upgraded.
    let mut worse = rich_report(
        "r3",
        "a",
        true,
        &[(22, "sshd"), (10255, "kubelet")],
        &["docker.io/library/debian:12"],
        &[],
    );
    worse.node.kubelet_version = Some("v1.31.2".into());
    worse.agent.version = "0.2.0".into();
    ingest(worse.clone(), 300);
    let third: Vec<String> = lines(&feed(&store, ChangeFilter::default()))
        .into_iter()
        .skip(1)
        .collect();
    assert_eq!(
        third,
        [
            "score  100→62 worse",
            "agent-version  0.1.0→0.2.0 neutral",
            "kubelet-version  -→v1.31.2 neutral",
            "listener tcp 0.0.0.0:10255 (kubelet) -→tcp 0.0.0.0:10255 (kubelet) worse",
            "shell-image docker.io/library/debian:12 -→docker.io/library/debian:12 worse",
            "check sshd.permit-root-login pass→fail worse",
        ]
    );
    let check = &feed(&store, ChangeFilter::default())
        .into_iter()
        .find(|c| c.kind == "check")
        .expect("check change");
    assert_eq!(
        (
            check.severity.as_deref(),
            check.detail.as_str(),
            check.report_id.as_str(),
            check.at
        ),
        (Some("high"), "PermitRootLogin is yes", "r3", 300)
    );
    // Fixed again, the port closed, the image gone; the check no longer reported at all on
    // the next one.
    let mut better = rich_report("r4", "a", false, &[(22, "sshd")], &[], &[]);
    better.node.kubelet_version = Some("v1.31.2".into());
    better.agent.version = "0.2.0".into();
    ingest(better.clone(), 400);
    let mut without = better.clone();
    without.id = "r5".into();
    without
        .findings
        .retain(|f| f.id != "sshd.permit-root-login");
    ingest(without, 500);
    let later: Vec<String> = lines(&feed(
        &store,
        ChangeFilter {
            since: Some(400),
            ..Default::default()
        },
    ));
    assert_eq!(
        later,
        [
            "score  62→100 better",
            "listener tcp 0.0.0.0:10255 (kubelet) tcp 0.0.0.0:10255 (kubelet)→- better",
            "shell-image docker.io/library/debian:12 docker.io/library/debian:12→- better",
            "check sshd.permit-root-login fail→pass better",
            "check sshd.permit-root-login pass→- neutral",
        ]
    );
    // Kept as long as full reports: pruning before 350 drops the changes found before then.
    let before = feed(&store, ChangeFilter::default()).len();
    store.prune(350).expect("prune");
    let kept = feed(&store, ChangeFilter::default());
    assert_eq!(kept.len(), before - 7);
    assert!(kept.iter().all(|c| c.at >= 350));
}

/// Filters combine, and a cursor pages through the feed newest first, every change once.
fn change_feed_pages_and_filters(backend: &Backend<'_>) {
    let store = backend.store();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let at = 100 + i as i64;
        store
            .ingest(report(&format!("{name}1"), "prod", name, false), at)
            .expect("first");
        store
            .ingest(report(&format!("{name}2"), "prod", name, true), at + 100)
            .expect("second");
    }
    store
        .ingest(report("x1", "staging", "a", false), 100)
        .expect("staging");
    let worse = feed(
        &store,
        ChangeFilter {
            cluster: Some("prod".into()),
            direction: Some(Direction::Worse),
            check: Some("sshd.permit-root-login".into()),
            severity: Some("high".into()),
            ..Default::default()
        },
    );
    let nodes: Vec<&str> = worse.iter().map(|c| c.node.as_str()).collect();
    assert_eq!(nodes, ["c", "b", "a"], "newest first");
    let of_b = feed(
        &store,
        ChangeFilter {
            cluster: Some("prod".into()),
            node: Some("b".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        lines(&of_b),
        [
            "node  -→reporting neutral",
            "score  100→62 worse",
            "check sshd.permit-root-login pass→fail worse"
        ]
    );
    assert!(
        feed(
            &store,
            ChangeFilter {
                kind: Some("score".into()),
                direction: Some(Direction::Better),
                ..Default::default()
            }
        )
        .is_empty()
    );
    // Two at a time through all ten.
    let all = feed(&store, ChangeFilter::default());
    assert_eq!(all.len(), 10);
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = feed(
            &store,
            ChangeFilter {
                before_id: cursor,
                limit: 2,
                ..Default::default()
            },
        );
        paged.extend(page.iter().map(|c| c.id));
        if page.len() < 2 {
            break;
        }
        cursor = page.last().map(|c| c.id);
        assert!(paged.len() <= 10, "the cursor moves on");
    }
    assert_eq!(paged, all.iter().map(|c| c.id).collect::<Vec<_>>());
}

/// `setting majority(nodes) | minority(nodes)[examples] …` of each drifting setting.
/// The whole fleet's drift, as [`drift_lines`].
fn all_drift(store: &Store) -> Vec<String> {
    drift_lines(
        &store
            .drift(&DriftFilter {
                limit: 100,
                ..Default::default()
            })
            .expect("drift"),
    )
}

fn drift_lines(rows: &[DriftRow]) -> Vec<String> {
    rows.iter()
        .map(|d| {
            let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".into());
            let minority: Vec<String> = d
                .minority
                .iter()
                .map(|m| format!("{}({})[{}]", value(&m.value), m.nodes, m.examples.join(",")))
                .collect();
            format!(
                "{}/{} {} {}({}) | {}",
                d.cluster,
                d.peer_group,
                d.setting,
                value(&d.majority.value),
                d.majority.nodes,
                minority.join(" ")
            )
        })
        .collect()
}

/// Value counts per cluster, peer group and setting follow each report; the drift list names
/// the settings where a minority differs from a strict majority, with example nodes; a node's
/// own drift lists what it differs on; stale nodes stop counting until they report again.
fn drift_from_peers_is_counted(backend: &Backend<'_>) {
    let store = backend.store();
    let worker = |id: &str, name: &str, port: &str, listeners: &[(u16, &str)], at: i64| {
        let report = rich_report(
            id,
            name,
            false,
            listeners,
            &[],
            &[
                ("kubelet:readOnlyPort", Some(port)),
                ("kubelet:tlsCipherSuites", None),
                ("kubelet:address", Some(name)),
            ],
        );
        store.ingest(report, at).expect("ingest");
    };
    let drift = |filter: DriftFilter| {
        drift_lines(
            &store
                .drift(&DriftFilter {
                    limit: 100,
                    ..filter
                })
                .expect("drift"),
        )
    };
    for name in ["w1", "w2", "w3", "w4"] {
        worker(&format!("{name}-1"), name, "0", &[(10250, "kubelet")], 100);
    }
    assert!(drift(DriftFilter::default()).is_empty(), "all alike");
    // w4 opens the read-only port: 1 of 4 differs on the setting and on the port. Every
    // node's own address differs, with no majority: no drift.
    worker(
        "w4-2",
        "w4",
        "10255",
        &[(10250, "kubelet"), (10255, "kubelet")],
        200,
    );
    assert_eq!(
        drift(DriftFilter::default()),
        [
            "prod/worker kubelet:readOnlyPort 0(3) | 10255(1)[w4]",
            "prod/worker ports:tcp/10255 (absent)(3) | kubelet(1)[w4]",
        ]
    );
    assert_eq!(
        drift(DriftFilter {
            setting: Some("kubelet:".into()),
            ..Default::default()
        }),
        ["prod/worker kubelet:readOnlyPort 0(3) | 10255(1)[w4]"]
    );
    let own = |name: &str| {
        drift(DriftFilter {
            cluster: Some("prod".into()),
            node: Some(name.into()),
            ..Default::default()
        })
    };
    assert_eq!(own("w4").len(), 2);
    assert!(own("w1").is_empty(), "w1 holds the majority values");
    // Control planes are not workers' peers.
    let mut control = rich_report(
        "c1",
        "c1",
        false,
        &[],
        &[],
        &[("kubelet:readOnlyPort", Some("10255"))],
    );
    control.node.roles = vec![Role::ControlPlane, Role::Worker];
    store.ingest(control, 200).expect("control plane");
    assert_eq!(drift(DriftFilter::default()).len(), 2);
    assert!(
        drift(DriftFilter {
            role: Some("control-plane".into()),
            ..Default::default()
        })
        .is_empty()
    );
    // w4 closes the port again: no drift.
    worker("w4-3", "w4", "0", &[(10250, "kubelet")], 300);
    assert!(drift(DriftFilter::default()).is_empty());
    // w1..w3 go stale (one interval is 600 s): they stop counting, and w4 alone is no drift
    // with itself. w4 opening the port then is the whole group's value.
    assert!(
        store
            .withdraw_stale_drift(300 + 3 * 600 + 1)
            .expect("withdraw")
            >= 3
    );
    worker("w4-4", "w4", "10255", &[(10250, "kubelet")], 2200);
    assert!(drift(DriftFilter::default()).is_empty());
    // w1 and w2 report again, as before: 2 of 3 hold 0.
    worker("w1-2", "w1", "0", &[(10250, "kubelet")], 2300);
    worker("w2-2", "w2", "0", &[(10250, "kubelet")], 2300);
    assert_eq!(
        drift(DriftFilter::default()),
        ["prod/worker kubelet:readOnlyPort 0(2) | 10255(1)[w4]"]
    );
}

/// The example nodes of a minority value are the first by name of those holding it, however
/// far into a large peer group they are (its nodes' settings are searched a page at a time),
/// and follow the nodes that change; nodes lacking a setting are examples of its absence.
fn drift_examples_are_found_across_a_large_group(backend: &Backend<'_>) {
    let store = backend.store();
    let open = [3, 600, 700, 800, 900, 1000, 1099];
    let worker = |i: usize, port: &str| {
        let name = format!("n{i:04}");
        let mut settings = vec![("kubelet:readOnlyPort", Some(port))];
        // The last node lacks the setting every other node holds.
        if i != 1099 {
            settings.push(("sshd:permitrootlogin", Some("no")));
        }
        rich_report(&format!("{name}-{port}"), &name, false, &[], &[], &settings)
    };
    let port = |i: usize| if open.contains(&i) { "10255" } else { "0" };
    let nodes: Vec<usize> = (0..1100).collect();
    for chunk in nodes.chunks(100) {
        let batch: Vec<Incoming> = chunk
            .iter()
            .map(|&i| Incoming::new(worker(i, port(i))).expect("incoming"))
            .collect();
        store.ingest_batch(&batch, 100).expect("ingest");
    }
    let drift = || all_drift(&store);
    assert_eq!(
        drift(),
        [
            "prod/worker kubelet:readOnlyPort 0(1093) | 10255(7)[n0003,n0600,n0700,n0800,n0900]",
            "prod/worker sshd:permitrootlogin no(1099) | (absent)(1)[n1099]",
        ]
    );
    // n0600 closes the port: the next holder by name takes its place.
    store.ingest(worker(600, "0"), 200).expect("ingest");
    assert_eq!(
        drift()[0],
        "prod/worker kubelet:readOnlyPort 0(1094) | 10255(6)[n0003,n0700,n0800,n0900,n1000]"
    );
    // A node changing its settings twice in one batch (two sets new to the database, kept
    // only when the batch ends) is counted once, with its last.
    let batch: Vec<Incoming> = [("a", "7"), ("b", "8"), ("c", "7")]
        .iter()
        .map(|(id, port)| {
            let mut report = worker(5, port);
            report.id = format!("n0005-twice-{id}");
            Incoming::new(report).expect("incoming")
        })
        .collect();
    store.ingest_batch(&batch, 150).expect("ingest");
    assert_eq!(
        drift()[0],
        "prod/worker kubelet:readOnlyPort 0(1093) | 10255(6)[n0003,n0700,n0800,n0900,n1000] 7(1)[n0005]"
    );
    let mut back = worker(5, "0");
    back.id = "n0005-back".into();
    store.ingest(back, 160).expect("ingest");
    // Each distinct set of settings is kept once, counted by the nodes holding it; a set no
    // node holds any more goes.
    assert_eq!(store.setting_sets().expect("sets"), [1094, 5, 1]);
    // n1099's set (the port open, no sshd value) is replaced by another of its own.
    store.ingest(worker(1099, "0"), 300).expect("ingest");
    assert_eq!(store.setting_sets().expect("sets"), [1094, 5, 1]);
    assert_eq!(
        drift(),
        [
            "prod/worker kubelet:readOnlyPort 0(1095) | 10255(5)[n0003,n0700,n0800,n0900,n1000]",
            "prod/worker sshd:permitrootlogin no(1099) | (absent)(1)[n1099]",
        ]
    );
}

fn webhook(
    dir: &std::path::Path,
    name: &str,
    extra: &str,
) -> nodecheck_collector::webhooks::Webhook {
    let secret = dir.join(format!("{name}.secret"));
    std::fs::write(&secret, "key\n").expect("secret");
    let text = format!(
        "[[webhooks]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:9/\"\nsecret_file = {:?}\nretry_initial_s = 5\nmax_attempts = 2\n{extra}",
        secret.display().to_string()
    );
    let config = nodecheck_collector::config::FileConfig::parse(&text).expect("config");
    nodecheck_collector::webhooks::Webhook::from_config(&config.webhooks[0]).expect("webhook")
}

/// Events found at ingest and by the stale sweep become deliveries in the same transaction,
/// once per event and webhook; claimed deliveries are leased, failures retried after the
/// backoff and dead-lettered after the last attempt, and a dead one can be sent again.
fn webhook_deliveries_are_enqueued_retried_and_dead_lettered(backend: &Backend<'_>) {
    use nodecheck_collector::webhooks::Outcome;
    let dir = Scratch::new("webhooks");
    let mut store = backend.store();
    let chat = webhook(&dir, "chat", "");
    let only_critical = webhook(
        &dir,
        "pager",
        "severities = [\"critical\"]\nevents = [\"check-failing\"]",
    );
    store.set_webhooks(vec![chat.clone(), only_critical.clone()]);
    let events = |store: &Store| -> Vec<String> {
        let mut rows = store.deliveries(None, None, 100).expect("deliveries");
        rows.reverse();
        rows.iter()
            .map(|d| format!("{} {} {}/{}", d.webhook, d.event, d.cluster, d.node))
            .collect()
    };
    store
        .ingest(report("r1", "prod", "a", false), 100)
        .expect("r1");
    assert!(events(&store).is_empty(), "a first report tells nothing");
    store
        .ingest(report("r2", "prod", "a", true), 200)
        .expect("r2");
    store
        .ingest(report("r2", "prod", "a", true), 200)
        .expect("again");
    store
        .ingest(report("r3", "prod", "a", true), 300)
        .expect("same body");
    // The high check: chat only; the score fell from 100 to 62: chat.
    assert_eq!(
        events(&store),
        ["chat score-drop prod/a", "chat check-failing prod/a"]
    );
    let rows = store.deliveries(None, None, 100).expect("rows");
    for row in &rows {
        let body: serde_json::Value = serde_json::from_str(&row.body).expect("json body");
        assert_eq!(body["delivery_id"], row.idempotency_key.as_str());
        assert_eq!(body["report_id"], "r2");
    }
    // Claimed, they are leased: not due again until they fail.
    let due = store.claim_deliveries(300, 16).expect("claim");
    assert_eq!(due.len(), 2);
    assert!(store.claim_deliveries(301, 16).expect("leased").is_empty());
    for delivery in &due {
        store
            .record_attempt(
                delivery,
                Some(&chat),
                &Outcome::Failed("HTTP 503".into()),
                300,
            )
            .expect("failed");
    }
    assert!(store.claim_deliveries(304, 16).expect("backoff").is_empty());
    let again = store.claim_deliveries(305, 16).expect("retry");
    assert_eq!(again.len(), 2);
    assert_eq!(
        again[0].idempotency_key, due[0].idempotency_key,
        "the same key every time"
    );
    store
        .record_attempt(&again[0], Some(&chat), &Outcome::Delivered, 305)
        .expect("delivered");
    store
        .record_attempt(
            &again[1],
            Some(&chat),
            &Outcome::Failed("refused".into()),
            305,
        )
        .expect("dead");
    let dead = store
        .deliveries(Some("dead"), None, 10)
        .expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].attempts, dead[0].last_error.as_deref()),
        (2, Some("refused"))
    );
    assert!(store.claim_deliveries(10_000, 16).expect("none").is_empty());
    assert!(store.retry_delivery(dead[0].id, 400).expect("retry"));
    assert!(!store.retry_delivery(dead[0].id, 400).expect("not dead now"));
    let slow = store.claim_deliveries(400, 16).expect("sent again");
    assert_eq!(slow.len(), 1);
    // Its sender is slow past the lease: another takes it and delivers it; the first one's
    // late failure then changes nothing.
    let fast = store.claim_deliveries(461, 16).expect("lease ran out");
    assert_eq!(fast.len(), 1);
    store
        .record_attempt(&fast[0], Some(&chat), &Outcome::Delivered, 462)
        .expect("delivered");
    store
        .record_attempt(
            &slow[0],
            Some(&chat),
            &Outcome::Failed("timeout".into()),
            470,
        )
        .expect("late");
    let delivered = store
        .deliveries(Some("delivered"), None, 10)
        .expect("delivered");
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert!(
        store
            .deliveries(Some("dead"), None, 10)
            .expect("dead")
            .is_empty()
    );
    // A critical check failing reaches the pager too.
    let mut critical = report("r4", "prod", "b", false);
    store.ingest(critical.clone(), 400).expect("b1");
    critical.id = "r5".into();
    critical.findings[1].status = Status::Fail;
    critical.summary = summarize(&critical.findings);
    critical.score = score(&critical.summary);
    store.ingest(critical, 500).expect("b2");
    let told: Vec<String> = events(&store).into_iter().skip(2).collect();
    assert_eq!(
        told,
        [
            "chat score-drop prod/b",
            "chat check-failing prod/b",
            "pager check-failing prod/b"
        ]
    );
    // Stale: told once per time a node goes stale (interval 600 s: after 1800 s).
    assert_eq!(store.tell_stale(500 + 1801).expect("sweep"), 2);
    assert_eq!(store.tell_stale(500 + 1900).expect("again"), 0);
    store
        .ingest(report("r6", "prod", "a", false), 3000)
        .expect("back");
    assert_eq!(
        store.tell_stale(3000 + 1801).expect("stale again"),
        1,
        "a again; b was told already"
    );
    let stale = events(&store)
        .iter()
        .filter(|e| e.contains("stale"))
        .count();
    assert_eq!(
        stale, 3,
        "chat is told each time; the pager takes no stale event"
    );
    // Drift: c leaves the value its peers hold.
    let peer = |id: &str, name: &str, port: &str, at: i64| {
        let mut r = report(id, "edge", name, false);
        r.settings
            .insert("kubelet:readOnlyPort".into(), Some(port.into()));
        store.ingest(r, at).expect("peer");
    };
    for name in ["c", "d", "e"] {
        peer(&format!("{name}1"), name, "0", 4000);
    }
    peer("c2", "c", "10255", 4100);
    let drift: Vec<serde_json::Value> = store
        .deliveries(None, None, 100)
        .expect("rows")
        .iter()
        .filter(|d| d.event == "drift")
        .map(|d| serde_json::from_str(&d.body).expect("json"))
        .collect();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0]["subject"], "kubelet:readOnlyPort");
    assert_eq!(
        (drift[0]["before"].as_str(), drift[0]["after"].as_str()),
        (Some("0"), Some("10255"))
    );
    assert!(
        drift[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("2 of 3 worker nodes hold 0"),
        "{drift:?}"
    );
}

/// A node flipping between two prepared reports, each within the format's limits: huge
/// listener lines (more than a PostgreSQL index entry holds), kilobyte setting values of
/// multi-byte characters, hundreds of listeners coming and going, dozens of checks failing,
/// settings no peer has. Its reports are stored; its changes, its webhook events and the
/// drift it makes stay bounded, and the other nodes' reports in the same batch are stored.
fn a_hostile_nodes_changes_drift_and_events_stay_bounded(backend: &Backend<'_>) {
    let dir = Scratch::new("hostile-changes");
    let mut store = backend.store();
    store.set_webhooks(vec![webhook(
        &dir,
        "chat",
        "severities = [\"info\", \"low\", \"medium\", \"high\", \"critical\"]",
    )]);
    let long_name = "p".repeat(limits::PATH_MAX);
    let flip = |id: &str, round: usize| {
        let mut r = report(id, "prod", "evil", round % 2 == 1);
        r.findings.extend((0..40).map(|i| {
            sample::finding(
                &format!("evil.check-{i:02}"),
                Severity::Critical,
                if round % 2 == 1 {
                    Status::Fail
                } else {
                    Status::Pass
                },
                "m",
            )
        }));
        r.summary = summarize(&r.findings);
        r.score = score(&r.summary);
        let offset = if round % 2 == 1 { 1000 } else { 2000 };
        r.inventory.listeners = (0..300u16)
            .map(|i| Listener {
                protocol: "tcp".into(),
                address: format!("10.{}.0.1", "9".repeat(3000)),
                port: offset + i,
                netns: "host".into(),
                processes: vec![
                    ListenerProcess {
                        pid: 1,
                        name: long_name.clone()
                    };
                    16
                ],
            })
            .collect();
        r.settings = (0..50)
            .map(|i| {
                (
                    format!("evil:invented-{round}-{i}"),
                    Some("語".repeat(limits::SETTING_VALUE_MAX)),
                )
            })
            .collect();
        r
    };
    // Two honest peers, so the group has a majority to drift from.
    for name in ["a", "b"] {
        store
            .ingest(report(&format!("{name}1"), "prod", name, false), 100)
            .expect("peer");
    }
    let mut batch = vec![Incoming::new(flip("e0", 0)).expect("incoming")];
    batch.push(Incoming::new(report("a2", "prod", "a", false)).expect("incoming"));
    let outcomes = store
        .ingest_batch(&batch, 200)
        .expect("a batch with the hostile node");
    assert_eq!(outcomes, [Ingested::Stored, Ingested::Stored]);
    for round in 1..=4 {
        let outcome = store
            .ingest(flip(&format!("e{round}"), round), 200 + round as i64)
            .expect("flip");
        assert_eq!(outcome, Ingested::Stored);
    }
    let of_evil = store
        .changes(&ChangeFilter {
            cluster: Some("prod".into()),
            node: Some("evil".into()),
            since: Some(204),
            limit: 1000,
            ..Default::default()
        })
        .expect("changes");
    let listener_rows = of_evil.iter().filter(|c| c.kind == "listener").count();
    assert_eq!(
        listener_rows, 101,
        "100 kept, and one saying how many more (round 4)"
    );
    assert!(
        of_evil
            .iter()
            .any(|c| c.kind == "listener" && c.detail.starts_with("and 500 more"))
    );
    assert!(
        of_evil
            .iter()
            .all(|c| c.subject.chars().count() <= 201 && c.detail.chars().count() <= 501)
    );
    let events = store.deliveries(None, None, 1000).expect("deliveries");
    let check_failing = events.iter().filter(|d| d.event == "check-failing").count();
    assert_eq!(
        check_failing, 20,
        "ten per report, in the two rounds it started failing"
    );
    assert!(events.iter().all(|d| d.body.chars().count() < 4000));
    assert!(
        events.iter().all(|d| d.event != "drift"),
        "invented settings no peer holds are no drift to tell"
    );
}

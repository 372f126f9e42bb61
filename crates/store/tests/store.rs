//! Store behaviour: creation, migration, shipped import, atomic imports.

use hashpivot_data::{shipped, Date, PricePoint};
use hashpivot_store::{Store, StoreError};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .conn()
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn creates_migrates_and_imports_shipped_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/h.sqlite");
    let s = Store::open(&path).unwrap();
    assert!(path.exists());
    let mode: String = s
        .conn()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let v: i64 = s
        .conn()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, Store::schema_version());
    assert_eq!(count(&s, "price"), shipped::prices().len() as i64);
    assert_eq!(count(&s, "heights"), 6167);
    assert_eq!(count(&s, "difficulty"), 474);
    assert_eq!(count(&s, "fees"), 5456);
    let st = s.status().unwrap();
    let price = st.iter().find(|x| x.series == "price").unwrap();
    assert_eq!(price.first.as_deref(), Some("2009-10-05"));
    assert_eq!(price.last.as_deref(), Some("2026-08-21"));
    assert_eq!(price.sources, vec![("shipped".to_string(), 6165)]);
    let diff = st.iter().find(|x| x.series == "difficulty").unwrap();
    assert_eq!(
        (diff.first.as_deref(), diff.last.as_deref()),
        (Some("0"), Some("473"))
    );
    let updated = price.updated_at.clone().unwrap();
    drop(s);

    // Reopening neither re-imports nor changes anything.
    let s = Store::open(&path).unwrap();
    let st = s.status().unwrap();
    assert_eq!(
        st.iter()
            .find(|x| x.series == "price")
            .unwrap()
            .updated_at
            .as_ref(),
        Some(&updated)
    );
    // The stored series read back equal to the shipped ones.
    assert_eq!(s.prices(None, None).unwrap(), shipped::prices());
    assert_eq!(s.epochs().unwrap(), shipped::epochs());
    assert_eq!(s.heights(None, None).unwrap(), shipped::heights());
    let f = s.fees(Some(d("2026-01-31")), None).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].blocks, Some(138));
}

#[test]
fn failed_import_leaves_previous_data_intact() {
    let mut s = Store::open_in_memory().unwrap();
    let mine: Vec<PricePoint> = (0..100)
        .map(|i| PricePoint {
            date: d("2030-01-01").add_days(i),
            close_usd: 1000.0 + f64::from(i),
        })
        .collect();
    s.import_prices(&mine, "import:mine.csv").unwrap();
    let before = s.prices(None, None).unwrap();
    let status_before = s.status().unwrap();

    // A second import that overwrites the same days fails after 50 rows: nothing of it lands.
    let other: Vec<PricePoint> = mine
        .iter()
        .map(|p| PricePoint {
            close_usd: 1.0,
            ..*p
        })
        .collect();
    s.set_fault_after_rows(Some(50));
    let e = s.import_prices(&other, "import:other.csv").unwrap_err();
    assert!(matches!(e, StoreError::InjectedFault(50)), "{e}");
    s.set_fault_after_rows(None);
    assert_eq!(s.prices(None, None).unwrap(), before);
    assert_eq!(s.status().unwrap(), status_before);
    let imports: i64 = s
        .conn()
        .query_row("SELECT COUNT(*) FROM imports", [], |r| r.get(0))
        .unwrap();
    assert_eq!(imports, 1);
}

#[test]
fn shipped_refresh_never_overwrites_user_rows() {
    let mut s = Store::open_in_memory().unwrap();
    let day = d("2024-04-20");
    s.import_prices(
        &[PricePoint {
            date: day,
            close_usd: 1.0,
        }],
        "import:x.csv",
    )
    .unwrap();
    // Force a re-import of the shipped data (as after an upgrade of the shipped set).
    s.conn()
        .execute("DELETE FROM meta WHERE key = 'shipped_version'", [])
        .unwrap();
    s.ensure_shipped().unwrap();
    let p = s.prices(Some(day), Some(day)).unwrap();
    assert_eq!(p[0].close_usd, 1.0);
    let next = s
        .prices(Some(day.add_days(1)), Some(day.add_days(1)))
        .unwrap();
    assert!(next[0].close_usd > 60_000.0);
}

#[test]
fn module_migrations_are_versioned_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    let steps = [
        "CREATE TABLE t1 (x INTEGER)",
        "ALTER TABLE t1 ADD COLUMN y TEXT",
    ];
    {
        let mut s = Store::open(&path).unwrap();
        s.migrate_module("demo", &steps[..1]).unwrap();
        s.migrate_module("demo", &steps[..1]).unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    s.migrate_module("demo", &steps).unwrap();
    s.conn()
        .execute("INSERT INTO t1 (x, y) VALUES (1, 'a')", [])
        .unwrap();
    let v: i64 = s
        .conn()
        .query_row(
            "SELECT version FROM module_versions WHERE module = 'demo'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, 2);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.sqlite");
    {
        let s = Store::open(&path).unwrap();
        s.conn().pragma_update(None, "user_version", 99).unwrap();
    }
    let e = Store::open(&path).unwrap_err().to_string();
    assert!(e.contains("schema version 99"), "{e}");
}

#[test]
fn shipped_power_is_imported_on_demand() {
    let mut s = Store::open_in_memory().unwrap();
    assert!(!s.has_shipped_power().unwrap());
    assert!(s.power(Some("HB_WEST")).unwrap().is_empty());
    s.ensure_shipped_power().unwrap();
    let w = s.power(Some("HB_WEST")).unwrap();
    assert_eq!(w.len(), 8760 * 3 + 8784 + 3287);
    // PROVENANCE: 2021 HB_WEST mean $142.6.
    let y2021: Vec<f64> = w
        .iter()
        .filter(|r| r.date < d("2022-01-01"))
        .map(|r| r.usd_mwh)
        .collect();
    let mean = y2021.iter().sum::<f64>() / y2021.len() as f64;
    assert!((mean - 142.6).abs() < 0.05, "{mean}");
    assert_eq!(s.power_nodes().unwrap().len(), 15);
}

/// Many first uses of one new file at once all open it (threads of one process, each its own
/// connection, as separate `hashpivot` processes are): SQLite takes the switch to WAL without
/// its busy handler, so an opener that meets another's switch must retry it, not fail with
/// "database is locked".
#[test]
fn concurrent_first_opens_of_a_new_file_all_succeed() {
    for round in 0..24 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        let barrier = std::sync::Barrier::new(12);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..12)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        Store::open(&path).map(|st| count(&st, "price"))
                    })
                })
                .collect();
            for h in handles {
                let n = h.join().unwrap();
                assert!(matches!(n, Ok(n) if n > 1000), "round {round}: {n:?}");
            }
        });
    }
}

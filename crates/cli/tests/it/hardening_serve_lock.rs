//! Issue 17, item 11: the one-server lock is keyed on the database file, not on the path string:
//! a second `serve` reaching the same database through a symlink, a `..` path or a hard link is
//! refused (exit 2) and leaves the first server's live run alone; that run can then be cancelled
//! through `DELETE /api/runs/{id}` (item 3, end to end).

use std::time::{Duration, Instant};

use crate::common::Serve;

fn status(s: &Serve, id: &str) -> serde_json::Value {
    s.get(&format!("/api/runs/{id}")).1
}

#[test]
fn a_second_server_through_another_path_is_refused() {
    let dir = crate::common::tempdir();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let db = real.join("shared.sqlite");
    let a = Serve::start(&db, &[]);
    let (code, v) = a.post(
        "/api/runs",
        r#"{"strategy": "optimal", "paths": 200000, "scenario": {"strategy": {"tranches": 8, "decide_months": 60}}}"#,
    );
    assert_eq!(code, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    while status(&a, &id)["status"] != "running" {
        assert!(t0.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
    }
    std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
    std::fs::hard_link(&db, dir.path().join("hard.sqlite")).unwrap();
    for other in [
        dir.path().join("link").join("shared.sqlite"),
        real.join("..").join("real").join("shared.sqlite"),
        dir.path().join("hard.sqlite"),
    ] {
        let out = crate::common::hashpivot(dir.path())
            .env_remove("HASHPIVOT_TOKEN")
            .arg("--db")
            .arg(&other)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let err = crate::common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{other:?}: {err}");
        assert!(err.contains("in use by another hashpivot server"), "{err}");
    }
    assert_eq!(status(&a, &id)["status"], "running");
    // Cancel it: it stops between blocks and stays `cancelled`.
    let (code, v) = a.call("DELETE", &format!("/api/runs/{id}"), None, "");
    assert_eq!(code, 202, "{v}");
    let t0 = Instant::now();
    loop {
        let v = status(&a, &id);
        if v["status"] == "cancelled" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

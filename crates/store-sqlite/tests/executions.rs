use stepcart_store_sqlite::{
    CreateOutcome, ExecutionFilter, ExecutionRecord, Store, StoreError, StoredEvent,
};

const SM: &str = "arn:aws:states:local:000000000000:stateMachine:checkout";

fn record(name: &str, start: &str) -> ExecutionRecord {
    ExecutionRecord {
        execution_arn: format!("arn:aws:states:local:000000000000:execution:checkout:{name}"),
        name: name.into(),
        state_machine_arn: SM.into(),
        status: "RUNNING".into(),
        input: r#"{"cart":1}"#.into(),
        output: None,
        error: None,
        cause: None,
        start_date: start.into(),
        stop_date: None,
    }
}

fn event(id: i64, kind: &str) -> StoredEvent {
    StoredEvent {
        id,
        json: format!(r#"{{"id":{id},"type":"{kind}"}}"#),
    }
}

#[tokio::test]
async fn an_execution_round_trips() {
    let store = Store::open_in_memory().expect("store");
    let rec = record("c1", "2026-05-01T10:00:00Z");
    assert_eq!(
        store.create_execution(&rec, "snap-0").await.expect("create"),
        CreateOutcome::Created
    );
    assert_eq!(
        store.execution(&rec.execution_arn).await.expect("read"),
        Some(rec.clone())
    );
    assert_eq!(
        store.execution_by_name(SM, "c1").await.expect("read"),
        Some(rec.clone())
    );
    assert_eq!(
        store.snapshot(&rec.execution_arn).await.expect("read").as_deref(),
        Some("snap-0")
    );

    let mut done = rec.clone();
    done.status = "SUCCEEDED".into();
    done.output = Some(r#"{"orderId":"ord_1"}"#.into());
    done.stop_date = Some("2026-05-01T10:00:03.250Z".into());
    store
        .save_execution(
            &done,
            "snap-1",
            &[event(1, "ExecutionStarted"), event(2, "ExecutionSucceeded")],
            &[],
        )
        .await
        .expect("save");
    assert_eq!(
        store.execution(&rec.execution_arn).await.expect("read"),
        Some(done)
    );
    assert_eq!(
        store.snapshot(&rec.execution_arn).await.expect("read").as_deref(),
        Some("snap-1")
    );
    assert_eq!(store.execution("arn:nope").await.expect("read"), None);
    assert_eq!(store.snapshot("arn:nope").await.expect("read"), None);
    assert!(store.history("arn:nope").await.expect("read").is_empty());
}

#[tokio::test]
async fn a_taken_name_returns_the_existing_execution() {
    let store = Store::open_in_memory().expect("store");
    let rec = record("c1", "2026-05-01T10:00:00Z");
    store.create_execution(&rec, "snap-0").await.expect("create");
    let mut second = record("c1", "2026-05-02T10:00:00Z");
    second.input = r#"{"cart":2}"#.into();
    assert_eq!(
        store
            .create_execution(&second, "snap-other")
            .await
            .expect("create again"),
        CreateOutcome::Existing(rec.clone())
    );
    assert_eq!(
        store.snapshot(&rec.execution_arn).await.expect("read").as_deref(),
        Some("snap-0")
    );
    // The same name under another state machine is another execution.
    let mut elsewhere = record("c1", "2026-05-01T10:00:00Z");
    elsewhere.state_machine_arn = format!("{SM}-v2");
    elsewhere.execution_arn = format!("{}-v2", elsewhere.execution_arn);
    assert_eq!(
        store.create_execution(&elsewhere, "s").await.expect("create"),
        CreateOutcome::Created
    );
}

#[tokio::test]
async fn events_append_once_and_in_id_order() {
    let store = Store::open_in_memory().expect("store");
    let rec = record("c1", "2026-05-01T10:00:00Z");
    store.create_execution(&rec, "s0").await.expect("create");
    store
        .save_execution(
            &rec,
            "s1",
            &[event(1, "ExecutionStarted"), event(2, "TaskStateEntered")],
            &[],
        )
        .await
        .expect("save 1");
    // A recovering engine re-sends event 2 (with other text) along with the new event 3.
    store
        .save_execution(
            &rec,
            "s2",
            &[event(3, "TaskScheduled"), event(2, "Duplicate")],
            &[],
        )
        .await
        .expect("save 2");
    let history = store.history(&rec.execution_arn).await.expect("history");
    assert_eq!(
        history,
        vec![
            event(1, "ExecutionStarted"),
            event(2, "TaskStateEntered"),
            event(3, "TaskScheduled")
        ]
    );
}

#[tokio::test]
async fn waiting_task_tokens_lead_to_their_execution() {
    let store = Store::open_in_memory().expect("store");
    let a = record("a", "2026-05-01T10:00:00Z");
    let b = record("b", "2026-05-01T10:00:01Z");
    store.create_execution(&a, "s").await.expect("a");
    store.create_execution(&b, "s").await.expect("b");
    store
        .save_execution(&a, "s", &[], &["tok-1".into(), "tok-2".into()])
        .await
        .expect("save");
    assert_eq!(
        store
            .execution_for_task_token("tok-2")
            .await
            .expect("read")
            .as_deref(),
        Some(a.execution_arn.as_str())
    );
    // Saving replaces the set: tok-1 was answered, tok-3 is new.
    store
        .save_execution(&a, "s", &[], &["tok-2".into(), "tok-3".into()])
        .await
        .expect("save");
    assert_eq!(store.execution_for_task_token("tok-1").await.expect("read"), None);
    assert!(
        store
            .execution_for_task_token("tok-3")
            .await
            .expect("read")
            .is_some()
    );
    // A token cannot wait in two executions; the failed save changes nothing.
    let error = store
        .save_execution(&b, "changed", &[event(1, "X")], &["tok-3".into()])
        .await
        .expect_err("taken");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert!(store.history(&b.execution_arn).await.expect("read").is_empty());
    assert_eq!(
        store.snapshot(&b.execution_arn).await.expect("read").as_deref(),
        Some("s")
    );
    store.save_execution(&a, "s", &[], &[]).await.expect("save");
    assert_eq!(store.execution_for_task_token("tok-2").await.expect("read"), None);
}

#[tokio::test]
async fn listing_is_newest_first_and_filtered() {
    let store = Store::open_in_memory().expect("store");
    // Text order would put "10:00:00.5Z" before "10:00:00Z"; time order must not.
    let starts = [
        ("e1", "2026-05-01T10:00:00Z"),
        ("e2", "2026-05-01T10:00:00.5Z"),
        ("e3", "2026-05-01T11:30:00+02:00"),
        ("e4", "2026-05-01T11:00:00Z"),
    ];
    for (name, start) in starts {
        store
            .create_execution(&record(name, start), "s")
            .await
            .expect("create");
    }
    let mut failed = record("e2", "2026-05-01T10:00:00.5Z");
    failed.status = "FAILED".into();
    failed.error = Some("OutOfStock".into());
    failed.cause = Some("SKU A has 0 available".into());
    failed.stop_date = Some("2026-05-01T10:00:01Z".into());
    store.save_execution(&failed, "s", &[], &[]).await.expect("save");

    let page =
        |machine: Option<&str>, status: Option<&str>, name: Option<&str>, after: Option<String>, limit| {
            let store = store.clone();
            let filter = ExecutionFilter {
                state_machine_arn: machine.map(str::to_owned),
                status: status.map(str::to_owned),
                name_contains: name.map(str::to_owned),
            };
            async move {
                let page = store
                    .list_executions_page(filter, after.as_deref(), limit)
                    .await
                    .expect("page");
                let names: Vec<String> = page.executions.into_iter().map(|r| r.name).collect();
                (names, page.next)
            }
        };
    assert_eq!(
        page(None, None, None, None, 10).await,
        (vec!["e4".into(), "e2".into(), "e1".into(), "e3".into()], None)
    );
    let (first, next) = page(Some(SM), None, None, None, 2).await;
    assert_eq!(first, ["e4", "e2"]);
    let (second, last) = page(Some(SM), None, None, next, 2).await;
    assert_eq!(
        (second, last),
        (vec!["e1".into(), "e3".into()], None),
        "the next page starts after the first"
    );
    assert_eq!(page(None, Some("FAILED"), None, None, 10).await.0, ["e2"]);
    assert_eq!(page(None, None, Some("3"), None, 10).await.0, ["e3"]);
    assert!(page(Some("arn:other"), None, None, None, 10).await.0.is_empty());
    let running = store.running_executions().await.expect("running");
    assert_eq!(running.len(), 3);
    assert!(
        running[0].ends_with(":e3") && running[2].ends_with(":e4"),
        "{running:?}"
    );
}

#[tokio::test]
async fn bad_records_are_refused() {
    let store = Store::open_in_memory().expect("store");
    let mut bad = record("c1", "2026-05-01T10:00:00Z");
    bad.status = "DONE".into();
    assert!(matches!(
        store.create_execution(&bad, "s").await,
        Err(StoreError::Invalid(_))
    ));
    let bad = record("c1", "yesterday");
    assert!(matches!(
        store.create_execution(&bad, "s").await,
        Err(StoreError::Invalid(_))
    ));
    let never = record("c2", "2026-05-01T10:00:00Z");
    assert!(matches!(
        store.save_execution(&never, "s", &[], &[]).await,
        Err(StoreError::NotFound(_))
    ));
}

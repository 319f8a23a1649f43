//! Closed-model (users) phases against real servers: the fault server's
//! `delay` tool gives a known service time, so throughput, think and
//! iteration times, Little's law and request-limited stages are checked
//! against arithmetic, not against recorded numbers.

use std::time::Duration;

use std::collections::BTreeSet;

use jetstress::load::{
    Command, Endpoint, Engine, EngineEvent, LoadModel, McpTargetSpec, PhaseEvent, PhaseSpec,
    TargetEvent, Think, UsersSpec,
};
use serde_json::json;

use crate::workloads_engine::{
    config, everything_http, everything_js, fault_server, mix, run_phase,
};

fn users_phase(stages: &[(u32, Option<Duration>, Option<u64>)], think: Think) -> PhaseSpec {
    PhaseSpec::users(
        stages,
        UsersSpec {
            think,
            spawn_rate: None,
            max_sessions: 8,
            in_turn: false,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_is_users_over_think_plus_service() {
    // S = 200 ms of service, T = 300 ms of think, 4 users: 4 / 0.5 s = 8 req/s.
    let (s_ms, t_ms, users) = (200.0, 300.0, 4u32);
    let m = mix(&[("fault:delay", 1.0, json!({"ms": s_ms}))]);
    // Four children up before the phase: each user finds its own at once, so
    // the stage measures S and T, not the servers' start.
    let (mut c, _logs) = config(vec![fault_server(&[], users as usize)], m);
    c.timeout = Duration::from_secs(5);
    let engine = Engine::spawn(c).await.unwrap();
    let spec = users_phase(
        &[(users, Some(Duration::from_secs(10)), None)],
        Think::Constant(Duration::from_millis(t_ms as u64)),
    );
    let s = run_phase(&engine, spec).await;
    let p = &s.phases[0];
    assert_eq!(p.model, LoadModel::Closed);
    let st = &p.stages[0];
    assert_eq!(st.users, Some(users));
    let expected = f64::from(users) / ((s_ms + t_ms) / 1000.0);
    let err = (st.achieved_rate - expected).abs() / expected;
    assert!(
        err <= 0.08,
        "throughput {:.2}/s vs {expected:.2}/s ({:.1} % off)",
        st.achieved_rate,
        err * 100.0
    );
    assert_eq!(st.all.errors, 0, "{:?}", st.all.error_kinds);
    // Latency is from the actual send: the service time, not a schedule.
    assert!(
        st.all.latency_ms.p50 >= s_ms && st.all.latency_ms.p50 < s_ms + 50.0,
        "{:?}",
        st.all.latency_ms
    );
    let think = st.think_ms.expect("think measured").mean;
    assert!((think - t_ms).abs() < 30.0, "think {think}");
    let it = st.iteration_ms.expect("iterations measured");
    assert!((it.p50 - (s_ms + t_ms)).abs() < 50.0, "{it:?}");
    let l = st.little.expect("Little's law checked");
    assert!(l.holds, "{l:?}");
    assert!((l.users - f64::from(users)).abs() < 0.2, "{l:?}");
    let info = p.users.as_ref().expect("users info");
    assert_eq!(info.think, "300 ms");
    assert_eq!(info.peak_users, users);
    assert!(!info.shared_sessions);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_limited_stages_send_exactly_their_requests() {
    // The basic load test: 20 requests by 2 workers, then 50 by 5.
    let m = mix(&[("fault:delay", 1.0, json!({"ms": 10}))]);
    let (mut c, _logs) = config(vec![fault_server(&[], 1)], m);
    c.timeout = Duration::from_secs(5);
    let engine = Engine::spawn(c).await.unwrap();
    let spec = users_phase(
        &[(2, None, Some(20)), (5, None, Some(50))],
        Think::Constant(Duration::ZERO),
    );
    let s = run_phase(&engine, spec).await;
    let p = &s.phases[0];
    assert_eq!(p.status, "completed");
    let counts: Vec<(Option<u32>, u64, u64)> = p
        .stages
        .iter()
        .map(|st| (st.users, st.scheduled, st.all.count))
        .collect();
    assert_eq!(counts, [(Some(2), 20, 20), (Some(5), 50, 50)]);
    assert!(p.stages.iter().all(|st| st.requests.is_some()));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_scale_live_and_show_in_windows() {
    let m = mix(&[("fault:delay", 1.0, json!({"ms": 20}))]);
    let (mut c, _logs) = config(vec![fault_server(&[], 1)], m);
    c.timeout = Duration::from_secs(5);
    let engine = Engine::spawn(c).await.unwrap();
    let mut ev = engine.events();
    let spec = users_phase(
        &[(3, Some(Duration::from_secs(3)), None)],
        Think::Uniform {
            min: Duration::from_millis(50),
            max: Duration::from_millis(100),
        },
    );
    engine.send(Command::StartPhase(spec)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    engine.send(Command::ScaleUsers(2.0)).await;
    let mut seen_users = Vec::new();
    let mut stage_users = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ev.recv())
            .await
            .expect("phase ended")
        {
            Ok(EngineEvent::LoadWindow(w)) => {
                if let Some(u) = w.users {
                    seen_users.push(u.active);
                }
            }
            Ok(EngineEvent::Phase(PhaseEvent::StageChanged { users, .. })) => {
                stage_users.push(users);
            }
            Ok(EngineEvent::Phase(PhaseEvent::Stopped { .. })) => break,
            _ => {}
        }
    }
    assert_eq!(
        stage_users,
        [Some(3), Some(6)],
        "the start and the ×2 are announced"
    );
    assert!(seen_users.contains(&6), "{seen_users:?}");
    let s = engine.summary().await.unwrap();
    assert_eq!(s.phases[0].users.as_ref().unwrap().peak_users, 6);
    assert_eq!(s.phases[0].users.as_ref().unwrap().think, "50–100 ms");
    engine.shutdown().await;
}

/// Sessions that reported `Started` while `phase` ran, and the summary.
async fn sessions_seen(
    spec: McpTargetSpec,
    tool: &str,
    phase: PhaseSpec,
) -> (BTreeSet<usize>, jetstress::load::RunSummary) {
    let (mut c, _logs) = config(vec![spec], mix(&[(tool, 1.0, json!({"message": "hi"}))]));
    c.timeout = Duration::from_secs(10);
    let engine = Engine::spawn(c).await.unwrap();
    let mut ev = engine.events();
    let s = run_phase(&engine, phase).await;
    let mut started = BTreeSet::new();
    while let Ok(e) = ev.try_recv() {
        if let EngineEvent::Target(TargetEvent::Started { session, .. }) = e {
            started.insert(session);
        }
    }
    engine.shutdown().await;
    (started, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_owns_a_server_child_up_to_max_sessions() {
    let target = McpTargetSpec {
        name: Some("everything".into()),
        endpoint: Endpoint::Stdio {
            program: "node".into(),
            args: vec![everything_js().display().to_string(), "stdio".into()],
            env: vec![],
        },
        sessions: 1,
    };
    let mut phase = users_phase(
        &[(4, Some(Duration::from_secs(3)), None)],
        Think::Constant(Duration::from_millis(100)),
    );
    phase.users.as_mut().unwrap().max_sessions = 3;
    let (started, s) = sessions_seen(target, "everything:echo", phase).await;
    // Session 0 came up at spawn; the phase added 1 and 2 (three children for four users).
    assert_eq!(started.range(1..).count(), 2, "{started:?}");
    assert_eq!(started.last(), Some(&2), "{started:?}");
    let p = &s.phases[0];
    assert!(p.users.as_ref().unwrap().shared_sessions, "{:?}", p.users);
    let st = &p.stages[0];
    assert_eq!(st.all.errors, 0, "{:?}", st.all.error_kinds);
    assert!(st.all.count >= 40, "{:?}", st.all);
    let init = s.targets[0].initialize_ms.expect("initialize times");
    assert!(
        init.max >= init.p95 && init.p95 >= init.p50 && init.p50 > 0.0,
        "{init:?}"
    );
    // After the phase the target is back to its own session count.
    assert_eq!(s.targets[0].sessions, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_has_its_own_http_session() {
    let (mut child, url) = everything_http().await;
    let target = McpTargetSpec {
        name: Some("everything".into()),
        endpoint: Endpoint::Http { url },
        sessions: 1,
    };
    let phase = users_phase(
        &[(3, None, Some(30)), (5, None, Some(50))],
        Think::Pacing(Duration::from_millis(50)),
    );
    let (started, s) = sessions_seen(target, "everything:echo", phase).await;
    assert_eq!(
        started.range(1..).copied().collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "{started:?}"
    );
    let p = &s.phases[0];
    assert!(!p.users.as_ref().unwrap().shared_sessions);
    let counts: Vec<(u64, u64)> = p
        .stages
        .iter()
        .map(|st| (st.scheduled, st.all.errors))
        .collect();
    assert_eq!(counts, [(30, 0), (50, 0)]);
    // Pacing is start to start: iterations hold at 50 ms whatever the service time.
    let it = p.stages[1].iteration_ms.expect("iterations");
    assert!((it.p50 - 50.0).abs() < 15.0, "{it:?}");
    let _ = child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_server_over_http_serves_a_users_ramp() {
    let (mut server, url) = crate::mcp_serve::http_server(&[], None).await;
    let target = McpTargetSpec {
        name: Some("built-in".into()),
        endpoint: Endpoint::Http { url },
        sessions: 1,
    };
    let (mut c, _logs) = config(
        vec![target],
        mix(&[
            ("built-in:thermal_status", 7.0, json!({})),
            ("built-in:memory_status", 3.0, json!({})),
        ]),
    );
    c.timeout = Duration::from_secs(10);
    let engine = Engine::spawn(c).await.unwrap();
    let mut spec = users_phase(
        &[
            (4, Some(Duration::from_secs(2)), None),
            (8, Some(Duration::from_secs(2)), None),
        ],
        Think::Uniform {
            min: Duration::from_millis(20),
            max: Duration::from_millis(60),
        },
    );
    spec.users.as_mut().unwrap().spawn_rate = Some(20.0);
    let s = run_phase(&engine, spec).await;
    let p = &s.phases[0];
    assert_eq!(p.status, "completed");
    for st in &p.stages {
        assert_eq!(st.all.errors, 0, "{:?}", st.all.error_kinds);
        // Both tools of the 70/30 mix ran.
        assert_eq!(
            st.tools.iter().filter(|t| t.count > 0).count(),
            2,
            "{:?}",
            st.tools
        );
    }
    // Twice the users, about twice the throughput (think ≫ service here).
    let ratio = p.stages[1].achieved_rate / p.stages[0].achieved_rate;
    assert!((1.3..=2.6).contains(&ratio), "{ratio}");
    let sc = p.scalability.expect("two stages give a fit");
    assert_eq!(sc.points, 2);
    // HTTP sessions have no process of their own: no RSS to fit.
    assert_eq!(sc.rss_mb_per_user, None);
    engine.shutdown().await;
    let _ = server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_whose_server_dies_reconnects_and_goes_on() {
    // Each child exits after 5 calls: every user's own server dies and is
    // restarted with backoff, counted on the target; the users keep cycling.
    let m = mix(&[("fault:delay", 1.0, json!({"ms": 5}))]);
    let (mut c, _logs) = config(vec![fault_server(&["--exit-after", "5"], 2)], m);
    c.timeout = Duration::from_secs(5);
    let engine = Engine::spawn(c).await.unwrap();
    let spec = users_phase(
        &[(2, Some(Duration::from_secs(4)), None)],
        Think::Constant(Duration::from_millis(50)),
    );
    let s = run_phase(&engine, spec).await;
    let t = &s.targets[0];
    assert!(t.failures >= 2 && t.restarts >= 2, "{t:?}");
    let st = &s.phases[0].stages[0];
    let ok = st.all.count - st.all.errors;
    assert!(
        ok > 10,
        "users went on after their servers died: {:?}",
        st.all
    );
    assert!(
        st.all.error_kinds.keys().all(|k| k == "transport"),
        "{:?}",
        st.all.error_kinds
    );
    engine.shutdown().await;
}

//! Closed-model (users) phases against real servers: the fault server's
//! `delay` tool gives a known service time, so throughput, think and
//! iteration times, Little's law and request-limited stages are checked
//! against arithmetic, not against recorded numbers.

use std::time::Duration;

use jetstress::load::{
    Command, Engine, EngineEvent, LoadModel, PhaseEvent, PhaseSpec, Think, UsersSpec,
};
use serde_json::json;

use crate::workloads_engine::{config, fault_server, mix, run_phase};

fn users_phase(stages: &[(u32, Option<Duration>, Option<u64>)], think: Think) -> PhaseSpec {
    PhaseSpec::users(
        stages,
        UsersSpec {
            think,
            spawn_rate: None,
            max_sessions: 8,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_is_users_over_think_plus_service() {
    // S = 200 ms of service, T = 300 ms of think, 4 users: 4 / 0.5 s = 8 req/s.
    let (s_ms, t_ms, users) = (200.0, 300.0, 4u32);
    let m = mix(&[("fault:delay", 1.0, json!({"ms": s_ms}))]);
    let (mut c, _logs) = config(vec![fault_server(&[], 1)], m);
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

//! The closed-model population of a users phase: which users are alive,
//! which think until when, which wait for a reply, and the pace at which
//! users are added or retired on the way to a stage's count. Fixed state per
//! user (a slot), never a history; the heap holds at most one live wake-up
//! per user plus stale ones of retired users, dropped as they come due.
//! Pure: times are passed in, so tests step it with numbers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::load::schedule::{UsersSpec, MAX_USERS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    /// Retired (or never started).
    Gone,
    /// Waiting in the heap: thinking, or about to send its first request.
    Waiting,
    /// Its request is in flight.
    InFlight,
    /// Retired while its request was in flight: the reply is still awaited.
    Retiring,
    /// Its stage has sent all its requests; woken at the next stage.
    Parked,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Bumped when the user is started or retired; wake-ups and replies of
    /// an older generation are ignored.
    generation: u32,
    state: SlotState,
    started: Instant,
    last_send: Option<Instant>,
    last_reply: Option<Instant>,
    /// The session its last request went to.
    session: u32,
}

/// A user that is due to send: its index and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Due {
    pub(super) user: u32,
    pub(super) generation: u32,
    /// Since the user was started (a first request may wait for its session).
    pub(super) age: Duration,
    /// `false` until the user has sent once.
    pub(super) has_sent: bool,
}

/// What a send tells the stage's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct SendTimes {
    /// Previous send → this one.
    pub(super) iteration: Option<Duration>,
    /// Previous reply → this send: the think actually waited.
    pub(super) waited: Option<Duration>,
}

pub(super) struct Population {
    pub(super) spec: UsersSpec,
    slots: Vec<Slot>,
    /// Users `0..active` are alive.
    active: u32,
    /// The count being moved towards (at `spawn_rate`).
    target: u32,
    wake: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    next_step: Option<Instant>,
    in_flight: u32,
    /// Alive users that have sent at least once (a new user may first wait for its session).
    cycling: u32,
    peak: u32,
}

impl Population {
    pub(super) fn new(spec: UsersSpec) -> Self {
        Population {
            spec,
            slots: Vec::new(),
            active: 0,
            target: 0,
            wake: BinaryHeap::new(),
            next_step: None,
            in_flight: 0,
            cycling: 0,
            peak: 0,
        }
    }

    /// Alive users that have sent at least once: those Little's law counts.
    pub(super) fn cycling(&self) -> u32 {
        self.cycling
    }

    pub(super) fn active(&self) -> u32 {
        self.active
    }

    pub(super) fn target(&self) -> u32 {
        self.target
    }

    pub(super) fn in_flight(&self) -> u32 {
        self.in_flight
    }

    pub(super) fn peak(&self) -> u32 {
        self.peak
    }

    /// Move towards `n` users: at once without a spawn rate, else one user
    /// per `1 / spawn_rate` seconds from `now`.
    pub(super) fn set_target(&mut self, n: u32, now: Instant) {
        self.target = n.min(MAX_USERS);
        match self.spec.spawn_rate {
            None => {
                while self.active != self.target {
                    self.step_one(now);
                }
                self.next_step = None;
            }
            Some(_) if self.active != self.target => {
                self.next_step.get_or_insert(now);
                self.steps(now);
            }
            Some(_) => self.next_step = None,
        }
    }

    /// Start or retire the users whose turn has come at `now`.
    pub(super) fn steps(&mut self, now: Instant) {
        let Some(rate) = self.spec.spawn_rate.filter(|r| *r > 0.0) else {
            return;
        };
        let gap = Duration::from_secs_f64((1.0 / rate).min(3600.0));
        while let Some(at) = self.next_step {
            if at > now || self.active == self.target {
                break;
            }
            self.step_one(now);
            self.next_step = Some(at + gap);
        }
        if self.active == self.target {
            self.next_step = None;
        }
    }

    fn step_one(&mut self, now: Instant) {
        if self.active < self.target {
            let i = self.active as usize;
            if i == self.slots.len() {
                self.slots.push(Slot {
                    generation: 0,
                    state: SlotState::Gone,
                    started: now,
                    last_send: None,
                    last_reply: None,
                    session: 0,
                });
            }
            let s = &mut self.slots[i];
            s.generation = s.generation.wrapping_add(1);
            s.state = SlotState::Waiting;
            s.started = now;
            s.last_send = None;
            s.last_reply = None;
            self.wake.push(Reverse((now, i as u32, s.generation)));
            self.active += 1;
            self.peak = self.peak.max(self.active);
        } else if self.active > self.target {
            self.active -= 1;
            let s = &mut self.slots[self.active as usize];
            if s.last_send.is_some() {
                self.cycling = self.cycling.saturating_sub(1);
            }
            s.state = if s.state == SlotState::InFlight {
                // Its reply still arrives and is counted; it is not rescheduled.
                self.in_flight = self.in_flight.saturating_sub(1);
                SlotState::Retiring
            } else {
                SlotState::Gone
            };
        }
    }

    /// The earliest wake-up or spawn step.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let w = self.wake.peek().map(|Reverse((at, _, _))| *at);
        match (w, self.next_step) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next user due to send at `now`, if any.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Due> {
        while let Some(Reverse((at, user, generation))) = self.wake.peek().copied() {
            if at > now {
                return None;
            }
            self.wake.pop();
            let Some(s) = self.slots.get(user as usize) else {
                continue;
            };
            if user < self.active && s.generation == generation && s.state == SlotState::Waiting {
                return Some(Due {
                    user,
                    generation,
                    age: now.saturating_duration_since(s.started),
                    has_sent: s.last_send.is_some(),
                });
            }
        }
        None
    }

    /// Put a due user back to wait until `at` (its session is not up yet).
    pub(super) fn defer(&mut self, d: Due, at: Instant) {
        self.wake.push(Reverse((at, d.user, d.generation)));
    }

    /// The user sent its request to `session` at `now`.
    pub(super) fn sent(&mut self, d: Due, now: Instant, session: usize) -> SendTimes {
        let s = &mut self.slots[d.user as usize];
        s.session = session as u32;
        if s.last_send.is_none() {
            self.cycling += 1;
        }
        let times = SendTimes {
            iteration: s.last_send.map(|t| now.saturating_duration_since(t)),
            waited: s.last_reply.map(|t| now.saturating_duration_since(t)),
        };
        s.last_send = Some(now);
        s.state = SlotState::InFlight;
        self.in_flight += 1;
        times
    }

    /// The stage has sent all its requests: the user waits for the next stage.
    pub(super) fn park(&mut self, d: Due) {
        self.slots[d.user as usize].state = SlotState::Parked;
    }

    /// Wake every parked user at `now` (a new stage began).
    pub(super) fn unpark_all(&mut self, now: Instant) {
        for (i, s) in self.slots.iter_mut().enumerate().take(self.active as usize) {
            if s.state == SlotState::Parked {
                s.state = SlotState::Waiting;
                self.wake.push(Reverse((now, i as u32, s.generation)));
            }
        }
    }

    /// A reply (or timeout) for `user` of `generation` at `now`, `service`
    /// after its send: the planned think, and the user waits that long.
    /// `None` when the user was retired meanwhile.
    pub(super) fn replied<R: Rng>(
        &mut self,
        user: u32,
        generation: u32,
        now: Instant,
        service: Duration,
        rng: &mut R,
    ) -> Option<Duration> {
        let active = self.active;
        let s = self.slots.get_mut(user as usize)?;
        if s.generation != generation {
            return None;
        }
        if s.state == SlotState::Retiring {
            s.state = SlotState::Gone;
            return None;
        }
        if user >= active || s.state != SlotState::InFlight {
            return None;
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        let think = self.spec.think.draw(rng, service);
        s.last_reply = Some(now);
        s.state = SlotState::Waiting;
        self.wake.push(Reverse((now + think, user, generation)));
        Some(think)
    }
}

impl Population {
    /// A reply that came after the phase ended: the user is done.
    pub(super) fn finished(&mut self, user: u32, generation: u32) {
        if let Some(s) = self.slots.get_mut(user as usize) {
            if s.generation == generation
                && matches!(s.state, SlotState::InFlight | SlotState::Retiring)
            {
                s.state = SlotState::Gone;
            }
        }
    }

    /// Is a request still in flight on session `min` or above (of any user,
    /// retired ones too)? Sessions are only removed once this is false.
    pub(super) fn busy_from(&self, min: usize) -> bool {
        self.slots.iter().any(|s| {
            matches!(s.state, SlotState::InFlight | SlotState::Retiring)
                && s.session as usize >= min
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::Think;
    use rand::SeedableRng;

    fn pop(spawn_rate: Option<f64>) -> Population {
        Population::new(UsersSpec {
            think: Think::Constant(Duration::from_secs(2)),
            spawn_rate,
            max_sessions: 8,
            in_turn: false,
        })
    }

    #[test]
    fn users_start_at_once_then_think_between_replies() {
        let t0 = Instant::now();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut p = pop(None);
        p.set_target(3, t0);
        assert_eq!(p.active(), 3);
        let due: Vec<Due> = std::iter::from_fn(|| p.pop_due(t0)).collect();
        assert_eq!(due.len(), 3);
        for d in &due {
            assert_eq!(p.sent(*d, t0, 0), SendTimes::default());
        }
        assert_eq!(p.in_flight(), 3);
        assert!(p.pop_due(t0 + Duration::from_secs(10)).is_none());
        let r = t0 + Duration::from_millis(100);
        let think = p.replied(
            0,
            due[0].generation,
            r,
            Duration::from_millis(100),
            &mut rng,
        );
        assert_eq!(think, Some(Duration::from_secs(2)));
        assert!(p.pop_due(r + Duration::from_millis(1999)).is_none());
        let d = p.pop_due(r + Duration::from_secs(2)).unwrap();
        assert_eq!(d.user, 0);
        let times = p.sent(d, r + Duration::from_secs(2), 0);
        assert_eq!(times.iteration, Some(Duration::from_millis(2100)));
        assert_eq!(times.waited, Some(Duration::from_secs(2)));
    }

    #[test]
    fn spawn_rate_paces_growth_and_retirement() {
        let t0 = Instant::now();
        let mut p = pop(Some(2.0));
        p.set_target(4, t0);
        assert_eq!(p.active(), 1);
        p.steps(t0 + Duration::from_millis(499));
        assert_eq!(p.active(), 1);
        p.steps(t0 + Duration::from_millis(500));
        assert_eq!(p.active(), 2);
        p.steps(t0 + Duration::from_millis(1500));
        assert_eq!(p.active(), 4);
        assert_eq!(p.next_deadline().map(|d| d >= t0), Some(true));
        let t1 = t0 + Duration::from_secs(5);
        p.set_target(1, t1);
        assert_eq!(p.active(), 3);
        p.steps(t1 + Duration::from_secs(1));
        assert_eq!(p.active(), 1);
        assert_eq!(p.peak(), 4);
    }

    #[test]
    fn retired_users_are_not_rescheduled_and_parked_users_wake() {
        let t0 = Instant::now();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut p = pop(None);
        p.set_target(2, t0);
        let a = p.pop_due(t0).unwrap();
        let b = p.pop_due(t0).unwrap();
        p.sent(a, t0, 1);
        assert!(p.busy_from(1) && !p.busy_from(2));
        p.park(b);
        p.set_target(1, t0);
        // User 1 (parked) is gone; user 0's reply reschedules it.
        assert!(p
            .replied(0, a.generation, t0, Duration::ZERO, &mut rng)
            .is_some());
        p.set_target(2, t0);
        p.unpark_all(t0);
        let due: Vec<u32> = std::iter::from_fn(|| p.pop_due(t0 + Duration::from_secs(3)))
            .map(|d| d.user)
            .collect();
        assert_eq!(due, [1, 0]);
        // A reply of the old generation of user 1 is ignored.
        assert!(p
            .replied(1, b.generation, t0, Duration::ZERO, &mut rng)
            .is_none());
    }
}

//! Key bindings as data: every [`Action`] has a name (used in the config file),
//! a description (shown in the help overlay) and default keys. The config can
//! rebind any action; a key bound to two actions is an error naming both.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::KeyList;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Spike,
    Stress,
    Soak,
    Users,
    Sweep,
    ToggleCpu,
    ToggleMemory,
    ToggleGpu,
    StopAll,
    WindowGrow,
    WindowShrink,
    RateDown,
    RateUp,
    UsersMore,
    UsersFewer,
    NextTheme,
    Freeze,
    Zoom,
    FocusNext,
    FocusPrev,
    Record,
    Help,
    Quit,
    LatencyScope,
    ReplayPause,
    SeekBack,
    SeekForward,
    Slower,
    Faster,
}

impl Action {
    pub const ALL: [Action; 29] = [
        Action::Spike,
        Action::Stress,
        Action::Soak,
        Action::Users,
        Action::Sweep,
        Action::ToggleCpu,
        Action::ToggleMemory,
        Action::ToggleGpu,
        Action::StopAll,
        Action::WindowGrow,
        Action::WindowShrink,
        Action::RateDown,
        Action::RateUp,
        Action::UsersMore,
        Action::UsersFewer,
        Action::NextTheme,
        Action::Freeze,
        Action::Zoom,
        Action::FocusNext,
        Action::FocusPrev,
        Action::Record,
        Action::Help,
        Action::Quit,
        Action::LatencyScope,
        Action::ReplayPause,
        Action::SeekBack,
        Action::SeekForward,
        Action::Slower,
        Action::Faster,
    ];

    /// Name used in `[bindings]` of the config file.
    pub fn name(self) -> &'static str {
        match self {
            Action::Spike => "spike",
            Action::Stress => "stress",
            Action::Soak => "soak",
            Action::Users => "users",
            Action::Sweep => "sweep",
            Action::ToggleCpu => "cpu-burn",
            Action::ToggleMemory => "memory-pressure",
            Action::ToggleGpu => "gpu-load",
            Action::StopAll => "stop-all",
            Action::WindowGrow => "window-grow",
            Action::WindowShrink => "window-shrink",
            Action::RateDown => "rate-down",
            Action::RateUp => "rate-up",
            Action::UsersMore => "users-more",
            Action::UsersFewer => "users-fewer",
            Action::NextTheme => "next-theme",
            Action::Freeze => "freeze",
            Action::Zoom => "zoom",
            Action::FocusNext => "focus-next",
            Action::FocusPrev => "focus-prev",
            Action::Record => "record",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::LatencyScope => "latency-scope",
            Action::ReplayPause => "replay-pause",
            Action::SeekBack => "seek-back",
            Action::SeekForward => "seek-forward",
            Action::Slower => "slower",
            Action::Faster => "faster",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Action::Spike => "start the spike phase",
            Action::Stress => "start the stress (breakpoint) phase",
            Action::Soak => "start the soak phase",
            Action::Users => "start the users phase (closed model, think time)",
            Action::Sweep => {
                "start a capacity sweep (one at a time, as fast as it goes, rates between)"
            }
            Action::ToggleCpu => "CPU burn on/off",
            Action::ToggleMemory => "memory pressure on/off",
            Action::ToggleGpu => "GPU load on/off",
            Action::StopAll => "stop all load",
            Action::WindowGrow => "longer chart window",
            Action::WindowShrink => "shorter chart window",
            Action::RateDown => "rate ×0.8 for the running phase",
            Action::RateUp => "rate ×1.25 for the running phase",
            Action::UsersMore => "users ×2 for the running users phase",
            Action::UsersFewer => "users ÷2 for the running users phase",
            Action::NextTheme => "next theme",
            Action::Freeze => "freeze the screen (data keeps coming)",
            Action::Zoom => "zoom the focused pane",
            Action::FocusNext => "focus the next pane",
            Action::FocusPrev => "focus the previous pane",
            Action::Record => "recording on/off",
            Action::Help => "this help",
            Action::Quit => "quit (stops load first)",
            Action::LatencyScope => "latency table: last 10 s / stage / whole phase",
            Action::ReplayPause => "replay: pause / resume",
            Action::SeekBack => "replay: back 30 s",
            Action::SeekForward => "replay: forward 30 s",
            Action::Slower => "replay: half speed",
            Action::Faster => "replay: double speed",
        }
    }

    fn defaults(self) -> &'static [&'static str] {
        match self {
            Action::Spike => &["1"],
            Action::Stress => &["2"],
            Action::Soak => &["3"],
            Action::Users => &["4"],
            Action::Sweep => &["5"],
            Action::ToggleCpu => &["c"],
            Action::ToggleMemory => &["m"],
            Action::ToggleGpu => &["g"],
            Action::StopAll => &["x"],
            Action::WindowGrow => &["+"],
            Action::WindowShrink => &["-"],
            Action::RateDown => &["["],
            Action::RateUp => &["]"],
            Action::UsersMore => &["u"],
            Action::UsersFewer => &["U"],
            Action::NextTheme => &["t"],
            Action::Freeze => &["f"],
            Action::Zoom => &["z", "enter"],
            Action::FocusNext => &["tab"],
            Action::FocusPrev => &["shift-tab"],
            Action::Record => &["r"],
            Action::Help => &["?"],
            Action::Quit => &["q", "ctrl-c"],
            Action::LatencyScope => &["w"],
            Action::ReplayPause => &["space"],
            Action::SeekBack => &["left"],
            Action::SeekForward => &["right"],
            Action::Slower => &["<"],
            Action::Faster => &[">"],
        }
    }

    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// Why a key, or the config's `[bindings]` table, is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A blank key.
    #[error("empty key")]
    Empty,
    /// A function key outside F1–F24 (the text as written).
    #[error("bad key '{0}'")]
    BadKey(String),
    /// Text that names no key (as written).
    #[error("unknown key '{0}'")]
    UnknownKey(String),
    /// `[bindings]` names an action that does not exist.
    #[error("[bindings]: unknown action '{name}' (actions: {})", action_names())]
    UnknownAction { name: String },
    /// One of `action`'s keys in `[bindings]` does not parse.
    #[error("[bindings] {action}: {error}")]
    BadBinding {
        action: &'static str,
        error: Box<KeyError>,
    },
    /// One key bound to two actions.
    #[error(
        "[bindings]: key '{}' is bound to both '{first}' and '{second}'",
        key.label()
    )]
    Conflict {
        key: Chord,
        first: &'static str,
        second: &'static str,
    },
}

fn action_names() -> String {
    let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    names.join(", ")
}

/// A key with modifiers, comparable with crossterm events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chord {
    pub code: ChordCode,
    pub ctrl: bool,
    pub alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChordCode {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Space,
}

impl Chord {
    /// Parse `q`, `ctrl-c`, `alt-x`, `shift-tab`, `enter`, `f5`, `space`, `+`, `-`.
    pub fn parse(s: &str) -> Result<Chord, KeyError> {
        let raw = s.trim();
        if raw.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = raw;
        // A single `-` or `+` is a key, not a separator.
        while rest.len() > 1 {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-") {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-") {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "return" => ChordCode::Enter,
            "esc" | "escape" => ChordCode::Esc,
            "tab" if shift => ChordCode::BackTab,
            "tab" => ChordCode::Tab,
            "backtab" => ChordCode::BackTab,
            "up" => ChordCode::Up,
            "down" => ChordCode::Down,
            "left" => ChordCode::Left,
            "right" => ChordCode::Right,
            "pageup" => ChordCode::PageUp,
            "pagedown" => ChordCode::PageDown,
            "home" => ChordCode::Home,
            "end" => ChordCode::End,
            "space" => ChordCode::Space,
            f if f.len() >= 2
                && f.starts_with('f')
                && f[1..].chars().all(|c| c.is_ascii_digit()) =>
            {
                let n: u8 = f[1..]
                    .parse()
                    .map_err(|_| KeyError::BadKey(raw.to_string()))?;
                if !(1..=24).contains(&n) {
                    return Err(KeyError::BadKey(raw.to_string()));
                }
                ChordCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        let c = if shift { c.to_ascii_uppercase() } else { c };
                        ChordCode::Char(if ctrl || alt {
                            c.to_ascii_lowercase()
                        } else {
                            c
                        })
                    }
                    _ => return Err(KeyError::UnknownKey(raw.to_string())),
                }
            }
        };
        Ok(Chord { code, ctrl, alt })
    }

    /// The chord a crossterm key event represents (`None` for keys we never bind).
    pub fn from_event(ev: &KeyEvent) -> Option<Chord> {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::Char(' ') => ChordCode::Space,
            KeyCode::Char(c) => ChordCode::Char(if ctrl || alt {
                c.to_ascii_lowercase()
            } else {
                c
            }),
            KeyCode::F(n) => ChordCode::F(n),
            KeyCode::Enter => ChordCode::Enter,
            KeyCode::Esc => ChordCode::Esc,
            KeyCode::Tab => ChordCode::Tab,
            KeyCode::BackTab => ChordCode::BackTab,
            KeyCode::Up => ChordCode::Up,
            KeyCode::Down => ChordCode::Down,
            KeyCode::Left => ChordCode::Left,
            KeyCode::Right => ChordCode::Right,
            KeyCode::PageUp => ChordCode::PageUp,
            KeyCode::PageDown => ChordCode::PageDown,
            KeyCode::Home => ChordCode::Home,
            KeyCode::End => ChordCode::End,
            _ => return None,
        };
        Some(Chord { code, ctrl, alt })
    }

    /// Display form for the help overlay.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.ctrl {
            s.push_str("Ctrl-");
        }
        if self.alt {
            s.push_str("Alt-");
        }
        match self.code {
            ChordCode::Char(c) => s.push(c),
            ChordCode::F(n) => s.push_str(&format!("F{n}")),
            ChordCode::Enter => s.push_str("Enter"),
            ChordCode::Esc => s.push_str("Esc"),
            ChordCode::Tab => s.push_str("Tab"),
            ChordCode::BackTab => s.push_str("Shift-Tab"),
            ChordCode::Up => s.push('↑'),
            ChordCode::Down => s.push('↓'),
            ChordCode::Left => s.push('←'),
            ChordCode::Right => s.push('→'),
            ChordCode::PageUp => s.push_str("PgUp"),
            ChordCode::PageDown => s.push_str("PgDn"),
            ChordCode::Home => s.push_str("Home"),
            ChordCode::End => s.push_str("End"),
            ChordCode::Space => s.push_str("Space"),
        }
        s
    }
}

/// The live bindings.
#[derive(Debug, Clone)]
pub struct KeyMap {
    bindings: BTreeMap<Chord, Action>,
    /// Bindings in the order they were given (first key = the one shown in hints).
    order: Vec<(Chord, Action)>,
}

impl KeyMap {
    pub fn defaults() -> KeyMap {
        Self::with_overrides(&BTreeMap::new()).expect("default bindings are consistent")
    }

    /// Defaults with the config's `[bindings]` replacing the keys of the actions it names.
    pub fn with_overrides(overrides: &BTreeMap<String, KeyList>) -> Result<KeyMap, KeyError> {
        for name in overrides.keys() {
            if Action::from_name(name).is_none() {
                return Err(KeyError::UnknownAction { name: name.clone() });
            }
        }
        let mut bindings: BTreeMap<Chord, Action> = BTreeMap::new();
        let mut order = Vec::new();
        for action in Action::ALL {
            let keys: Vec<String> = match overrides.get(action.name()) {
                Some(list) => list.keys().into_iter().map(str::to_string).collect(),
                None => action.defaults().iter().map(ToString::to_string).collect(),
            };
            for k in keys {
                let chord = Chord::parse(&k).map_err(|e| KeyError::BadBinding {
                    action: action.name(),
                    error: Box::new(e),
                })?;
                order.push((chord, action));
                if let Some(other) = bindings.insert(chord, action) {
                    return Err(KeyError::Conflict {
                        key: chord,
                        first: other.name(),
                        second: action.name(),
                    });
                }
            }
        }
        Ok(KeyMap { bindings, order })
    }

    pub fn action(&self, ev: &KeyEvent) -> Option<Action> {
        // Shift is carried by the character itself ('+', '?', 'Q'), so it is
        // not part of a chord except for Tab.
        let chord = Chord::from_event(ev)?;
        self.bindings.get(&chord).copied()
    }

    /// Keys of one action, for the help overlay and the footer.
    pub fn keys_for(&self, action: Action) -> Vec<String> {
        self.order
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(c, _)| c.label())
            .collect()
    }

    /// `(keys, action)` rows in action order: the help overlay's content.
    pub fn help_rows(&self) -> Vec<(String, Action)> {
        Action::ALL
            .iter()
            .map(|a| (self.keys_for(*a).join(" / "), *a))
            .filter(|(k, _)| !k.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn defaults_map_events_to_actions() {
        let k = KeyMap::defaults();
        assert_eq!(
            k.action(&key(KeyCode::Char('1'), KeyModifiers::NONE)),
            Some(Action::Spike)
        );
        assert_eq!(
            k.action(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            k.action(&key(KeyCode::Char('c'), KeyModifiers::NONE)),
            Some(Action::ToggleCpu)
        );
        assert_eq!(
            k.action(&key(KeyCode::Char('+'), KeyModifiers::SHIFT)),
            Some(Action::WindowGrow)
        );
        assert_eq!(
            k.action(&key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::FocusPrev)
        );
        assert_eq!(
            k.action(&key(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Action::Zoom)
        );
        assert_eq!(
            k.action(&key(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
            None
        );
    }

    #[test]
    fn overrides_replace_and_duplicates_are_rejected() {
        let mut o = BTreeMap::new();
        o.insert("spike".to_string(), KeyList::One("F1".into()));
        let k = KeyMap::with_overrides(&o).unwrap();
        assert_eq!(
            k.action(&key(KeyCode::F(1), KeyModifiers::NONE)),
            Some(Action::Spike)
        );
        assert_eq!(k.action(&key(KeyCode::Char('1'), KeyModifiers::NONE)), None);

        let mut dup = BTreeMap::new();
        dup.insert("freeze".to_string(), KeyList::One("x".into()));
        let e = KeyMap::with_overrides(&dup).unwrap_err().to_string();
        assert!(
            e.contains("'x'") && e.contains("stop-all") && e.contains("freeze"),
            "{e}"
        );

        let mut bad = BTreeMap::new();
        bad.insert("explode".to_string(), KeyList::One("e".into()));
        assert!(KeyMap::with_overrides(&bad)
            .unwrap_err()
            .to_string()
            .contains("unknown action 'explode'"));
        let mut badkey = BTreeMap::new();
        badkey.insert("quit".to_string(), KeyList::Many(vec!["ctrl-".into()]));
        assert!(KeyMap::with_overrides(&badkey).is_err());
    }

    #[test]
    fn chords_parse() {
        assert_eq!(Chord::parse("ctrl-c").unwrap().label(), "Ctrl-c");
        assert_eq!(Chord::parse("-").unwrap().label(), "-");
        assert_eq!(Chord::parse("shift-tab").unwrap().label(), "Shift-Tab");
        assert_eq!(Chord::parse("F12").unwrap().label(), "F12");
        assert!(Chord::parse("f99").is_err());
        assert!(Chord::parse("hyper-x").is_err());
    }

    #[test]
    fn key_errors_read_as_before() {
        let text = |s: &str| Chord::parse(s).unwrap_err().to_string();
        assert_eq!(text("  "), "empty key");
        assert_eq!(text("f99"), "bad key 'f99'");
        assert_eq!(text("hyper-x"), "unknown key 'hyper-x'");
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), KeyList::One("ctrl-".into()));
        assert_eq!(
            KeyMap::with_overrides(&o).unwrap_err().to_string(),
            "[bindings] quit: unknown key 'ctrl-'"
        );
        let mut o = BTreeMap::new();
        o.insert("explode".to_string(), KeyList::One("e".into()));
        let e = KeyMap::with_overrides(&o).unwrap_err().to_string();
        assert!(
            e.starts_with("[bindings]: unknown action 'explode' (actions: spike, stress, "),
            "{e}"
        );
        let mut o = BTreeMap::new();
        o.insert("freeze".to_string(), KeyList::One("x".into()));
        assert_eq!(
            KeyMap::with_overrides(&o).unwrap_err().to_string(),
            "[bindings]: key 'x' is bound to both 'stop-all' and 'freeze'"
        );
    }

    #[test]
    fn help_rows_follow_live_bindings() {
        let mut o = BTreeMap::new();
        o.insert(
            "help".to_string(),
            KeyList::Many(vec!["h".into(), "f1".into()]),
        );
        let rows = KeyMap::with_overrides(&o).unwrap().help_rows();
        let help = rows.iter().find(|(_, a)| *a == Action::Help).unwrap();
        assert!(help.0.contains('h') && help.0.contains("F1"), "{}", help.0);
        assert_eq!(rows.len(), Action::ALL.len());
    }
}

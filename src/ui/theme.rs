//! Themes: named colour slots loaded from `themes/*.toml` (built in) and the
//! user's theme directory. A theme overrides the slots it names; the rest come
//! from `default`. Every slot resolves three ways: truecolor, a 256-colour
//! fallback (explicit, or the nearest xterm colour), and monochrome (`NO_COLOR`),
//! where emphasis is carried by bold/reverse/dim instead of colour.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::config::ConfigError;

/// Why a colour or a theme file is rejected. Theme messages name the file
/// (`origin`) and, where there is one, the slot.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// `#` not followed by six hex digits (the text as written).
    #[error("'{0}' is not #rrggbb")]
    NotHex(String),
    /// A colour name that is not known (as written).
    #[error("unknown colour '{0}' (use a name, #rrggbb or 0-255)")]
    UnknownColour(String),
    /// The file is not valid TOML or does not fit the theme schema.
    #[error(transparent)]
    Toml(ConfigError),
    /// `[slots]` names a slot that does not exist.
    #[error("{origin}: unknown slot '{slot}' (slots: {})", slot_names())]
    UnknownSlot { origin: String, slot: String },
    /// A slot's colour does not parse.
    #[error("{origin}: slot {slot}: {error}")]
    BadSlot {
        origin: String,
        slot: String,
        error: Box<ThemeError>,
    },
    /// A slot coloured neither by this file nor by its base.
    #[error("{origin}: slot '{slot}' has no colour")]
    MissingSlot { origin: String, slot: &'static str },
    /// A `zone_palette` entry does not parse.
    #[error("{origin}: zone_palette: {error}")]
    BadZoneColour {
        origin: String,
        error: Box<ThemeError>,
    },
    /// No zone colours, here or in the base.
    #[error("{origin}: zone_palette is empty")]
    EmptyZonePalette { origin: String },
    /// A user theme file could not be read.
    #[error("{}: {err}", path.display())]
    Read { path: PathBuf, err: io::Error },
}

fn slot_names() -> String {
    let names: Vec<&str> = Slot::ALL.iter().map(|s| s.name()).collect();
    names.join(", ")
}

/// The colour slots every pane draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    Background,
    Text,
    Dim,
    Border,
    BorderFocus,
    Title,
    Accent,
    Ok,
    Warn,
    Alert,
    Axis,
    TripLine,
    FloorLine,
    MemUsed,
    MemAvailable,
    Swap,
    Rss,
    Bar,
    BarCapped,
    HeaderBg,
    HeaderText,
}

impl Slot {
    pub const ALL: [Slot; 21] = [
        Slot::Background,
        Slot::Text,
        Slot::Dim,
        Slot::Border,
        Slot::BorderFocus,
        Slot::Title,
        Slot::Accent,
        Slot::Ok,
        Slot::Warn,
        Slot::Alert,
        Slot::Axis,
        Slot::TripLine,
        Slot::FloorLine,
        Slot::MemUsed,
        Slot::MemAvailable,
        Slot::Swap,
        Slot::Rss,
        Slot::Bar,
        Slot::BarCapped,
        Slot::HeaderBg,
        Slot::HeaderText,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Slot::Background => "background",
            Slot::Text => "text",
            Slot::Dim => "dim",
            Slot::Border => "border",
            Slot::BorderFocus => "border_focus",
            Slot::Title => "title",
            Slot::Accent => "accent",
            Slot::Ok => "ok",
            Slot::Warn => "warn",
            Slot::Alert => "alert",
            Slot::Axis => "axis",
            Slot::TripLine => "trip_line",
            Slot::FloorLine => "floor_line",
            Slot::MemUsed => "mem_used",
            Slot::MemAvailable => "mem_available",
            Slot::Swap => "swap",
            Slot::Rss => "rss",
            Slot::Bar => "bar",
            Slot::BarCapped => "bar_capped",
            Slot::HeaderBg => "header_bg",
            Slot::HeaderText => "header_text",
        }
    }

    fn from_name(s: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|x| x.name() == s)
    }

    /// How a slot is emphasised without colour.
    fn mono_modifier(self) -> Modifier {
        match self {
            Slot::Alert => Modifier::BOLD | Modifier::REVERSED,
            Slot::Warn | Slot::Title | Slot::BorderFocus | Slot::HeaderText => Modifier::BOLD,
            Slot::Dim | Slot::Axis => Modifier::DIM,
            _ => Modifier::empty(),
        }
    }
}

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    TrueColor,
    Indexed256,
    Mono,
}

/// What the operator asked for with `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Colour unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Colour even when `NO_COLOR` is set.
    Always,
    /// Monochrome, as with `NO_COLOR`.
    Never,
}

impl ColorMode {
    /// [`Self::from_env`] on this process's environment.
    pub fn detect(choice: ColorChoice) -> ColorMode {
        Self::from_env(
            choice,
            std::env::var("NO_COLOR").ok().as_deref(),
            std::env::var("COLORTERM").ok().as_deref(),
        )
    }

    /// `--color never`, or with `auto` a non-empty `NO_COLOR`, gives
    /// monochrome; otherwise `COLORTERM=truecolor|24bit` gives truecolor, and
    /// anything else 256 colours (OpenSSH does not forward COLORTERM).
    pub fn from_env(
        choice: ColorChoice,
        no_color: Option<&str>,
        colorterm: Option<&str>,
    ) -> ColorMode {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        match (choice, no_color) {
            (ColorChoice::Never, _) | (ColorChoice::Auto, true) => return ColorMode::Mono,
            (ColorChoice::Always, _) | (ColorChoice::Auto, false) => {}
        }
        match colorterm {
            Some("truecolor" | "24bit") => ColorMode::TrueColor,
            _ => ColorMode::Indexed256,
        }
    }
}

/// One slot's colour: the preferred colour and its 256-colour fallback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotColor {
    pub color: Color,
    pub fallback: u8,
}

/// A slot value as written in TOML: `"#88c0d0"`, `"red"`, `110`, or
/// `{ color = "#88c0d0", fallback = 110 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawColor {
    Text(String),
    Index(u8),
    Full {
        color: ColorValue,
        fallback: Option<u8>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ColorValue {
    Text(String),
    Index(u8),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    description: Option<String>,
    /// Presentation themes draw the key numbers in large digits.
    #[serde(default)]
    big_digits: bool,
    #[serde(default)]
    slots: BTreeMap<String, RawColor>,
    #[serde(default)]
    zone_palette: Vec<RawColor>,
}

/// Parse a colour name, `#rrggbb` or an index.
pub fn parse_color(s: &str) -> Result<Color, ThemeError> {
    let t = s.trim();
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            // Six hex digits always fit a u32.
            if let Ok(v) = u32::from_str_radix(hex, 16) {
                return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
            }
        }
        return Err(ThemeError::NotHex(s.to_string()));
    }
    if let Ok(i) = t.parse::<u8>() {
        return Ok(Color::Indexed(i));
    }
    let c = match t.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        "reset" | "default" => Color::Reset,
        _ => return Err(ThemeError::UnknownColour(s.to_string())),
    };
    Ok(c)
}

/// The xterm-256 index closest to an RGB colour (6×6×6 cube or grey ramp).
pub fn nearest_256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let idx = |v: u8| -> usize {
        LEVELS
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| (i32::from(v) - i32::from(**l)).abs())
            .map_or(0, |(i, _)| i)
    };
    let (ri, gi, bi) = (idx(r), idx(g), idx(b));
    let cube = 16 + 36 * ri + 6 * gi + bi;
    let cube_rgb = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let avg = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let grey_i = if avg < 8 { 0 } else { ((avg - 8) / 10).min(23) };
    let grey_v = (8 + grey_i * 10) as u8;
    let dist = |(a, b2, c): (u8, u8, u8)| {
        let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
        d(a, r) + d(b2, g) + d(c, b)
    };
    if dist((grey_v, grey_v, grey_v)) < dist(cube_rgb) {
        232 + grey_i as u8
    } else {
        cube as u8
    }
}

/// The 256-colour index a colour falls back to.
pub fn fallback_for(c: Color) -> u8 {
    match c {
        Color::Rgb(r, g, b) => nearest_256(r, g, b),
        Color::Indexed(i) => i,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Reset => 0,
    }
}

fn resolve(raw: &RawColor) -> Result<SlotColor, ThemeError> {
    let (color, fallback) = match raw {
        RawColor::Text(s) => (parse_color(s)?, None),
        RawColor::Index(i) => (Color::Indexed(*i), Some(*i)),
        RawColor::Full { color, fallback } => (
            match color {
                ColorValue::Text(s) => parse_color(s)?,
                ColorValue::Index(i) => Color::Indexed(*i),
            },
            *fallback,
        ),
    };
    Ok(SlotColor {
        color,
        fallback: fallback.unwrap_or_else(|| fallback_for(color)),
    })
}

/// A fully resolved theme.
#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    pub description: String,
    pub big_digits: bool,
    slots: BTreeMap<Slot, SlotColor>,
    zones: Vec<SlotColor>,
    pub mode: ColorMode,
}

/// Themes shipped in the binary (also in `themes/`), default first.
pub const BUILT_IN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    (
        "presentation",
        include_str!("../../themes/presentation.toml"),
    ),
];

impl Theme {
    /// Parse a theme file over a base theme (`None` = must name every slot).
    pub fn parse(
        origin: &str,
        text: &str,
        base: Option<&Theme>,
        mode: ColorMode,
    ) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text)
            .map_err(|e| ThemeError::Toml(ConfigError::from_toml(Path::new(origin), text, &e)))?;
        let mut slots = base.map(|b| b.slots.clone()).unwrap_or_default();
        for (k, v) in &file.slots {
            let slot = Slot::from_name(k).ok_or_else(|| ThemeError::UnknownSlot {
                origin: origin.to_string(),
                slot: k.clone(),
            })?;
            slots.insert(
                slot,
                resolve(v).map_err(|e| ThemeError::BadSlot {
                    origin: origin.to_string(),
                    slot: k.clone(),
                    error: Box::new(e),
                })?,
            );
        }
        if let Some(missing) = Slot::ALL.iter().find(|s| !slots.contains_key(s)) {
            return Err(ThemeError::MissingSlot {
                origin: origin.to_string(),
                slot: missing.name(),
            });
        }
        let zones = if file.zone_palette.is_empty() {
            base.map(|b| b.zones.clone()).unwrap_or_default()
        } else {
            file.zone_palette
                .iter()
                .map(|r| {
                    resolve(r).map_err(|e| ThemeError::BadZoneColour {
                        origin: origin.to_string(),
                        error: Box::new(e),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        if zones.is_empty() {
            return Err(ThemeError::EmptyZonePalette {
                origin: origin.to_string(),
            });
        }
        Ok(Theme {
            name: file.name.unwrap_or_else(|| origin.to_string()),
            description: file.description.unwrap_or_default(),
            big_digits: file.big_digits,
            slots,
            zones,
            mode,
        })
    }

    /// The built-in themes, then `*.toml` in `user_dir` (a user theme with a
    /// built-in's name replaces it). Errors name the file.
    pub fn load_all(user_dir: Option<&Path>, mode: ColorMode) -> Result<Vec<Theme>, ThemeError> {
        let default = Theme::parse("themes/default.toml", BUILT_IN[0].1, None, mode)?;
        let mut out = vec![default.clone()];
        for (name, text) in &BUILT_IN[1..] {
            out.push(Theme::parse(
                &format!("themes/{name}.toml"),
                text,
                Some(&default),
                mode,
            )?);
        }
        if let Some(dir) = user_dir {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            files.sort();
            for p in files
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            {
                let text = std::fs::read_to_string(&p).map_err(|err| ThemeError::Read {
                    path: p.clone(),
                    err,
                })?;
                let t = Theme::parse(&p.display().to_string(), &text, Some(&default), mode)?;
                match out.iter_mut().find(|x| x.name == t.name) {
                    Some(slot) => *slot = t,
                    None => out.push(t),
                }
            }
        }
        Ok(out)
    }

    fn pick(&self, c: SlotColor) -> Color {
        match self.mode {
            ColorMode::TrueColor => c.color,
            ColorMode::Indexed256 => match c.color {
                Color::Rgb(..) => Color::Indexed(c.fallback),
                other => other,
            },
            ColorMode::Mono => Color::Reset,
        }
    }

    /// The colour of a slot for this terminal.
    pub fn color(&self, slot: Slot) -> Color {
        self.pick(self.slots[&slot])
    }

    /// The raw slot definition (for tests and `--list-themes`).
    pub fn slot(&self, slot: Slot) -> SlotColor {
        self.slots[&slot]
    }

    /// Foreground style of a slot (with monochrome emphasis when colourless).
    pub fn fg(&self, slot: Slot) -> Style {
        match self.mode {
            ColorMode::Mono => Style::default().add_modifier(slot.mono_modifier()),
            _ => Style::default().fg(self.color(slot)),
        }
    }

    /// Base style: text on background.
    pub fn base(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::default(),
            _ => Style::default()
                .fg(self.color(Slot::Text))
                .bg(self.color(Slot::Background)),
        }
    }

    /// The colour of the `i`-th zone line (palette repeats).
    pub fn zone(&self, i: usize) -> Color {
        self.pick(self.zones[i % self.zones.len()])
    }

    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_load_with_every_slot_and_a_256_fallback() {
        let themes = Theme::load_all(None, ColorMode::TrueColor).unwrap();
        let names: Vec<&str> = themes.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["default", "light", "high-contrast", "presentation"]);
        for t in &themes {
            for s in Slot::ALL {
                let c = t.slot(s);
                // A 256-colour terminal shows an indexed colour, never RGB.
                let t256 = Theme {
                    mode: ColorMode::Indexed256,
                    ..t.clone()
                };
                assert!(
                    !matches!(t256.color(s), Color::Rgb(..)),
                    "{} {}",
                    t.name,
                    s.name()
                );
                if let Color::Rgb(r, g, b) = c.color {
                    assert!(
                        c.fallback >= 16,
                        "{}: {} fallback {}",
                        t.name,
                        s.name(),
                        c.fallback
                    );
                    let _ = (r, g, b);
                }
            }
        }
        assert!(
            themes.iter().any(|t| t.big_digits),
            "presentation uses big digits"
        );
    }

    #[test]
    fn nearest_256_matches_exact_cube_and_grey_points() {
        assert_eq!(nearest_256(0, 0, 0), 16);
        assert_eq!(nearest_256(255, 255, 255), 231);
        assert_eq!(nearest_256(255, 0, 0), 196);
        assert_eq!(nearest_256(128, 128, 128), 244);
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("#ff8000").unwrap(), Color::Rgb(255, 128, 0));
        assert_eq!(parse_color("light-red").unwrap(), Color::LightRed);
        assert_eq!(parse_color("42").unwrap(), Color::Indexed(42));
        assert!(parse_color("#12").is_err());
        assert!(parse_color("chartreuse-ish").is_err());
    }

    #[test]
    fn bad_theme_files_name_the_file_and_slot() {
        let base = Theme::load_all(None, ColorMode::TrueColor)
            .unwrap()
            .remove(0);
        let e = Theme::parse(
            "my.toml",
            "[slots]\ntxet = \"red\"\n",
            Some(&base),
            ColorMode::TrueColor,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("my.toml") && e.contains("txet"), "{e}");
        let e = Theme::parse(
            "my.toml",
            "[slots]\ntext = \"#zzzzzz\"\n",
            Some(&base),
            ColorMode::TrueColor,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("slot text"), "{e}");
        let e = Theme::parse("my.toml", "name = 3\n", Some(&base), ColorMode::TrueColor)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("my.toml:1:"), "{e}");
        let e = Theme::parse(
            "my.toml",
            "[slots]\ntext = \"red\"\n",
            None,
            ColorMode::TrueColor,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("has no colour"), "{e}");
    }

    #[test]
    fn theme_errors_read_as_before() {
        let base = Theme::load_all(None, ColorMode::TrueColor)
            .unwrap()
            .remove(0);
        let e = |text: &str| {
            Theme::parse("my.toml", text, Some(&base), ColorMode::TrueColor)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("[slots]\ntext = \"#12\"\n"),
            "my.toml: slot text: '#12' is not #rrggbb"
        );
        assert_eq!(
            e("zone_palette = [\"mauve\"]\n"),
            "my.toml: zone_palette: unknown colour 'mauve' (use a name, #rrggbb or 0-255)"
        );
        assert!(e("[slots]\ntxet = 1\n")
            .starts_with("my.toml: unknown slot 'txet' (slots: background, text, "));
        let e = Theme::parse("my.toml", "[slots]\n", None, ColorMode::TrueColor)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "my.toml: slot 'background' has no colour");
    }

    #[test]
    fn no_color_is_monochrome_with_emphasis() {
        let auto = ColorChoice::Auto;
        assert_eq!(
            ColorMode::from_env(auto, Some("1"), Some("truecolor")),
            ColorMode::Mono
        );
        assert_eq!(
            ColorMode::from_env(auto, Some(""), Some("truecolor")),
            ColorMode::TrueColor
        );
        assert_eq!(ColorMode::from_env(auto, None, None), ColorMode::Indexed256);
        let t = Theme::load_all(None, ColorMode::Mono).unwrap().remove(0);
        assert_eq!(t.color(Slot::Alert), Color::Reset);
        assert!(t.fg(Slot::Alert).add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn color_flag_beats_no_color_both_ways() {
        use ColorChoice::{Always, Never};
        // `always` keeps colour under NO_COLOR, at the depth COLORTERM allows.
        assert_eq!(
            ColorMode::from_env(Always, Some("1"), Some("truecolor")),
            ColorMode::TrueColor
        );
        assert_eq!(
            ColorMode::from_env(Always, Some("1"), None),
            ColorMode::Indexed256
        );
        // `never` is monochrome without NO_COLOR.
        assert_eq!(
            ColorMode::from_env(Never, None, Some("truecolor")),
            ColorMode::Mono
        );
    }
}

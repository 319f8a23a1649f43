//! `jetstress man`: one roff man page, generated from the clap definitions,
//! on stdout: the dashboard's and global options, then every subcommand
//! with its synopsis and options (`man jetstress` shows it all in one place).

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;

use crate::cli::Cli;

pub fn run() -> anyhow::Result<ExitCode> {
    let page = page()?;
    let mut out = std::io::stdout().lock();
    out.write_all(page.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The whole page.
pub fn page() -> std::io::Result<String> {
    let cmd = Cli::command();
    let man = Man::new(cmd.clone())
        .date(env!("JETSTRESS_BUILD_DATE"))
        .manual("jetstress manual");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let mut heading = Roff::new();
    heading.control("SH", ["COMMANDS"]);
    heading.to_writer(&mut page)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("jetstress {}", sub.get_name());
        let sub_man = Man::new(sub.clone().bin_name(&name));
        let mut head = Roff::new();
        head.control("SS", [name.as_str()]);
        if let Some(about) = sub.get_about() {
            head.text([roman(about.to_string())]);
        }
        head.to_writer(&mut page)?;
        let mut body = Vec::new();
        sub_man.render_synopsis_section(&mut body)?;
        sub_man.render_options_section(&mut body)?;
        page.extend(demote_headings(&String::from_utf8_lossy(&body)).into_bytes());
    }
    man.render_version_section(&mut page)?;
    let page = String::from_utf8_lossy(&page);
    Ok(ascii_only(&once_preamble(&page)))
}

/// A subcommand's own `.SH SYNOPSIS` / `.SH OPTIONS` (and option headings)
/// become paragraph titles (`Options`) under its `.SS`.
fn demote_headings(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for l in roff.lines() {
        if let Some(title) = l.strip_prefix(".SH ") {
            let title = title.trim_matches('"').to_lowercase();
            let (first, rest) = title.split_at(title.chars().next().map_or(0, char::len_utf8));
            out.push_str(&format!(
                ".PP\n\\fI{}{rest}\\fR\n.br\n",
                first.to_uppercase()
            ));
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Each rendered piece starts with roff's `Aq` string definition: one is
/// enough, after `.TH`, so the page starts with its title line.
fn once_preamble(roff: &str) -> String {
    const PREAMBLE: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];
    let mut out = String::with_capacity(roff.len());
    for l in roff.lines().filter(|l| !PREAMBLE.contains(l)) {
        out.push_str(l);
        out.push('\n');
        if l.starts_with(".TH ") {
            for p in PREAMBLE {
                out.push_str(p);
                out.push('\n');
            }
        }
    }
    out
}

/// Help texts say `°C`, `…` and `×`: as `\[u00B0]` escapes the page reads the
/// same under any locale (groff without preconv warns on raw UTF-8).
fn ascii_only(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{ascii_only, demote_headings, once_preamble};

    #[test]
    fn subcommand_headings_become_paragraph_titles() {
        assert_eq!(
            demote_headings(".SH OPTIONS\n.TP\n.SH \"USERS PHASES (CLOSED MODEL)\"\n"),
            ".PP\n\\fIOptions\\fR\n.br\n.TP\n.PP\n\\fIUsers phases (closed model)\\fR\n.br\n"
        );
    }

    #[test]
    fn the_page_is_ascii_with_one_preamble() {
        let page = super::page().unwrap();
        assert!(page.is_ascii());
        assert!(page.starts_with(".TH jetstress 1 "), "{page}");
        assert_eq!(page.matches(".ds Aq").count(), 2, "one .ie/.el pair");
        assert_eq!(ascii_only("25 \u{b0}C \u{2026}"), "25 \\[u00B0]C \\[u2026]");
        assert_eq!(once_preamble("a\na\n"), "a\na\n");
    }
}

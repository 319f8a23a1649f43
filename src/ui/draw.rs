//! Frame layout: header, the campaign bar (when a campaign drives the
//! dashboard), the panes (or one zoomed pane), footer, overlays.
//! Narrow terminals (80×24) stack the thermal chart full width; wide ones
//! (200×50) put panes side by side.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

use crate::ui::app::{App, Pane};
use crate::ui::panes;

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if app.latest.is_none() {
        panes::overlay::splash(f, area, app);
        return;
    }
    let bar = u16::from(app.campaign.is_some());
    let [header, campaign, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(bar),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);
    panes::header::draw(f, header, app);
    panes::campaign::draw(f, campaign, app);
    if app.zoom {
        draw_pane(f, body, app, app.focus);
    } else {
        // One area per pane, in `Pane::ORDER`.
        for (pane, area) in Pane::ORDER.into_iter().zip(pane_areas(body)) {
            draw_pane(f, area, app, pane);
        }
    }
    panes::overlay::footer(f, footer, app);
    if app.help {
        panes::overlay::help(f, area, app);
    }
}

/// Thermal, memory, system, predictions, load and events areas: side by side
/// from 120 columns, the thermal chart full width below that.
fn pane_areas(body: Rect) -> [Rect; 6] {
    let split = |r: Rect, left: u16| {
        let [a, b] = Layout::horizontal([
            Constraint::Percentage(left),
            Constraint::Percentage(100 - left),
        ])
        .areas(r);
        (a, b)
    };
    if body.width >= 120 {
        let [top, mid, bot] = Layout::vertical([
            Constraint::Percentage(42),
            Constraint::Percentage(26),
            Constraint::Percentage(32),
        ])
        .areas(body);
        let (th, mem) = split(top, 60);
        let (sys, pred) = split(mid, 55);
        let (load, ev) = split(bot, 62);
        [th, mem, sys, pred, load, ev]
    } else {
        let [th, mid, low, ev] = Layout::vertical([
            Constraint::Percentage(36),
            Constraint::Percentage(30),
            Constraint::Percentage(22),
            Constraint::Min(3),
        ])
        .areas(body);
        let (mem, sys) = split(mid, 45);
        let (pred, load) = split(low, 50);
        [th, mem, sys, pred, load, ev]
    }
}

fn draw_pane(f: &mut Frame, area: Rect, app: &App, pane: Pane) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    match pane {
        Pane::Thermal => panes::thermal::draw(f, area, app),
        Pane::Memory => panes::memory::draw(f, area, app),
        Pane::System => panes::system::draw(f, area, app),
        Pane::Predictions => panes::predictions::draw(f, area, app),
        Pane::Load => panes::load::draw(f, area, app),
        Pane::Events => panes::events::draw(f, area, app),
    }
}

//! Frame layout: header, the panes (or one zoomed pane), footer, overlays.
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
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);
    panes::header::draw(f, header, app);
    if app.zoom {
        draw_pane(f, body, app, app.focus);
    } else if body.width >= 120 {
        let [top, mid, bot] = Layout::vertical([
            Constraint::Percentage(42),
            Constraint::Percentage(26),
            Constraint::Percentage(32),
        ])
        .areas(body);
        let [th, mem] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(top);
        let [sys, pred] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(mid);
        let [load, ev] =
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(bot);
        draw_pane(f, th, app, Pane::Thermal);
        draw_pane(f, mem, app, Pane::Memory);
        draw_pane(f, sys, app, Pane::System);
        draw_pane(f, pred, app, Pane::Predictions);
        draw_pane(f, load, app, Pane::Load);
        draw_pane(f, ev, app, Pane::Events);
    } else {
        let [th, mid, low, ev] = Layout::vertical([
            Constraint::Percentage(36),
            Constraint::Percentage(30),
            Constraint::Percentage(22),
            Constraint::Min(3),
        ])
        .areas(body);
        let [mem, sys] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(mid);
        let [pred, load] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(low);
        draw_pane(f, th, app, Pane::Thermal);
        draw_pane(f, mem, app, Pane::Memory);
        draw_pane(f, sys, app, Pane::System);
        draw_pane(f, pred, app, Pane::Predictions);
        draw_pane(f, load, app, Pane::Load);
        draw_pane(f, ev, app, Pane::Events);
    }
    panes::overlay::footer(f, footer, app);
    if app.help {
        panes::overlay::help(f, area, app);
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

#include "mimamori/pdf/document.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace mimamori::pdf {

namespace {

constexpr double kPt = 72.0 / 25.4;  // points per millimetre
constexpr double kPageWidth = 210 * kPt;
constexpr double kPageHeight = 297 * kPt;
constexpr double kMargin = 18 * kPt;
constexpr double kFooterGap = 8 * kPt;
constexpr double kTextWidth = kPageWidth - 2 * kMargin;
constexpr double kBottom = kPageHeight - kMargin - kFooterGap;
constexpr const char* kFamily = "IPAexGothic";

struct Rgb {
  double r, g, b;
};
// Series colours that stay apart when printed in grey.
constexpr Rgb kPalette[] = {{0.16, 0.36, 0.62}, {0.90, 0.52, 0.13}, {0.30, 0.62, 0.34},
                            {0.76, 0.22, 0.22}, {0.50, 0.38, 0.66}, {0.45, 0.45, 0.45}};

// Pango wants valid UTF-8; a value from a device may not be. Invalid bytes become U+FFFD.
std::string valid_utf8(std::string_view text) {
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) {
    return std::string(text);
  }
  gchar* fixed = g_utf8_make_valid(text.data(), static_cast<gssize>(text.size()));
  std::string out(fixed);
  g_free(fixed);
  return out;
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

std::string number_text(double v) {
  char buf[32];
  if (std::fabs(v - std::round(v)) < 1e-9) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  }
  return buf;
}

// A "nice" step for about `ticks` grid lines up to `max` (1, 2 or 5 times a power of ten).
double nice_step(double max, int ticks) {
  double raw = max / ticks;
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

}  // namespace

struct Document::Impl {
  Metadata meta;
  std::string out;
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = nullptr;
  double y = kMargin;
  int pages = 1;
  bool page_dirty = false;
  bool finished = false;

  explicit Impl(Metadata m) : meta(std::move(m)) {
    surface = cairo_pdf_surface_create_for_stream(append_to_string, &out, kPageWidth, kPageHeight);
    auto set = [&](cairo_pdf_metadata_t key, const std::string& value) {
      if (!value.empty()) cairo_pdf_surface_set_metadata(surface, key, valid_utf8(value).c_str());
    };
    set(CAIRO_PDF_METADATA_TITLE, meta.title);
    set(CAIRO_PDF_METADATA_AUTHOR, meta.author);
    set(CAIRO_PDF_METADATA_SUBJECT, meta.subject);
    set(CAIRO_PDF_METADATA_KEYWORDS, meta.keywords);
    set(CAIRO_PDF_METADATA_CREATOR, meta.creator);
    cr = cairo_create(surface);
  }

  ~Impl() {
    if (cr) cairo_destroy(cr);
    if (surface) cairo_surface_destroy(surface);
  }

  PangoLayout* layout(std::string_view text, double size, bool bold, double width,
                      Align align = Align::kLeft) {
    PangoLayout* l = pango_cairo_create_layout(cr);
    PangoFontDescription* fd = pango_font_description_new();
    pango_font_description_set_family(fd, kFamily);
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    if (width > 0) {
      pango_layout_set_width(l, static_cast<int>(width * PANGO_SCALE));
      pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    }
    pango_layout_set_alignment(l, align == Align::kRight    ? PANGO_ALIGN_RIGHT
                                  : align == Align::kCenter ? PANGO_ALIGN_CENTER
                                                            : PANGO_ALIGN_LEFT);
    std::string t = valid_utf8(text);
    pango_layout_set_text(l, t.c_str(), static_cast<int>(t.size()));
    return l;
  }

  static double height(PangoLayout* l) {
    int w = 0, h = 0;
    pango_layout_get_size(l, &w, &h);
    return static_cast<double>(h) / PANGO_SCALE;
  }

  void footer() {
    std::string text = meta.footer.empty() ? "" : meta.footer + "    ";
    text += std::to_string(pages) + " ページ";
    PangoLayout* l = layout(text, 8, false, kTextWidth, Align::kCenter);
    cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
    cairo_move_to(cr, kMargin, kPageHeight - kMargin);
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
  }

  void new_page() {
    footer();
    cairo_show_page(cr);
    ++pages;
    y = kMargin;
    page_dirty = false;
  }

  // Starts a new page unless `h` more points fit on this one (or the page is still empty).
  void need(double h) {
    if (y + h > kBottom && page_dirty) new_page();
    page_dirty = true;
  }

  // Draws a wrapped layout line by line at `x`, breaking pages between lines.
  void flow(PangoLayout* l, double x, Rgb colour) {
    PangoLayoutIter* it = pango_layout_get_iter(l);
    do {
      PangoRectangle logical;
      pango_layout_iter_get_line_extents(it, nullptr, &logical);
      double line_h = static_cast<double>(logical.height) / PANGO_SCALE;
      need(line_h);
      int baseline = pango_layout_iter_get_baseline(it);
      double line_top = static_cast<double>(logical.y) / PANGO_SCALE;
      double base = static_cast<double>(baseline) / PANGO_SCALE - line_top;
      cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
      cairo_move_to(cr, x + static_cast<double>(logical.x) / PANGO_SCALE, y + base);
      pango_cairo_show_layout_line(cr, pango_layout_iter_get_line_readonly(it));
      y += line_h;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
  }

  void show(PangoLayout* l, double x, double top, Rgb colour = {0, 0, 0}) {
    cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
    cairo_move_to(cr, x, top);
    pango_cairo_show_layout(cr, l);
  }

  void table_header(const Table& t, const std::vector<double>& widths, double pad) {
    double row_h = 0;
    std::vector<PangoLayout*> cells;
    for (size_t c = 0; c < t.columns.size(); ++c) {
      cells.push_back(
          layout(t.columns[c].header, 9.5, true, widths[c] - 2 * pad, t.columns[c].align));
      row_h = std::max(row_h, height(cells.back()));
    }
    row_h += 2 * pad;
    need(row_h + 20);
    cairo_set_source_rgb(cr, 0.88, 0.91, 0.95);
    cairo_rectangle(cr, kMargin, y, kTextWidth, row_h);
    cairo_fill(cr);
    double x = kMargin;
    for (size_t c = 0; c < cells.size(); ++c) {
      show(cells[c], x + pad, y + pad);
      g_object_unref(cells[c]);
      x += widths[c];
    }
    y += row_h;
    rule(0.6);
  }

  void rule(double width) {
    cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
    cairo_set_line_width(cr, width);
    cairo_move_to(cr, kMargin, y);
    cairo_line_to(cr, kMargin + kTextWidth, y);
    cairo_stroke(cr);
  }
};

Document::Document(Metadata metadata) : impl_(std::make_unique<Impl>(std::move(metadata))) {}
Document::~Document() = default;

void Document::title(std::string_view text, std::string_view subtitle) {
  auto& d = *impl_;
  PangoLayout* l = d.layout(text, 20, true, kTextWidth);
  d.flow(l, kMargin, {0.1, 0.1, 0.1});
  g_object_unref(l);
  if (!subtitle.empty()) {
    d.y += 2;
    PangoLayout* s = d.layout(subtitle, 11, false, kTextWidth);
    d.flow(s, kMargin, {0.35, 0.35, 0.35});
    g_object_unref(s);
  }
  d.y += 4 * kPt;
}

void Document::heading(std::string_view text, int level) {
  auto& d = *impl_;
  double size = level <= 1 ? 14 : 11.5;
  PangoLayout* l = d.layout(text, size, true, kTextWidth);
  double h = Impl::height(l);
  d.y += level <= 1 ? 3 * kPt : 1.5 * kPt;
  // Keep the heading with at least three lines of what follows.
  d.need(h + 45);
  if (d.y + h > kBottom) d.new_page();
  d.show(l, kMargin, d.y, {0.1, 0.2, 0.4});
  g_object_unref(l);
  d.y += h + 1;
  if (level <= 1) {
    d.rule(0.8);
    d.y += 2;
  }
  d.y += 1.5 * kPt;
}

void Document::paragraph(std::string_view text) {
  auto& d = *impl_;
  PangoLayout* l = d.layout(text, 10.5, false, kTextWidth);
  pango_layout_set_spacing(l, static_cast<int>(2.5 * PANGO_SCALE));
  d.flow(l, kMargin, {0, 0, 0});
  g_object_unref(l);
  d.y += 2 * kPt;
}

void Document::note(std::string_view text) {
  auto& d = *impl_;
  PangoLayout* l = d.layout(text, 8.5, false, kTextWidth);
  d.flow(l, kMargin, {0.4, 0.4, 0.4});
  g_object_unref(l);
  d.y += 1.5 * kPt;
}

void Document::bullets(const std::vector<std::string>& items) {
  auto& d = *impl_;
  constexpr double kIndent = 5 * kPt;
  for (const auto& item : items) {
    PangoLayout* l = d.layout(item, 10.5, false, kTextWidth - kIndent);
    PangoLayout* dot = d.layout("・", 10.5, false, 0);
    d.need(Impl::height(dot));
    d.show(dot, kMargin, d.y);
    g_object_unref(dot);
    d.flow(l, kMargin + kIndent, {0, 0, 0});
    g_object_unref(l);
    d.y += 1;
  }
  d.y += 1.5 * kPt;
}

void Document::table(const Table& t) {
  auto& d = *impl_;
  if (t.columns.empty()) return;
  constexpr double kPad = 3;
  double total = 0;
  for (const auto& c : t.columns) total += std::max(c.weight, 0.01);
  std::vector<double> widths;
  for (const auto& c : t.columns) widths.push_back(kTextWidth * std::max(c.weight, 0.01) / total);

  d.table_header(t, widths, kPad);
  for (const auto& row : t.rows) {
    std::vector<PangoLayout*> cells;
    double row_h = 0;
    for (size_t c = 0; c < t.columns.size(); ++c) {
      std::string_view text = c < row.size() ? std::string_view(row[c]) : std::string_view();
      cells.push_back(d.layout(text, 9.5, false, widths[c] - 2 * kPad, t.columns[c].align));
      row_h = std::max(row_h, Impl::height(cells.back()));
    }
    row_h += 2 * kPad;
    if (d.y + row_h > kBottom) {
      d.new_page();
      d.table_header(t, widths, kPad);
    }
    double x = kMargin;
    for (size_t c = 0; c < cells.size(); ++c) {
      d.show(cells[c], x + kPad, d.y + kPad);
      g_object_unref(cells[c]);
      x += widths[c];
    }
    d.y += row_h;
    d.rule(0.3);
  }
  d.y += 4 * kPt;
}

void Document::chart(const Chart& chart) {
  auto& d = *impl_;
  if (chart.categories.empty()) return;
  cairo_t* cr = d.cr;
  const double plot_h = std::max(chart.height_mm, 20.0) * kPt;
  const double axis_w = 36;
  const double label_h = 26;
  PangoLayout* title = d.layout(chart.title, 10.5, true, kTextWidth);
  double title_h = chart.title.empty() ? 0 : Impl::height(title) + 4;
  double legend_h = chart.series.size() > 1 ? 16 : 0;
  d.need(title_h + plot_h + label_h + legend_h + 18);
  if (title_h > 0) d.show(title, kMargin, d.y);
  g_object_unref(title);
  d.y += title_h;

  double max = 0;
  for (const auto& s : chart.series) {
    for (double v : s.values) {
      if (std::isfinite(v)) max = std::max(max, v);
    }
  }
  double step = nice_step(max > 0 ? max : 1, 4);
  double top = step * std::ceil((max > 0 ? max : 1) / step);

  const double x0 = kMargin + axis_w;
  const double w = kTextWidth - axis_w;
  const double y0 = d.y + (chart.unit.empty() ? 6 : 16);
  const double y1 = y0 + plot_h;  // the value axis' zero
  auto ypos = [&](double v) { return y1 - plot_h * std::clamp(v, 0.0, top) / top; };

  // Grid and value labels.
  cairo_set_line_width(cr, 0.4);
  for (double v = 0; v <= top + step / 2; v += step) {
    cairo_set_source_rgb(cr, 0.82, 0.82, 0.82);
    cairo_move_to(cr, x0, ypos(v));
    cairo_line_to(cr, x0 + w, ypos(v));
    cairo_stroke(cr);
    PangoLayout* l = d.layout(number_text(v), 8, false, axis_w - 4, Align::kRight);
    d.show(l, kMargin, ypos(v) - Impl::height(l) / 2, {0.3, 0.3, 0.3});
    g_object_unref(l);
  }
  if (!chart.unit.empty()) {
    PangoLayout* l = d.layout(chart.unit, 8, false, axis_w - 4, Align::kRight);
    d.show(l, kMargin, y0 - Impl::height(l) - 6, {0.3, 0.3, 0.3});
    g_object_unref(l);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 0.8);
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x0, y1);
  cairo_line_to(cr, x0 + w, y1);
  cairo_stroke(cr);

  const size_t n = chart.categories.size();
  const double slot = w / static_cast<double>(n);
  const size_t ns = std::max<size_t>(chart.series.size(), 1);
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const Rgb c = kPalette[s % std::size(kPalette)];
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    const auto& values = chart.series[s].values;
    if (chart.kind == Chart::Kind::kBar) {
      double bar_w = slot * 0.7 / static_cast<double>(ns);
      for (size_t i = 0; i < n && i < values.size(); ++i) {
        if (!std::isfinite(values[i]) || values[i] <= 0) continue;
        double x =
            x0 + slot * static_cast<double>(i) + slot * 0.15 + bar_w * static_cast<double>(s);
        cairo_rectangle(cr, x, ypos(values[i]), bar_w, y1 - ypos(values[i]));
        cairo_fill(cr);
      }
    } else {
      cairo_set_line_width(cr, 1.6);
      bool started = false;
      for (size_t i = 0; i < n && i < values.size(); ++i) {
        if (!std::isfinite(values[i])) continue;
        double x = x0 + slot * (static_cast<double>(i) + 0.5);
        if (started) {
          cairo_line_to(cr, x, ypos(values[i]));
        } else {
          cairo_move_to(cr, x, ypos(values[i]));
          started = true;
        }
      }
      cairo_stroke(cr);
      for (size_t i = 0; i < n && i < values.size(); ++i) {
        if (!std::isfinite(values[i])) continue;
        cairo_arc(cr, x0 + slot * (static_cast<double>(i) + 0.5), ypos(values[i]), 2, 0, 2 * M_PI);
        cairo_fill(cr);
      }
    }
  }
  // Category labels, one line each, ellipsized to the slot.
  for (size_t i = 0; i < n; ++i) {
    PangoLayout* l = d.layout(chart.categories[i], 8, false, slot - 2, Align::kCenter);
    pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
    pango_layout_set_height(l, -2);
    d.show(l, x0 + slot * static_cast<double>(i) + 1, y1 + 3, {0.2, 0.2, 0.2});
    g_object_unref(l);
  }
  d.y = y1 + label_h;
  // Legend when there is more than one series.
  if (chart.series.size() > 1) {
    double x = x0;
    for (size_t s = 0; s < chart.series.size(); ++s) {
      const Rgb c = kPalette[s % std::size(kPalette)];
      cairo_set_source_rgb(cr, c.r, c.g, c.b);
      cairo_rectangle(cr, x, d.y + 3, 8, 8);
      cairo_fill(cr);
      PangoLayout* l = d.layout(chart.series[s].label, 8.5, false, 0);
      d.show(l, x + 11, d.y + 1, {0.2, 0.2, 0.2});
      int lw = 0, lh = 0;
      pango_layout_get_size(l, &lw, &lh);
      g_object_unref(l);
      x += 11 + static_cast<double>(lw) / PANGO_SCALE + 12;
    }
    d.y += legend_h;
  }
  d.y += 4 * kPt;
}

void Document::space(double mm) { impl_->y += mm * kPt; }

void Document::page_break() {
  if (impl_->page_dirty) impl_->new_page();
}

int Document::page_count() const { return impl_->pages; }

std::string Document::finish() {
  auto& d = *impl_;
  if (d.finished) return d.out;
  d.footer();
  cairo_show_page(d.cr);
  cairo_destroy(d.cr);
  d.cr = nullptr;
  cairo_surface_finish(d.surface);
  cairo_surface_destroy(d.surface);
  d.surface = nullptr;
  d.finished = true;
  return std::move(d.out);
}

}  // namespace mimamori::pdf

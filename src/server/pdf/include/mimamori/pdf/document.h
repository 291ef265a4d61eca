#pragma once
/// A small Japanese document layer over cairo and pango: A4 pages with a title, headings,
/// wrapped paragraphs, bullet lists, tables that continue across pages, and simple bar and
/// line charts, written as one PDF in memory. Text is set as plain text (never as markup), so
/// values from customers and devices need no escaping here. The header names no cairo or
/// pango type, so any folder can build a document without their headers.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mimamori::pdf {

/// The PDF's document information (shown by viewers, read by pdfinfo).
struct Metadata {
  std::string title;
  std::string author;
  std::string subject;
  std::string keywords;
  std::string creator = "Mimamori";
  /// Printed at the bottom of every page beside the page number (may be empty).
  std::string footer;
};

/// Horizontal placement of text in a table column.
enum class Align { kLeft, kRight, kCenter };

/// One table column: its header, its share of the text width and its alignment.
struct Column {
  std::string header;
  double weight = 1.0;
  Align align = Align::kLeft;
};

/// A table: columns and rows of cells (each row as many cells as columns; missing cells are
/// blank, extra cells ignored). Rows that do not fit continue on the next page under a
/// repeated header row.
struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> rows;
};

/// One data series of a chart: its legend label and one value per category.
struct Series {
  std::string label;
  std::vector<double> values;
};

/// A bar chart (series side by side in each category) or a line chart (one line a series).
struct Chart {
  enum class Kind { kBar, kLine };
  Kind kind = Kind::kBar;
  std::string title;
  /// Label of the value axis (e.g. "件").
  std::string unit;
  std::vector<std::string> categories;
  std::vector<Series> series;
  /// Height of the plot area in millimetres.
  double height_mm = 60;
};

/// A document being written. Elements are laid out top to bottom; a new page starts when the
/// next one does not fit. `finish` ends it and returns the PDF bytes.
class Document {
 public:
  explicit Document(Metadata metadata);
  ~Document();
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  /// The document's title (large, bold) and an optional line under it.
  void title(std::string_view text, std::string_view subtitle = {});
  /// A heading: level 1 (section, underlined) or 2 (subsection). Kept with what follows.
  void heading(std::string_view text, int level = 1);
  /// A paragraph wrapped to the text width; long ones continue on the next page.
  void paragraph(std::string_view text);
  /// A paragraph in a smaller, grey type (notes, sources).
  void note(std::string_view text);
  /// A bullet list, one wrapped item a line.
  void bullets(const std::vector<std::string>& items);
  /// A table (see Table).
  void table(const Table& table);
  /// A chart (see Chart). Nothing is drawn for a chart without categories.
  void chart(const Chart& chart);
  /// Vertical space in millimetres.
  void space(double mm);
  /// Ends the current page; the next element starts a new one.
  void page_break();

  /// Pages written so far (the current one included).
  int page_count() const;
  /// Ends the document and returns the PDF. The document takes no more elements afterwards.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimamori::pdf

// The role table of docs/security.md, read (role_table_doc.h), and its first check: it names
// every route of the route table and only real ones. That each cell is what the server does is
// role_table_test.cc.

#include "role_table_doc.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "mimamori/core/text.h"

namespace mimamori::server::testing {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

}  // namespace

const std::vector<std::string>& columns() {
  static const std::vector<std::string> kColumns = {
      "provider_admin", "analyst",       "technician", "desk",
      "customer_admin", "customer_user", "device",     "anyone"};
  return kColumns;
}

/// Reads the table under the heading "## Who may do what" of docs/security.md.
std::vector<Row> read_table(std::string* error) {
  const std::string path = std::string(MIMAMORI_SOURCE_DIR) + "/docs/security.md";
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot be read";
    return {};
  }
  std::vector<Row> rows;
  std::vector<std::string> header;
  bool in_section = false;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("## ", 0) == 0) {
      in_section = line == "## Who may do what";
      continue;
    }
    if (!in_section || line.empty() || line[0] != '|') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(trim(cell));
    if (!cells.empty() && cells.back().empty()) cells.pop_back();
    if (header.empty()) {
      header = cells;
      continue;
    }
    if (cells.size() > 1 && cells[1].rfind("---", 0) == 0) continue;
    if (cells.size() != header.size()) {
      *error =
          fmt::format("{}:{}: {} cells, the header has {}", path, n, cells.size(), header.size());
      return {};
    }
    Row row;
    row.line = n;
    // Each route is a code span "`METHOD /path`".
    for (size_t at = cells[1].find('`'); at != std::string::npos;) {
      size_t end = cells[1].find('`', at + 1);
      if (end == std::string::npos) break;
      std::string span = cells[1].substr(at + 1, end - at - 1);
      if (span.find(" /") != std::string::npos) row.routes.push_back(span);
      at = cells[1].find('`', end + 1);
    }
    for (size_t i = 2; i < cells.size(); ++i) row.cells[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  if (rows.empty()) *error = path + ": no table under '## Who may do what'";
  return rows;
}

/// True when the concrete route "METHOD /a/b" is an instance of the route table's pattern.
bool matches(const Route& r, const std::string& concrete) {
  auto sp = concrete.find(' ');
  if (concrete.substr(0, sp) != r.method) return false;
  std::string path = concrete.substr(sp + 1);
  std::string_view pat = r.pattern;
  size_t i = 0, j = 0;
  while (i < pat.size() && j < path.size()) {
    if (pat[i] == '{') {
      i = pat.find('}', i) + 1;
      if (path[j] == '{') {
        j = path.find('}', j) + 1;
      } else {
        while (j < path.size() && path[j] != '/') ++j;
      }
    } else if (pat[i] == path[j]) {
      ++i, ++j;
    } else {
      return false;
    }
  }
  return i == pat.size() && j == path.size();
}

namespace {

TEST(RoleTable, NamesEveryRouteAndOnlyRealOnes) {
  std::string error;
  auto rows = read_table(&error);
  ASSERT_TRUE(error.empty()) << error;
  std::set<std::string> seen;
  for (const auto& row : rows) {
    EXPECT_FALSE(row.routes.empty()) << "docs/security.md:" << row.line << " names no route";
    for (const auto& c : columns()) {
      auto it = row.cells.find(c);
      ASSERT_NE(it, row.cells.end()) << "docs/security.md:" << row.line << " has no " << c;
      static const std::set<std::string> kValues = {"all", "own", "self", "—"};
      EXPECT_TRUE(kValues.count(it->second))
          << "docs/security.md:" << row.line << ": '" << it->second << "' for " << c;
    }
    for (const auto& r : row.routes) {
      EXPECT_TRUE(seen.insert(r).second) << r << " is in the table twice";
      bool found = false;
      for (const auto& route : Api::routes()) found = found || matches(route, r);
      EXPECT_TRUE(found) << "docs/security.md:" << row.line << ": " << r << " is no route";
    }
  }
  for (const auto& route : Api::routes()) {
    bool found = false;
    for (const auto& r : seen) found = found || matches(route, r);
    EXPECT_TRUE(found) << route.method << " " << route.pattern
                       << " is missing from docs/security.md's role table";
  }
}

}  // namespace
}  // namespace mimamori::server::testing

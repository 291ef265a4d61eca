#pragma once
// The role table of docs/security.md as the tests read it: its columns, its rows (the routes
// each names and a cell per column), and whether a route of the route table is one it names.

#include <map>
#include <string>
#include <vector>

#include "api/api.h"

namespace mimamori::server::testing {

/// The table's columns, in order: the roles, then device and anyone.
const std::vector<std::string>& columns();

/// One row of the table: the routes it names ("METHOD /path", concrete action segments allowed)
/// and a cell per column.
struct Row {
  std::vector<std::string> routes;
  std::map<std::string, std::string> cells;
  int line = 0;
};

/// The rows of docs/security.md's table; `error` says what could not be read.
std::vector<Row> read_table(std::string* error);

/// Whether route `r` is the route "METHOD /path" names (concrete segments match parameters).
bool matches(const Route& r, const std::string& concrete);

}  // namespace mimamori::server::testing

#pragma once
/// The agent's list of known-bad file hashes (`yara.hash_list`, default
/// `<state>/threat-hashes.txt`): one SHA-256 per line in hex, `#` starts a comment, blank lines
/// ignored. The same file on Linux and Windows.

#include <istream>
#include <set>
#include <string>
#include <string_view>

namespace mimamori::host {

/// Adds the hashes of `in` to `out` (lower-cased); lines that are not a SHA-256 are skipped with
/// a warning naming `name` and the line (the first three). Returns how many were skipped.
int read_hash_list(std::istream& in, std::string_view name, std::set<std::string>& out);

}  // namespace mimamori::host

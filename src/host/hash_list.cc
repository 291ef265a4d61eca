// The known-bad hash list (see hash_list.h).

#include "mimamori/host/hash_list.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace mimamori::host {

int read_hash_list(std::istream& in, std::string_view name, std::set<std::string>& out) {
  std::string line;
  int lineno = 0, bad = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto hash = line.substr(0, line.find('#'));
    while (!hash.empty() && std::isspace(static_cast<unsigned char>(hash.back()))) hash.pop_back();
    while (!hash.empty() && std::isspace(static_cast<unsigned char>(hash.front())))
      hash.erase(0, 1);
    if (hash.empty()) continue;
    std::transform(hash.begin(), hash.end(), hash.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
      if (++bad <= 3)
        spdlog::warn("yara: {}:{}: '{}' is not a SHA-256 hash (64 hex digits); skipped", name,
                     lineno, hash.substr(0, 80));
      continue;
    }
    out.insert(hash);
  }
  return bad;
}

}  // namespace mimamori::host

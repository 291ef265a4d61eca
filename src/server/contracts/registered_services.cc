// IPA's registered services: the tab-separated reference list and the provider's additions.

#include "mimamori/server/registered_services.h"

#include <filesystem>
#include <string>

namespace mimamori::server {
namespace {

constexpr std::string_view kTypes[] = {"ネットワーク一括監視型", "端末監視型", "併用型"};

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n;
  }
  return true;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

void parse_registered_services(std::string_view text, std::string_view file,
                               std::string_view source, std::vector<RegisteredService>& out,
                               std::vector<std::string>& problems) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a byte order mark
  size_t at = 0;
  int line_no = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    const std::string t = trimmed(line);
    if (t.empty() || t[0] == '#') continue;
    auto problem = [&](const std::string& why) {
      problems.push_back(std::string(file) + ":" + std::to_string(line_no) + ": " + why);
    };
    if (!valid_utf8(t)) {
      problem("not UTF-8; line skipped");
      continue;
    }
    std::vector<std::string> f;
    size_t from = 0;
    while (true) {
      const size_t tab = t.find('\t', from);
      f.push_back(
          trimmed(std::string_view(t).substr(from, tab == std::string::npos ? tab : tab - from)));
      if (tab == std::string::npos) break;
      from = tab + 1;
    }
    if (f.size() != 4) {
      problem("expected 4 tab-separated fields (service, provider, region, type), found " +
              std::to_string(f.size()) + "; line skipped");
      continue;
    }
    static const char* const kNames[] = {"service", "provider", "region", "type"};
    bool ok = true;
    for (size_t k = 0; k < 4 && ok; ++k) {
      if (f[k].empty() || f[k].size() > 300) {
        problem(std::string("field '") + kNames[k] + "' must be 1..300 bytes; line skipped");
        ok = false;
      }
    }
    if (!ok) continue;
    bool known = false;
    for (auto ty : kTypes) known = known || f[3] == ty;
    if (!known) {
      problem("type '" + f[3] +
              "' is not ネットワーク一括監視型, 端末監視型 or 併用型; line skipped");
      continue;
    }
    bool duplicate = false;
    for (const auto& s : out) duplicate = duplicate || (s.service == f[0] && s.provider == f[1]);
    if (duplicate) {
      problem("'" + f[0] + "' of " + f[1] + " is listed already; line skipped");
      continue;
    }
    out.push_back(RegisteredService{f[0], f[1], f[2], f[3], std::string(source)});
  }
}

std::string default_registered_services_file() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path f =
      exe.parent_path().parent_path() / "share" / "mimamori" / "registered_services.tsv";
  if (!fs::is_regular_file(f, ec)) return {};
  return f.string();
}

}  // namespace mimamori::server

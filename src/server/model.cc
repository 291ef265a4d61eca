// Role names as the API and the database spell them.

#include "mimamori/server/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "mimamori/core/ip_address.h"

namespace mimamori::server {
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 6> kRoles = {{
    {Role::kProviderAdmin, "provider_admin"},
    {Role::kAnalyst, "analyst"},
    {Role::kTechnician, "technician"},
    {Role::kDesk, "desk"},
    {Role::kCustomerAdmin, "customer_admin"},
    {Role::kCustomerUser, "customer_user"},
}};

}  // namespace

std::string_view role_name(Role role) {
  for (const auto& [r, n] : kRoles) {
    if (r == role) return n;
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view name) {
  for (const auto& [r, n] : kRoles) {
    if (n == name) return r;
  }
  return std::nullopt;
}

bool is_provider_role(Role role) {
  return role == Role::kProviderAdmin || role == Role::kAnalyst || role == Role::kTechnician ||
         role == Role::kDesk;
}

int severity_rank(std::string_view s) {
  if (s == "critical") return 4;
  if (s == "high") return 3;
  if (s == "medium") return 2;
  if (s == "low") return 1;
  return 0;
}

bool normalise_indicator(std::string_view text, std::string& kind, std::string& value,
                         std::string& why) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty()) {
    why = "the indicator is empty";
    return false;
  }
  // TLS client fingerprints and file hashes: "ja3:<32 hex>", "ja4:<fingerprint>" (or a bare JA4),
  // "sha256:<64 hex>" (or bare 64 hex digits), "md5:<32 hex>"; kept lowercase.
  auto lower = [](std::string_view v) {
    std::string out(v);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  };
  auto hex_of = [](std::string_view v, size_t n) {
    return v.size() == n && std::all_of(v.begin(), v.end(), [](char c) {
             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
  };
  auto is_ja4 = [&](std::string_view v) {
    if (v.size() != 36 || v[10] != '_' || v[23] != '_') return false;
    if (v[0] != 't' && v[0] != 'q' && v[0] != 'd' && v[0] != 'T' && v[0] != 'Q' && v[0] != 'D')
      return false;
    return hex_of(v.substr(11, 12), 12) && hex_of(v.substr(24, 12), 12) &&
           std::all_of(v.begin() + 1, v.begin() + 10,
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
  };
  std::string prefix =
      lower(text.substr(0, text.find(':') == std::string_view::npos ? 0 : text.find(':') + 1));
  std::string_view rest = text.substr(prefix.size());
  if (prefix == "ja3:" || prefix == "md5:" || prefix == "sha256:" || prefix == "ja4:") {
    const bool ok = prefix == "ja4:"      ? is_ja4(rest)
                    : prefix == "sha256:" ? hex_of(rest, 64)
                                          : hex_of(rest, 32);
    if (!ok) {
      why =
          fmt::format("'{}': after '{}' expected {}", text, prefix,
                      prefix == "ja4:" ? "a JA4 fingerprint (t13d1516h2_8daaf6152771_b186095e22b6)"
                      : prefix == "sha256:" ? "64 hex digits"
                                            : "32 hex digits");
      return false;
    }
    kind = prefix.substr(0, prefix.size() - 1);
    value = lower(rest);
    return true;
  }
  if (is_ja4(text) || hex_of(text, 64)) {
    kind = is_ja4(text) ? "ja4" : "sha256";
    value = lower(text);
    return true;
  }
  std::string_view addr = text;
  int bits = -1;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view b = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
    if (b.empty() || ec != std::errc() || p != b.data() + b.size() || bits < 0) {
      why = fmt::format("'{}': the prefix length after '/' is not a number", text);
      return false;
    }
  }
  if (auto ip = core::IpAddress::parse(addr); ip.ok()) {
    const int max = ip->is_v4() ? 32 : 128;
    if (bits > max) {
      why = fmt::format("'{}': a prefix of {} bits is longer than the address ({} bits)", text,
                        bits, max);
      return false;
    }
    kind = bits < 0 || bits == max ? "ip" : "cidr";
    value = ip->to_string();
    if (kind == "cidr") value += fmt::format("/{}", bits);
    return true;
  }
  if (bits >= 0) {
    why = fmt::format("'{}' is not an address followed by a prefix length", text);
    return false;
  }
  // A domain: letters, digits and hyphens in dot-separated labels of 1..63, at least two labels.
  if (text.back() == '.') text.remove_suffix(1);
  if (text.size() > 253 || text.find('.') == std::string_view::npos) {
    why = fmt::format("'{}' is neither an IP address, a CIDR block nor a domain name", text);
    return false;
  }
  value.clear();
  size_t label = 0;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (label == 0 || value.back() == '-') break;
      label = 0;
    } else if (!alnum && (c != '-' || label == 0)) {
      break;
    } else if (++label > 63) {
      break;
    }
    value += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  if (value.size() != text.size() || label == 0 || value.back() == '-') {
    why = fmt::format(
        "'{}' is neither an IP address, a CIDR block, a domain name, a file hash (sha256:, md5:) "
        "nor a TLS fingerprint (ja3:, ja4:)",
        text);
    return false;
  }
  kind = "domain";
  return true;
}

}  // namespace mimamori::server

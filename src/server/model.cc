// Role names as the API and the database spell them.

#include "mimamori/server/model.h"

#include <fmt/format.h>

#include <array>
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
    why = fmt::format("'{}' is neither an IP address, a CIDR block nor a domain name", text);
    return false;
  }
  kind = "domain";
  return true;
}

}  // namespace mimamori::server

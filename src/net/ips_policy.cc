// The inline sensor's policy: which alerts block, allow- and deny-lists.

#include "mimamori/net/ips_policy.h"

#include <algorithm>
#include <charconv>

#include "mimamori/core/config.h"

namespace mimamori::net {

core::Result<IpNetwork> IpNetwork::parse(std::string_view text) {
  IpNetwork n;
  std::string_view addr = text;
  int prefix = -1;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc{} || end != p.data() + p.size() || p.empty())
      return core::make_error("'{}': the prefix length after '/' is not a number", text);
  }
  auto a = core::IpAddress::parse(addr);
  if (!a) return core::make_error("'{}': not an IPv4 or IPv6 address", text);
  int max = a->is_v4() ? 32 : 128;
  if (prefix < 0) prefix = max;
  if (prefix > max)
    return core::make_error("'{}': prefix length {} is more than {}", text, prefix, max);
  n.base = *a;
  n.prefix = static_cast<uint8_t>(prefix);
  return n;
}

bool IpNetwork::contains(const core::IpAddress& a) const {
  if (a.family() != base.family() || a.empty()) return false;
  const auto& x = a.bytes();
  const auto& y = base.bytes();
  int full = prefix / 8, rest = prefix % 8;
  if (!std::equal(x.begin(), x.begin() + full, y.begin())) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (x[full] & mask) == (y[full] & mask);
}

namespace {

std::vector<IpNetwork> networks(const core::Config& c, std::string_view key) {
  std::vector<IpNetwork> out;
  for (const auto& item : c.list(key, {})) {
    auto n = IpNetwork::parse(item);
    if (!n) throw core::ConfigError(std::string(key) + ": " + n.error().message);
    out.push_back(*n);
  }
  return out;
}

std::vector<GidRange> gid_ranges(const core::Config& c, std::string_view key) {
  std::vector<GidRange> out;
  for (const auto& item : c.list(key, {})) {
    GidRange r;
    auto num = [&](std::string_view s, uint32_t& v) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
    };
    std::string_view s = item;
    auto dash = s.find('-');
    bool ok = dash == std::string_view::npos
                  ? num(s, r.lo) && ((r.hi = r.lo), true)
                  : num(s.substr(0, dash), r.lo) && num(s.substr(dash + 1), r.hi) && r.lo <= r.hi;
    if (!ok)
      throw core::ConfigError(std::string(key) + ": '" + item +
                              "' is not a gid or a range of gids such as 9000000-9099999");
    out.push_back(r);
  }
  return out;
}

bool in(const std::vector<GidRange>& ranges, uint32_t gid) {
  for (const auto& r : ranges)
    if (gid >= r.lo && gid <= r.hi) return true;
  return false;
}

bool in(const std::vector<std::string>& names, std::string_view category) {
  if (category.empty()) return false;
  return std::find(names.begin(), names.end(), category) != names.end();
}

}  // namespace

IpsPolicy IpsPolicy::from_config(const core::Config& c) {
  IpsPolicy p;
  p.drop_rule_actions = c.get<bool>("ips-policy.drop-rule-actions", true);
  p.drop_categories = c.list("ips-policy.drop-categories", {});
  p.alert_only_categories = c.list("ips-policy.alert-only-categories", {});
  p.drop_gids = gid_ranges(c, "ips-policy.drop-gids");
  p.alert_only_gids = gid_ranges(c, "ips-policy.alert-only-gids");
  p.allow = networks(c, "ips-policy.allow");
  p.deny = networks(c, "ips-policy.deny");
  std::string action = c.get<std::string>("ips-policy.deny-action", "reject");
  if (action != "reject" && action != "drop")
    throw core::ConfigError("ips-policy.deny-action: expected 'reject' or 'drop', got '" + action +
                            "'");
  p.deny_reject = action == "reject";
  return p;
}

IpsPolicy::Decision IpsPolicy::decide(const core::Alert& alert) const {
  if (in(alert_only_gids, alert.gid) || in(alert_only_categories, alert.category))
    return Decision::kAlertOnly;
  if (in(drop_gids, alert.gid) || in(drop_categories, alert.category)) return Decision::kBlock;
  return drop_rule_actions ? Decision::kAsAsked : Decision::kAlertOnly;
}

bool IpsPolicy::allowed(const core::IpAddress& src, const core::IpAddress& dst) const {
  for (const auto& n : allow)
    if (n.contains(src) || n.contains(dst)) return true;
  return false;
}

const IpNetwork* IpsPolicy::denied(const core::IpAddress& src, const core::IpAddress& dst) const {
  for (const auto& n : deny)
    if (n.contains(src) || n.contains(dst)) return &n;
  return nullptr;
}

bool IpsPolicy::trivial() const {
  return drop_rule_actions && drop_categories.empty() && alert_only_categories.empty() &&
         drop_gids.empty() && alert_only_gids.empty() && allow.empty() && deny.empty();
}

}  // namespace mimamori::net

#pragma once
/// Address and port groups of rule headers: `[10.0.0.0/8,!10.1.0.0/16]`, `$HOME_NET`, `any`,
/// `[80,8000:8100,!8080]`, parsed into sorted disjoint ranges so a lookup is a binary search.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/ip_address.h"
#include "mimamori/core/result.h"

namespace mimamori::net::rules {

/// 128-bit unsigned integer for IPv6 ranges (a GCC/Clang extension).
__extension__ typedef unsigned __int128 Uint128;

/// Variables (`HOME_NET` -> `[192.168.0.0/16,...]`) used by address and port groups.
using Variables = std::map<std::string, std::string, std::less<>>;

/// The variables Suricata's default configuration defines.
Variables default_address_variables();
/// The port variables Suricata's default configuration defines.
Variables default_port_variables();

/// A set of IPv4 and IPv6 addresses as disjoint, sorted, inclusive ranges.
class AddressSet {
 public:
  /// Parses an address group; variables are expanded from `vars`. Errors say what and why.
  static core::Result<AddressSet> parse(std::string_view text, const Variables& vars);
  /// The set of every address.
  static AddressSet any();

  /// True when `ip` is in the set.
  bool contains(const core::IpAddress& ip) const;
  /// True when the set holds every address.
  bool is_any() const { return any_; }
  /// True when the set holds nothing.
  bool empty() const { return v4_.empty() && v6_.empty() && !any_; }

  /// IPv4 ranges [lo, hi] in host order.
  const std::vector<std::pair<uint32_t, uint32_t>>& v4() const { return v4_; }
  /// IPv6 ranges [lo, hi].
  const std::vector<std::pair<Uint128, Uint128>>& v6() const { return v6_; }

 private:
  friend struct AddressParser;
  void normalise();
  std::vector<std::pair<uint32_t, uint32_t>> v4_;
  std::vector<std::pair<Uint128, Uint128>> v6_;
  bool any_ = false;
};

/// A set of ports as disjoint, sorted, inclusive ranges.
class PortSet {
 public:
  /// Parses a port group; variables are expanded from `vars`.
  static core::Result<PortSet> parse(std::string_view text, const Variables& vars);
  /// The set of every port.
  static PortSet any();

  /// True when `port` is in the set.
  bool contains(uint16_t port) const;
  /// True when the set holds every port.
  bool is_any() const { return any_; }
  /// The ranges [lo, hi].
  const std::vector<std::pair<uint16_t, uint16_t>>& ranges() const { return ranges_; }

 private:
  friend struct PortParser;
  std::vector<std::pair<uint16_t, uint16_t>> ranges_;
  bool any_ = false;
};

}  // namespace mimamori::net::rules

#pragma once
/// IpAddress: an IPv4 or IPv6 address held by value, cheap to copy and to compare.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "mimamori/core/result.h"

namespace mimamori::core {

/// An IPv4 or IPv6 address, or none. IPv4 is stored in the first four bytes.
class IpAddress {
 public:
  enum class Family : uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

  IpAddress() = default;
  /// An IPv4 address from four bytes in network order.
  static IpAddress v4(const uint8_t* bytes);
  /// An IPv4 address from a host-order integer (0x7f000001 is 127.0.0.1).
  static IpAddress v4(uint32_t host_order);
  /// An IPv6 address from sixteen bytes in network order.
  static IpAddress v6(const uint8_t* bytes);
  /// Parses dotted IPv4 or any textual IPv6 form.
  static Result<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool empty() const { return family_ == Family::kNone; }
  bool is_v4() const { return family_ == Family::kV4; }
  bool is_v6() const { return family_ == Family::kV6; }
  /// The address bytes in network order (4 or 16 meaningful bytes).
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  /// The IPv4 address as a host-order integer; only meaningful when is_v4().
  uint32_t v4_host_order() const;

  /// Appends the textual form (dotted quad, or RFC 5952 IPv6); nothing when empty().
  void append_to(std::string& out) const;
  std::string to_string() const;

  bool operator==(const IpAddress&) const = default;
  auto operator<=>(const IpAddress&) const = default;

 private:
  std::array<uint8_t, 16> bytes_{};
  Family family_ = Family::kNone;
};

}  // namespace mimamori::core

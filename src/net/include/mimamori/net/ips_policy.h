#pragma once
/// IpsPolicy: what an inline sensor (or `--simulate-ips`) does with what the detectors find —
/// which alerts drop and which only alert, an allow-list that always passes and a deny-list
/// that always blocks. Generic on purpose: an alert is judged by the action its detector asked
/// for (a rule's `drop`/`reject`), its category (a rule's classtype description, a detector's
/// category) and its gid, so behaviour detectors and threat-intel lists plug in by their gid
/// range or category without code here.
///
/// Read from `ips-policy.*` (see README, "Inline protection"):
///   ips-policy.drop-rule-actions    true   rules whose action is drop/reject block
///   ips-policy.drop-categories      []     alerts of these categories block, whatever their action
///   ips-policy.drop-gids            []     alerts of these gids ("9000000-9099999", "1") block
///   ips-policy.alert-only-categories []    never block for these (wins over the drop lists)
///   ips-policy.alert-only-gids      []
///   ips-policy.allow                []     addresses/networks always passed (source or
///   destination) ips-policy.deny                 []     addresses/networks always blocked
///   ips-policy.deny-action          reject reject (TCP reset / ICMP unreachable) or drop

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/event.h"
#include "mimamori/core/ip_address.h"

namespace mimamori::core {
class Config;
}

namespace mimamori::net {

/// An address block: an address and a prefix length ("192.0.2.0/24", "2001:db8::/32", or a
/// single address).
struct IpNetwork {
  core::IpAddress base;
  uint8_t prefix = 0;

  /// Parses "a.b.c.d[/n]" or "v6[/n]"; the error says what is wrong.
  static core::Result<IpNetwork> parse(std::string_view text);
  bool contains(const core::IpAddress& a) const;
};

/// An inclusive gid range.
struct GidRange {
  uint32_t lo = 0, hi = 0;
};

class IpsPolicy {
 public:
  /// What the policy makes of one alert.
  enum class Decision : uint8_t {
    kAsAsked,    ///< block if the detector asked to, else only alert
    kBlock,      ///< block (a drop category or gid)
    kAlertOnly,  ///< only alert, even if the detector asked to block
  };

  bool drop_rule_actions = true;
  std::vector<std::string> drop_categories, alert_only_categories;
  std::vector<GidRange> drop_gids, alert_only_gids;
  std::vector<IpNetwork> allow, deny;
  bool deny_reject = true;  ///< deny-list hits are rejected (else silently dropped)

  /// Reads `ips.*`; throws core::ConfigError naming the key and the bad item.
  static IpsPolicy from_config(const core::Config& config);

  Decision decide(const core::Alert& alert) const;
  /// True when either address is on the allow-list.
  bool allowed(const core::IpAddress& src, const core::IpAddress& dst) const;
  /// The deny-list entry either address falls in, or null.
  const IpNetwork* denied(const core::IpAddress& src, const core::IpAddress& dst) const;
  /// True when the policy changes nothing beyond the detectors' own drop requests.
  bool trivial() const;
};

/// The alert written when a deny-list entry blocks a packet (gid kPolicyGid, sid 1).
inline constexpr uint32_t kPolicyGid = 9990;

}  // namespace mimamori::net

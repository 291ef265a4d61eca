#pragma once
// Private layout of a compiled RuleEngine, shared by engine.cc (build) and detector.cc (match).

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "mimamori/core/event.h"
#include "mimamori/net/rules/engine.h"
#include "seam.h"

namespace mimamori::net::rules {

/// Per-signature facts precomputed at build time.
struct SigInfo {
  Context context = Context::kPacket;
  bool dirs[2] = {true, true};  ///< may match in direction 0 (to_server) / 1 (to_client)
  int order = 0;                ///< evaluation order: flowbit setters before readers
  net::AppProto app = net::AppProto::kUnknown;
  bool app_unparsed = false;  ///< header names an app protocol the sensor does not parse
  /// A drop or pass applies to the whole flow (IP-only and header-only rules, app-layer
  /// matches), as Suricata's; otherwise to the packet only.
  bool flow_action = false;
  core::Alert alert;  ///< alert record template
};

/// Fast patterns that can only lie in a buffer's first kHeadWindow bytes (a content with
/// `startswith`, or an absolute one with offset + depth <= kHeadWindow: protocol magic numbers,
/// message types) go to a database of their own, scanned over those bytes only. In the main
/// database such a short literal is confirmed at every position of every buffer where it
/// occurs (`|00 01|` of a TFTP rule all through a zero-filled DHCP packet), which made
/// whole databases several times slower. Only where buffers are long (packets over
/// kSmallPayload bytes, stream chunks): on short ones the second scan call costs more.
inline constexpr std::size_t kHeadWindow = 16;

/// One prefilter: patterns of one buffer, one context, one direction (and, for packets, one
/// port group and size class).
struct Prefilter {
  std::optional<match::PatternSet> set;   ///< patterns that may lie anywhere
  std::optional<match::PatternSet> head;  ///< patterns within the first kHeadWindow bytes
  bool empty() const { return !set && !head; }
  /// Scans `data`; `on_match(id)` per pattern id found.
  template <class F>
  void scan(std::string_view data, match::PatternSet::Scratch& scratch, F&& on_match) const {
    auto hit = [&on_match](uint32_t id, uint64_t) {
      on_match(id);
      return true;
    };
    if (set) (void)set->scan(data, scratch, hit);
    if (head) (void)head->scan(data.substr(0, std::min(data.size(), kHeadWindow)), scratch, hit);
  }
  void prepare(match::PatternSet::Scratch& scratch) const {
    if (set) (void)set->prepare(scratch);
    if (head) (void)head->prepare(scratch);
  }
};

/// Payload size classes of the packet prefilter: class 0 holds payloads of at most
/// kSmallPayload bytes, class 1 the rest. A rule whose dsize admits no size of a class is left
/// out of that class's databases (most dsize bounds in rule sets are small: a full-size segment
/// need not scan for patterns of rules that only look at tiny packets).
inline constexpr std::size_t kSizeClasses = 2;
inline constexpr std::size_t kSmallPayload = 64;
inline std::size_t size_class(std::size_t payload) { return payload <= kSmallPayload ? 0 : 1; }

/// At most this many groups (of ports, or of ICMP types) per transport and direction (each
/// costs a database per size class to compile, cache and hold); the rest share merged groups.
inline constexpr std::size_t kMaxPortGroups = 4;

/// The packet prefilter of one transport and direction, split like Suricata's signature group
/// heads: by port group (the rules that may apply to a port) and payload size class, so that a
/// packet scans only the patterns of rules its port and size allow.
struct PacketPrefilter {
  /// What the groups are keyed on: a port (TCP, UDP) or the ICMP type (ICMP: `itype`).
  enum class Key : uint8_t { kNone, kDstPort, kSrcPort, kIcmpType };
  Key key = Key::kNone;
  std::vector<uint16_t> bounds;         ///< key interval starts, ascending; bounds[0] == 0
  std::vector<uint8_t> interval_group;  ///< group of each interval
  std::vector<std::array<int32_t, kSizeClasses>> sets;  ///< [group][class] -> packet_sets, or -1
  /// Index into RuleEngine::Impl::packet_sets for a packet, or -1 when nothing can match.
  int32_t set_for(const Packet& p, std::size_t payload) const {
    if (sets.empty()) return -1;
    uint16_t value = key == Key::kDstPort    ? p.dst_port
                     : key == Key::kSrcPort  ? p.src_port
                     : key == Key::kIcmpType ? p.icmp_type
                                             : 0;
    auto it = std::upper_bound(bounds.begin(), bounds.end(), value);
    std::size_t g = interval_group[static_cast<std::size_t>(it - bounds.begin()) - 1];
    return sets[g][size_class(payload)];
  }
};

/// IPv4/IPv6 address intervals -> signatures, for IP-only rules.
struct IpIndex {
  std::vector<uint32_t> v4_bounds;             ///< segment starts, sorted
  std::vector<std::vector<uint32_t>> v4_sigs;  ///< sigs per segment
  std::vector<Uint128> v6_bounds;
  std::vector<std::vector<uint32_t>> v6_sigs;
  /// Signatures whose indexed address set contains `ip`.
  const std::vector<uint32_t>* lookup(const core::IpAddress& ip) const;
};

/// Rules without a fast pattern in one context/direction/bucket, indexed by destination port
/// when the rule names a few, else by source port when it names a few of those (replies of a
/// service: `$HOME_NET 3389 -> any any`).
struct RuleGroup {
  /// The rules of one port key: port -> rules, behind a bitmap of the ports present (most
  /// packets' ports have none and skip the hash lookup).
  struct PortIndex {
    std::unordered_map<uint16_t, std::vector<uint32_t>> rules;
    std::vector<uint64_t> present;  ///< 65,536 bits
    void add(uint16_t port, uint32_t sig) {
      if (present.empty()) present.assign(65536 / 64, 0);
      present[port >> 6] |= uint64_t(1) << (port & 63);
      rules[port].push_back(sig);
    }
    template <class F>
    void for_each(uint16_t port, F& f) const {
      if (present.empty() || !((present[port >> 6] >> (port & 63)) & 1)) return;
      auto it = rules.find(port);
      if (it != rules.end()) {
        for (uint32_t i : it->second) f(i);
      }
    }
  };
  std::vector<uint32_t> any_port;
  PortIndex by_dst, by_src;
  /// Calls `f` for every rule that may apply to a packet from `src_port` to `dst_port`.
  template <class F>
  void for_each(uint16_t dst_port, uint16_t src_port, F&& f) const {
    for (uint32_t i : any_port) f(i);
    by_dst.for_each(dst_port, f);
    by_src.for_each(src_port, f);
  }
};

/// Buckets of rules without a fast pattern.
inline constexpr std::size_t kBuckets = 6;
/// The bucket of a packet's transport (0 tcp, 1 udp, 2 icmp, 3 other).
inline std::size_t transport_bucket(uint8_t proto) {
  switch (proto) {
    case 6:
      return 0;
    case 17:
      return 1;
    case 1:
    case 58:
      return 2;
    default:
      return 3;
  }
}

struct RuleEngine::Impl {
  std::vector<SigInfo> info;
  // [context][buffer][dir]; the packet context uses `packet` instead.
  std::array<std::array<std::array<Prefilter, 2>, kBufferCount>, 3> prefilters;
  // Packet context: [transport bucket][dir] -> databases in packet_sets.
  std::array<std::array<PacketPrefilter, 2>, 4> packet;
  std::vector<Prefilter> packet_sets;
  /// Per direction: the stream fast patterns by the ways they can be split across two
  /// segments.
  std::array<SeamIndex, 2> seam;
  // Rules without a usable fast pattern: [context][dir][bucket]; the bucket is the transport
  // (packet/stream: tcp, udp, icmp, other) or the app-layer protocol (app: AppProto).
  std::array<std::array<std::array<RuleGroup, kBuckets>, 2>, 3> always;
  std::vector<uint32_t> ip_only_any;  ///< IP-only with both addresses `any`
  IpIndex ip_by_src;                  ///< IP-only keyed on the source set
  IpIndex ip_by_dst;                  ///< IP-only with source `any`, keyed on destination
  bool bidirectional_ip_only = false;
  std::array<std::optional<net::Buffer>, kBufferCount> net_buffers;  ///< BufferId -> net::Buffer
  /// Flowbits named `traffic/id/<v>` or `traffic/label/<v>`: (bit, is label, v). When set on
  /// a flow they tag its alerts with EVE's `traffic` object, as Suricata does.
  std::vector<std::tuple<uint32_t, bool, std::string>> traffic_bits;
};

/// The net::Buffer for a rule buffer, nullopt for the payload.
std::optional<net::Buffer> to_net_buffer(BufferId id);

}  // namespace mimamori::net::rules

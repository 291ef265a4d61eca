#pragma once
/// Event: the one in-memory model for everything a detector or collector reports — alerts,
/// flows, protocol logs (dns, http, tls, ssh), anomalies, host events, stats. Its wire form is
/// Suricata's EVE JSON (see eve.h).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mimamori/core/clock.h"
#include "mimamori/core/fields.h"
#include "mimamori/core/ip_address.h"

namespace mimamori::core {

/// EVE `event_type` values Mimamori writes. Host events use the agent's own types.
namespace event_type {
inline constexpr std::string_view kAlert = "alert";
inline constexpr std::string_view kDrop = "drop";
inline constexpr std::string_view kFlow = "flow";
inline constexpr std::string_view kDns = "dns";
inline constexpr std::string_view kHttp = "http";
inline constexpr std::string_view kTls = "tls";
inline constexpr std::string_view kSsh = "ssh";
inline constexpr std::string_view kFileinfo = "fileinfo";
inline constexpr std::string_view kAnomaly = "anomaly";
inline constexpr std::string_view kStats = "stats";
inline constexpr std::string_view kAuth = "auth";                ///< logins, sudo, accounts
inline constexpr std::string_view kFileIntegrity = "fim";        ///< watched file changed
inline constexpr std::string_view kProcess = "process";          ///< process started
inline constexpr std::string_view kPersistence = "persistence";  ///< autostart changed
inline constexpr std::string_view kRansomware = "ransomware";
inline constexpr std::string_view kInventory = "inventory";
inline constexpr std::string_view kHeartbeat = "heartbeat";
}  // namespace event_type

/// The `alert` object of an EVE alert record, as Suricata writes it.
struct Alert {
  std::string action = "allowed";  ///< "allowed" or "blocked"
  uint32_t gid = 1;
  uint64_t signature_id = 0;
  uint32_t rev = 0;
  std::string signature;
  std::string category;
  int severity = 3;  ///< 1 (high) .. 4 (informational), Suricata's scale
  Fields metadata;   ///< rule metadata: key -> array of strings
  Fields extra;      ///< any other members (rule text, source/target, ...)

  bool operator==(const Alert&) const = default;
};

/// One event. The common EVE header is typed; everything specific to the event type lives in
/// `fields`, written after the header (e.g. `"dns": {...}`, `"flow": {...}`, `"host": "pc-01"`).
struct Event {
  Timestamp timestamp;
  std::string event_type;  ///< see namespace event_type
  uint64_t flow_id = 0;    ///< 0: not tied to a flow (not written)
  std::string in_iface;
  IpAddress src_ip;  ///< empty: not written
  IpAddress dest_ip;
  std::optional<uint16_t> src_port;
  std::optional<uint16_t> dest_port;
  std::string proto;      ///< "TCP", "UDP", "ICMP", "IPv6-ICMP", ...
  std::string app_proto;  ///< "http", "dns", "tls", "ssh", "failed", ...
  std::optional<Alert> alert;
  Fields fields;

  /// Resets to an empty event, keeping allocated capacity for reuse.
  void clear();
  bool operator==(const Event&) const = default;
};

}  // namespace mimamori::core

#pragma once
/// Pipeline: one worker's whole data path — decode, flow table, TCP reassembly, app-layer
/// detection and parsing, detectors, EVE records. A Pipeline is used by one thread only; the
/// sensor runs one per worker and feeds each the packets of its flows.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mimamori/core/eve.h"
#include "mimamori/core/fields.h"
#include "mimamori/net/capture.h"
#include "mimamori/net/decode.h"
#include "mimamori/net/detect.h"
#include "mimamori/net/ips_policy.h"
#include "mimamori/net/output.h"

namespace mimamori::core {
class Config;
}

namespace mimamori::net {

/// Checksum validation: on, off (`-k none`), or decided from the first packets (pcap default).
enum class ChecksumMode : uint8_t { kAll, kNone, kAuto };

/// Everything a pipeline is configured with (parse time), read from the config.
struct PipelineOptions {
  ChecksumMode checksums = ChecksumMode::kAuto;
  uint32_t frag_trackers = 4096;
  int64_t frag_timeout_s = 60;
  uint64_t flow_memcap = 128ull << 20;
  uint32_t flow_hash_size = 65536;
  int64_t tcp_new_s = 60, tcp_established_s = 600, tcp_closed_s = 60;
  int64_t udp_new_s = 30, udp_established_s = 300;
  int64_t other_new_s = 30, other_established_s = 300;
  bool midstream = false;
  bool vxlan = true, geneve = true, teredo = true;  ///< UDP tunnels decoded on their ports
  bool tunnel_depth_in_key = true;                  ///< `decoder.recursion-level.use-for-tracking`
  uint64_t stream_depth = 1 << 20;       ///< bytes per direction handed to app-layer/detect
  uint64_t stream_memcap = 64ull << 20;  ///< bytes held out of order, per worker
  uint32_t request_body_limit = 100 * 1024;
  uint32_t response_body_limit = 100 * 1024;
  uint32_t decompress_layers = 2;  ///< content codings undone per HTTP body (0: no limit)
  bool ips = false;                ///< inline or --simulate-ips: drop verdicts take effect
  IpsPolicy policy;                ///< `ips-policy.*`: which alerts block, allow- and deny-lists
  bool log_dns_requests = true,
       log_dns_responses = true;  ///< `outputs.eve.dns-requests`, `-responses`
  bool http_extended = true;      ///< `outputs.eve.http-extended`: method, status, length, ... too
  bool community_id = false;      ///< `outputs.eve.community-id`: Community ID on records
  bool alert_verdict = false;     ///< `outputs.eve.alert-verdict`: `verdict` on alert records
  /// `outputs.eve.xff.*`: the client address an HTTP proxy header names, on alert records —
  /// as `alert.xff` (mode extra-data) or in place of the packet's address (overwrite).
  bool xff = false;
  bool xff_overwrite = false;
  bool xff_reverse = true;  ///< deployment: reverse (last entry) or forward (first)
  std::string xff_header = "X-Forwarded-For";
  uint16_t community_id_seed = 0;        ///< `outputs.eve.community-id-seed`
  bool alert_payload = false;            ///< `outputs.eve.alert.payload`: base64 payload
  bool alert_payload_printable = false;  ///< `outputs.eve.alert.payload-printable`
  bool alert_packet = false;             ///< `outputs.eve.alert.packet`: the frame, base64
  /// `outputs.eve.alert.tagged-packets`: packets tagged by a rule's `tag` option written as
  /// `packet` records (on, as in Suricata's shipped configuration).
  bool alert_tagged_packets = true;
  bool ethernet = false;  ///< `outputs.eve.ethernet`: MAC addresses on alerts
  bool log_flow = true, log_dns = true, log_http = true, log_tls = true, log_ssh = true,
       log_anomaly = true;
  std::string in_iface;
  core::EveFormat format;

  /// Reads options from a sensor config (keys as in Suricata's suricata.yaml where they
  /// overlap, e.g. `stream.reassembly.depth`, `flow.memcap`, `stream.midstream`).
  static PipelineOptions from_config(const core::Config& config);
};

/// Named counters of one pipeline (summed over workers for the stats record).
struct PipelineStats {
  DecodeStats decode;
  uint64_t flows_created = 0, flows_tcp = 0, flows_udp = 0, flows_icmp = 0, flows_other = 0;
  uint64_t flows_timeout = 0, flows_evicted = 0, flow_memcap = 0, flows_active = 0;
  uint64_t tcp_sessions = 0, tcp_midstream = 0, tcp_reassembly_gap = 0, tcp_overlap = 0,
           tcp_ooo = 0, tcp_memcap = 0, tcp_depth_reached = 0, tcp_bytes = 0;
  uint64_t app_flows[6] = {};  ///< indexed by AppProto
  uint64_t app_tx[6] = {};
  uint64_t app_anomalies = 0;
  uint64_t alerts = 0, drops = 0, events = 0;

  void add(const PipelineStats& o);
  /// Appends `"stats": {...}` in Suricata's shape.
  void append_to(core::Fields& f, int64_t uptime_s) const;
};

/// What an inline sensor does with the packet last given to Pipeline::process().
struct PacketVerdict {
  bool drop = false;    ///< do not forward it
  bool reject = false;  ///< and answer it: a TCP reset both ways, or an ICMP unreachable
  bool flow = false;    ///< the whole flow is dropped: later packets may be dropped unseen
};

class PipelineImpl;

class Pipeline {
 public:
  /// `detectors` are this worker's instances; `sink` receives EVE lines (may be shared).
  Pipeline(const PipelineOptions& options, std::vector<std::unique_ptr<Detector>> detectors,
           EveSink* sink);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// Runs one packet through the whole path. Returns false when an IPS verdict dropped it.
  bool process(const RawPacket& raw, uint64_t number);
  /// The verdict of the last process() call (IPS mode; never a drop otherwise).
  const PacketVerdict& verdict() const;
  /// Retires flows whose timeout passed (called as packet time advances).
  void tick(core::Timestamp now);
  /// End of input: retires every flow, writes pending records, flushes to the sink.
  void finish();
  /// Sends buffered lines to the sink.
  void flush();

  /// Counters so far (flow counters are refreshed on each call).
  const PipelineStats& stats();

 private:
  std::unique_ptr<PipelineImpl> impl_;
};

/// Suricata's name of an IP protocol ("TCP", "UDP", "ICMP", "IPv6-ICMP", or the number).
std::string_view proto_name(uint8_t proto, std::string& scratch);

}  // namespace mimamori::net

// Pipeline configuration (parse time) and counters: PipelineOptions read from the sensor's
// config, PipelineStats summed over workers and written as the `stats` record.

#include <cstdint>
#include <string>

#include "mimamori/core/config.h"
#include "mimamori/net/pipeline.h"

namespace mimamori::net {

PipelineOptions PipelineOptions::from_config(const core::Config& c) {
  PipelineOptions o;
  o.frag_trackers = c.get<unsigned>("defrag.trackers", o.frag_trackers);
  o.frag_timeout_s = c.get<int64_t>("defrag.timeout", o.frag_timeout_s);
  o.flow_memcap = c.get<uint64_t>("flow.memcap", o.flow_memcap);
  o.flow_hash_size = c.get<unsigned>("flow.hash-size", o.flow_hash_size);
  o.tcp_new_s = c.get<int64_t>("flow-timeouts.tcp.new", o.tcp_new_s);
  o.tcp_established_s = c.get<int64_t>("flow-timeouts.tcp.established", o.tcp_established_s);
  o.tcp_closed_s = c.get<int64_t>("flow-timeouts.tcp.closed", o.tcp_closed_s);
  o.udp_new_s = c.get<int64_t>("flow-timeouts.udp.new", o.udp_new_s);
  o.udp_established_s = c.get<int64_t>("flow-timeouts.udp.established", o.udp_established_s);
  o.other_new_s = c.get<int64_t>("flow-timeouts.default.new", o.other_new_s);
  o.other_established_s =
      c.get<int64_t>("flow-timeouts.default.established", o.other_established_s);
  o.midstream = c.get<bool>("stream.midstream", o.midstream);
  o.vxlan = c.get<bool>("decoder.vxlan.enabled", o.vxlan);
  o.geneve = c.get<bool>("decoder.geneve.enabled", o.geneve);
  o.teredo = c.get<bool>("decoder.teredo.enabled", o.teredo);
  o.tunnel_depth_in_key =
      c.get<bool>("decoder.recursion-level.use-for-tracking", o.tunnel_depth_in_key);
  o.stream_depth = c.get<uint64_t>("stream.reassembly.depth", o.stream_depth);
  o.stream_memcap = c.get<uint64_t>("stream.reassembly.memcap", o.stream_memcap);
  // Suricata's libhtp default-config keys, or the shorter ones of this sensor.
  constexpr std::string_view kHtp = "app-layer.protocols.http.libhtp.default-config.";
  o.request_body_limit = static_cast<uint32_t>(c.byte_size(
      std::string(kHtp) + "request-body-limit",
      c.byte_size("app-layer.protocols.http.request-body-limit", o.request_body_limit, UINT32_MAX),
      UINT32_MAX));
  o.response_body_limit =
      static_cast<uint32_t>(c.byte_size(std::string(kHtp) + "response-body-limit",
                                        c.byte_size("app-layer.protocols.http.response-body-limit",
                                                    o.response_body_limit, UINT32_MAX),
                                        UINT32_MAX));
  o.decompress_layers = c.get<unsigned>(
      "app-layer.protocols.http.libhtp.default-config.response-body-decompress-layer-limit",
      o.decompress_layers);
  o.ips = c.get<bool>("ips", o.ips);
  o.policy = IpsPolicy::from_config(c);
  o.log_flow = c.get<bool>("outputs.eve.flow", o.log_flow);
  o.log_dns = c.get<bool>("outputs.eve.dns", o.log_dns);
  o.log_dns_requests = c.get<bool>("outputs.eve.dns-requests", o.log_dns_requests);
  o.log_dns_responses = c.get<bool>("outputs.eve.dns-responses", o.log_dns_responses);
  o.http_extended = c.get<bool>("outputs.eve.http-extended", o.http_extended);
  o.community_id = c.get<bool>("outputs.eve.community-id", o.community_id);
  o.alert_verdict = c.get<bool>("outputs.eve.alert-verdict", o.alert_verdict);
  o.xff = c.get<bool>("outputs.eve.xff.enabled", o.xff);
  if (o.xff) {
    auto mode = c.get<std::string>("outputs.eve.xff.mode", "extra-data");
    auto deployment = c.get<std::string>("outputs.eve.xff.deployment", "reverse");
    if (mode != "extra-data" && mode != "overwrite")
      throw core::ConfigError("outputs.eve.xff.mode: expected extra-data or overwrite, got '" +
                              mode + "'");
    if (deployment != "reverse" && deployment != "forward")
      throw core::ConfigError("outputs.eve.xff.deployment: expected reverse or forward, got '" +
                              deployment + "'");
    o.xff_overwrite = mode == "overwrite";
    o.xff_reverse = deployment == "reverse";
    o.xff_header = c.get<std::string>("outputs.eve.xff.header", o.xff_header);
  }
  o.community_id_seed = c.get<unsigned>("outputs.eve.community-id-seed", o.community_id_seed);
  o.log_http = c.get<bool>("outputs.eve.http", o.log_http);
  o.log_tls = c.get<bool>("outputs.eve.tls", o.log_tls);
  o.log_ssh = c.get<bool>("outputs.eve.ssh", o.log_ssh);
  o.log_anomaly = c.get<bool>("outputs.eve.anomaly", o.log_anomaly);
  o.alert_payload = c.get<bool>("outputs.eve.alert.payload", o.alert_payload);
  o.alert_payload_printable =
      c.get<bool>("outputs.eve.alert.payload-printable", o.alert_payload_printable);
  o.alert_packet = c.get<bool>("outputs.eve.alert.packet", o.alert_packet);
  o.alert_tagged_packets = c.get<bool>("outputs.eve.alert.tagged-packets", o.alert_tagged_packets);
  o.ethernet = c.get<bool>("outputs.eve.ethernet", o.ethernet);
  std::string tz = c.get<std::string>("outputs.eve.timezone", "jst");
  o.format.utc_offset_minutes = tz == "utc" || tz == "UTC" ? 0 : core::kJstOffsetMinutes;
  return o;
}

void PipelineStats::add(const PipelineStats& o) {
  auto* a = reinterpret_cast<uint64_t*>(&decode);
  auto* b = reinterpret_cast<const uint64_t*>(&o.decode);
  for (std::size_t i = 0; i < sizeof(DecodeStats) / sizeof(uint64_t); ++i) a[i] += b[i];
  // Everything after `decode` is uint64_t counters too.
  auto* x = reinterpret_cast<uint64_t*>(&flows_created);
  auto* y = reinterpret_cast<const uint64_t*>(&o.flows_created);
  std::size_t n =
      (reinterpret_cast<const char*>(&events + 1) - reinterpret_cast<const char*>(&flows_created)) /
      sizeof(uint64_t);
  for (std::size_t i = 0; i < n; ++i) x[i] += y[i];
}

void PipelineStats::append_to(core::Fields& f, int64_t uptime_s) const {
  const DecodeStats& d = decode;
  f.begin_object("stats");
  f.add("uptime", uptime_s);
  f.begin_object("decoder")
      .add("pkts", d.pkts)
      .add("bytes", d.bytes)
      .add("invalid", d.invalid)
      .add("ipv4", d.ipv4)
      .add("ipv6", d.ipv6)
      .add("ethernet", d.ethernet)
      .add("sll", d.sll)
      .add("raw", d.raw)
      .add("tcp", d.tcp)
      .add("udp", d.udp)
      .add("icmpv4", d.icmpv4)
      .add("icmpv6", d.icmpv6)
      .add("vlan", d.vlan)
      .add("pppoe", d.pppoe)
      .add("gre", d.gre)
      .add("vxlan", d.vxlan)
      .add("geneve", d.geneve)
      .add("teredo", d.teredo)
      .add("ipip", d.ipip)
      .add("erspan", d.erspan)
      .add("nsh", d.nsh)
      .add("arp", d.arp)
      .add("other", d.other)
      .add("checksum_errors", d.checksum_bad);
  f.begin_object("event");
  for (int i = 1; i < static_cast<int>(Anomaly::kCount); ++i)
    if (d.anomalies[i]) f.add(anomaly_name(static_cast<Anomaly>(i)), d.anomalies[i]);
  f.end();
  f.end();
  f.begin_object("defrag")
      .add("fragments", d.frag_fragments)
      .add("reassembled", d.frag_reassembled)
      .add("timeouts", d.frag_timeouts)
      .add("overlaps", d.frag_overlaps)
      .add("memcap", d.frag_memcap)
      .end();
  f.begin_object("flow")
      .add("total", flows_created)
      .add("tcp", flows_tcp)
      .add("udp", flows_udp)
      .add("icmp", flows_icmp)
      .add("other", flows_other)
      .add("active", flows_active)
      .add("timeout", flows_timeout)
      .add("evicted", flows_evicted)
      .add("memcap", flow_memcap)
      .end();
  f.begin_object("tcp")
      .add("sessions", tcp_sessions)
      .add("midstream_pickups", tcp_midstream)
      .add("reassembly_gap", tcp_reassembly_gap)
      .add("overlap", tcp_overlap)
      .add("out_of_order", tcp_ooo)
      .add("memcap", tcp_memcap)
      .add("depth_reached", tcp_depth_reached)
      .add("reassembled_bytes", tcp_bytes)
      .end();
  f.begin_object("app_layer");
  f.begin_object("flow");
  for (int i = 1; i < 6; ++i) f.add(app_proto_name(static_cast<AppProto>(i)), app_flows[i]);
  f.end();
  f.begin_object("tx");
  for (int i = 1; i < 5; ++i) f.add(app_proto_name(static_cast<AppProto>(i)), app_tx[i]);
  f.end();
  f.add("anomalies", app_anomalies);
  f.end();
  f.begin_object("detect").add("alert", alerts).end();
  f.begin_object("ips").add("drop", drops).end();
  f.end();
}

}  // namespace mimamori::net

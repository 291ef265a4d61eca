// The pipeline drives one worker's packet path through its stages: decode (and defrag) →
// flow → stream (TCP reassembly) → app layer (protocol detection, parsers) → detect → output.
// Detectors queue what they find (alert_queue.h); the queue is written as EVE records
// (eve_records.h) once the detectors of a packet, a stream chunk or an app-layer progress
// point return.

#include "mimamori/net/pipeline.h"

#include <algorithm>

#include "alert_queue.h"
#include "app/app.h"
#include "eve_records.h"
#include "flow_internals.h"
#include "flow_table.h"
#include "mimamori/core/log.h"
#include "stream.h"

namespace mimamori::net {

class PipelineImpl final : public DetectContext, public AppSink, public StreamReceiver {
 public:
  PipelineImpl(const PipelineOptions& o, std::vector<std::unique_ptr<Detector>> detectors,
               EveSink* sink)
      : opt_(o),
        records_(opt_, sink, stats_),
        decoder_(make_decode_options(o)),
        reassembly_(StreamLimits{o.stream_depth, o.stream_memcap}, stats_, *this),
        flows_(make_flow_options(o), [this](Flow& f, FlowEndReason r) { flow_end(f, r); }),
        detectors_(std::move(detectors)) {
    limits_.request_body_limit = o.request_body_limit;
    limits_.response_body_limit = o.response_body_limit;
    limits_.decompress_layers = o.decompress_layers;
    limits_.http_extended = o.http_extended;
    for (unsigned i = 0; i < detectors_.size(); ++i) detectors_[i]->set_flow_slot(i);
    if (o.checksums == ChecksumMode::kNone) decoder_.set_check_checksums(false);
  }

  static DecodeOptions make_decode_options(const PipelineOptions& o) {
    DecodeOptions d;
    d.check_checksums = o.checksums != ChecksumMode::kNone;
    d.frag_trackers = o.frag_trackers;
    d.frag_timeout_us = o.frag_timeout_s * 1'000'000;
    d.vxlan = o.vxlan;
    d.geneve = o.geneve;
    d.teredo = o.teredo;
    return d;
  }
  static FlowTableOptions make_flow_options(const PipelineOptions& o) {
    FlowTableOptions f;
    f.memcap = o.flow_memcap;
    f.hash_size = o.flow_hash_size;
    f.tcp = {o.tcp_new_s, o.tcp_established_s, o.tcp_closed_s};
    f.udp = {o.udp_new_s, o.udp_established_s, 0};
    f.icmp = {o.other_new_s, o.other_established_s, 0};
    f.other = {o.other_new_s, o.other_established_s, 0};
    f.midstream = o.midstream;
    f.tunnel_depth_in_key = o.tunnel_depth_in_key;
    return f;
  }

  // --- the data path ---------------------------------------------------------------------

  bool process(const RawPacket& raw, uint64_t number) {
    Anomaly a = Anomaly::kNone;
    Decoder::Outcome oc = decoder_.decode(raw, pkt_, a);
    pkt_.number = number;
    auto_checksums();
    if (a != Anomaly::kNone && opt_.log_anomaly) records_.decode_anomaly(pkt_, a);
    verdict_ = PacketVerdict{};
    if (oc == Decoder::Outcome::kFragment) return true;
    if (pkt_.timestamp.micros - last_tick_.micros >= 1'000'000 || pkt_.timestamp < last_tick_) {
      tick(pkt_.timestamp);
    }
    verdict_drop_ = false;
    if (int layers = decoder_.tunnel_layers()) {
      // Tunnels: each layer's packet is inspected first, outermost first (in its own flow,
      // except GRE), then the inner one.
      Packet inner = pkt_;
      bool pass = true;
      for (int i = 0; i < layers; ++i) {
        pkt_ = decoder_.tunnel_layer(i);
        pkt_.number = number;
        verdict_drop_ = false;
        if (!handle(Anomaly::kNone, decoder_.tunnel_layer_has_flow(i))) pass = false;
      }
      pkt_ = inner;
      verdict_drop_ = false;
      if (!handle(a, true)) pass = false;
      verdict_.drop = !pass;
      return pass;
    }
    bool pass = handle(a, true);
    verdict_.drop = !pass;
    return pass;
  }

  // Flow, detectors and app-layer for the decoded packet in pkt_.
  bool handle(Anomaly a, bool track) {
    Flow* flow = nullptr;
    // Some anomalies leave a whole packet (an atomic IPv6 fragment, overlapping fragments
    // reassembled first-wins): it is still tracked and inspected, as Suricata does.
    bool whole = a == Anomaly::kNone || a == Anomaly::kIpv6ExthdrUselessFh ||
                 (a == Anomaly::kFragOverlap && pkt_.reassembled);
    if (pkt_.ip_version != 0 && whole && track) flow = flows_.update(pkt_);
    if (flow && flow->drop && opt_.ips) {
      ++stats_.drops;
      verdict_.flow = true;
      return false;
    }
    if (opt_.ips && !opt_.policy.deny.empty() && pkt_.ip_version != 0) deny_list();
    stream_ = false;
    for (auto& d : detectors_) d->on_packet(pkt_, *this);
    write_detections();
    if (flow && !checksum_blocks()) {
      if (pkt_.is_tcp())
        reassembly_.packet(*flow, pkt_);
      else if (pkt_.is_udp() && !pkt_.payload.empty())
        udp(*flow);
    }
    if (verdict_drop_) ++stats_.drops;
    if (records_.buffered() > (1 << 16)) records_.flush();
    return !verdict_drop_;
  }

  // A deny-list address: the flow is blocked with an alert of the policy's own gid.
  void deny_list() {
    const IpNetwork* n = opt_.policy.denied(pkt_.src_ip, pkt_.dst_ip);
    if (!n || opt_.policy.allowed(pkt_.src_ip, pkt_.dst_ip)) return;
    core::Alert a;
    a.action = "blocked";
    a.gid = kPolicyGid;
    a.signature_id = 1;
    a.rev = 1;
    std::string net = n->base.to_string() + "/" + std::to_string(n->prefix);
    a.signature = "MIMAMORI IPS deny list " + net;
    a.category = "IPS deny list";
    a.severity = 1;
    queue_.push_alert(a, "drop", nullptr);
    req_flow_ = true;
    req_reject_ = opt_.policy.deny_reject;
    write_detections();
  }

  // The policy's word on the drop requests and alerts of one detector loop (IPS mode): an
  // allow-listed packet always passes; an alert may be turned into a block (a drop category
  // or gid) or a block into an alert (alert-only). Every blocking alert says `blocked`.
  void resolve() {
    bool asked = req_flow_ || req_pkt_, asked_flow = req_flow_;
    req_flow_ = req_pkt_ = false;
    bool reject = req_reject_;
    req_reject_ = false;
    if (!opt_.ips || (!asked && queue_.empty())) return;
    const IpsPolicy& pol = opt_.policy;
    bool allow = !pol.allow.empty() && pol.allowed(pkt_.src_ip, pkt_.dst_ip);
    bool kept = false, demoted = false, promoted = false;
    for (AlertQueue::Entry& e : queue_) {
      if (e.kind != AlertQueue::Kind::kAlert) continue;
      IpsPolicy::Decision d = allow ? IpsPolicy::Decision::kAlertOnly : pol.decide(e.alert);
      bool blocked = e.alert.action == "blocked";
      if (blocked && d == IpsPolicy::Decision::kAlertOnly) {
        e.alert.action = "allowed";
        if (e.verdict == "drop") e.verdict = "alert";
        demoted = true;
      } else if (!blocked && d == IpsPolicy::Decision::kBlock) {
        e.alert.action = "blocked";
        if (!e.verdict.empty()) e.verdict = "drop";
        promoted = true;
      } else if (blocked) {
        kept = true;
      }
    }
    bool flow = false;
    if (promoted) flow = true;
    if (asked && !allow && (kept || !demoted)) {
      verdict_drop_ = true;
      flow |= asked_flow;
      verdict_.reject |= reject;
    }
    if (promoted) verdict_drop_ = true;
    if (flow && verdict_drop_) {
      verdict_.flow = true;
      if (pkt_.flow) pkt_.flow->drop = true;
    }
  }

  void auto_checksums() {
    if (opt_.checksums != ChecksumMode::kAuto || checksum_decided_) return;
    const DecodeStats& d = decoder_.stats();
    if (d.pkts >= 1000 || (d.checksum_bad >= 10 && d.checksum_bad * 10 >= d.pkts)) {
      // As Suricata's pcap "auto" mode: captures where offloading left many checksums unset.
      if (d.checksum_bad * 10 >= d.pkts && d.checksum_bad > 0) {
        decoder_.set_check_checksums(false);
        spdlog::info("{} of the first {} packets have bad checksums: checksum checks disabled",
                     d.checksum_bad, d.pkts);
      }
      checksum_decided_ = true;
    }
  }

  // Packets seen before the auto decision keep their bad-checksum mark; in auto mode the
  // mark only counts once validation stays on, so early offloaded packets are not lost.
  bool checksum_blocks() const {
    return pkt_.checksum_bad && (opt_.checksums == ChecksumMode::kAll || checksum_decided_);
  }

  void tick(core::Timestamp now) {
    last_tick_ = now;
    flows_.expire(now);
  }

  // --- stream (StreamReceiver) ---------------------------------------------------------------

  void stream_data(Flow& f, const StreamChunk& chunk) override {
    stream_ = true;
    for (auto& det : detectors_) det->on_stream(chunk, *this);
    write_detections();
    app_data(f, chunk.direction, chunk.data, true);
    stream_ = false;
  }

  void stream_gap(Flow& f, Direction dir, uint32_t lost) override {
    if (f.internals->parser) f.internals->parser->gap(dir, lost);
  }

  void stream_anomaly(Flow& f, std::string_view event) override {
    if (opt_.log_anomaly) records_.stream_anomaly(pkt_, f, event);
  }

  // --- app layer ---------------------------------------------------------------------------

  void udp(Flow& f) {
    FlowInternals& fi = *f.internals;
    if (f.app_proto == AppProto::kUnknown) {
      if (looks_like_dns(pkt_.payload)) {
        set_proto(f, AppProto::kDns, false);
      } else if (++fi.udp_probes >= 4) {
        f.app_proto = AppProto::kFailed;
      }
    }
    if (fi.parser) {
      stream_ = true;
      app_data(f, pkt_.direction, pkt_.payload, false);
      stream_ = false;
    }
  }

  void set_proto(Flow& f, AppProto p, bool tcp) {
    FlowInternals& fi = *f.internals;
    f.app_proto = p;
    ++stats_.app_flows[static_cast<int>(p)];
    if (p == AppProto::kFailed) return;
    // Parsers are kept per protocol in a small free list, so flows reuse them.
    auto& spare = spare_parsers_[static_cast<int>(p)][tcp ? 1 : 0];
    if (!spare.empty()) {
      fi.parser = std::move(spare.back());
      spare.pop_back();
      return;
    }
    switch (p) {
      case AppProto::kHttp:
        fi.parser = make_http_parser(limits_);
        break;
      case AppProto::kDns:
        fi.parser = make_dns_parser(tcp);
        break;
      case AppProto::kTls:
        fi.parser = make_tls_parser();
        break;
      case AppProto::kSsh:
        fi.parser = make_ssh_parser();
        break;
      default:
        break;
    }
  }

  void app_data(Flow& f, Direction dir, std::string_view data, bool tcp) {
    FlowInternals& fi = *f.internals;
    int d = static_cast<int>(dir);
    std::string* held = nullptr;  // probe bytes to hand to the parser with this chunk
    const std::size_t chunk = data.size();
    if (fi.probe_buf && !fi.probe_buf[d].empty()) {
      held = &fi.probe_buf[d];
      held->append(data);
      data = *held;
    }
    if (tcp && f.app_proto == AppProto::kUnknown) {
      bool give_up = false;
      fi.probe_bytes[d] += static_cast<uint32_t>(chunk);
      AppProto p = detect_tcp_proto(dir, data, give_up);
      if (p == AppProto::kUnknown && !give_up && data.size() < 64) {
        // Too short to tell (e.g. "GE" of a GET split over segments): keep it for the next.
        if (!held) {
          if (!fi.probe_buf) fi.probe_buf = std::make_unique<std::string[]>(2);
          fi.probe_buf[d].assign(data);
        }
        return;
      }
      if (p != AppProto::kUnknown) {
        (dir == Direction::kToServer ? f.app_proto_ts : f.app_proto_tc) = p;
        set_proto(f, p, true);
      } else if (give_up) {
        fi.probe_bytes[d] = std::max<uint32_t>(fi.probe_bytes[d], 4096);
        if (fi.probe_bytes[0] >= 4096 && fi.probe_bytes[1] >= 4096)
          set_proto(f, AppProto::kFailed, true);
        else if (fi.probe_bytes[d] >= 4096 && (fi.probe_bytes[1 - d] > 0 || data.size() > 512))
          set_proto(f, AppProto::kFailed, true);
      }
    }
    if (!fi.parser) {
      if (held) held->clear();
      return;
    }
    cur_flow_ = &f;
    switch_pending_ = false;
    fi.parser->parse(dir, data, *this);
    cur_flow_ = nullptr;
    if (held) held->clear();
    if (switch_pending_ && tcp) {
      // Detect the tunnelled protocol from the next bytes of either side.
      switch_pending_ = false;
      fi.parser->reset();
      auto& spare = spare_parsers_[static_cast<int>(f.app_proto)][1];
      if (spare.size() < 64) spare.push_back(std::move(fi.parser));
      fi.parser.reset();
      f.app_proto = f.app_proto_ts = f.app_proto_tc = AppProto::kUnknown;
      fi.probe_bytes[0] = fi.probe_bytes[1] = 0;
      fi.probe_buf.reset();
    }
  }

  void switch_protocol() override { switch_pending_ = true; }

  // AppSink
  // AppSink
  void progress(const AppEvent& ev) override {
    // A DNS message reports its progress just before its record: it tells query from answer.
    if (ev.proto == AppProto::kDns) dns_answer_ = ev.progress == AppProgress::kDnsAnswer;
    if (detectors_.empty() || !cur_flow_) return;
    app_parser_ = cur_flow_->internals->parser.get();
    bool was = stream_;
    stream_ = true;
    app_tx_ = static_cast<int64_t>(ev.tx_id);
    if (closing_) {
      // At flow end (a body cut short, read until close) no packet of the flow is at hand:
      // detectors see a payload-less pseudo packet of the flow in the event's direction, as
      // Suricata's flow-end pseudo packets.
      Packet saved = pkt_;
      set_pseudo_packet(*cur_flow_, ev.direction, saved.number);
      for (auto& d : detectors_) d->on_app(ev, *this);
      write_detections();
      pkt_ = saved;
    } else {
      for (auto& d : detectors_) d->on_app(ev, *this);
      write_detections();
    }
    stream_ = was;
    app_parser_ = nullptr;
    app_tx_ = -1;
  }

  void set_pseudo_packet(Flow& f, Direction dir, uint64_t number) {
    static constexpr char kNoHeader[20] = {};
    bool ts = dir == Direction::kToServer;
    pkt_ = Packet{};
    pkt_.timestamp = f.last;
    pkt_.number = number;
    pkt_.ip_version = f.client_ip.is_v6() ? 6 : 4;
    pkt_.src_ip = ts ? f.client_ip : f.server_ip;
    pkt_.dst_ip = ts ? f.server_ip : f.client_ip;
    pkt_.src_port = ts ? f.client_port : f.server_port;
    pkt_.dst_port = ts ? f.server_port : f.client_port;
    pkt_.proto = f.proto;
    pkt_.l4_header = std::string_view(kNoHeader, sizeof(kNoHeader));
    pkt_.flow = &f;
    pkt_.direction = dir;
    pkt_.origin = PacketOrigin::kFlowEnd;
  }

  void record(std::string_view type, const core::Fields& fields, Direction dir) override {
    Flow* f = cur_flow_;
    if (!f) return;
    ++stats_.app_tx[static_cast<int>(f->app_proto)];
    bool want = (type == "dns" && opt_.log_dns &&
                 (dns_answer_ ? opt_.log_dns_responses : opt_.log_dns_requests)) ||
                (type == "http" && opt_.log_http) || (type == "tls" && opt_.log_tls) ||
                (type == "ssh" && opt_.log_ssh);
    if (!want) return;
    records_.app_record(pkt_, *f, type, fields, dir, closing_);
  }

  void anomaly(std::string_view event) override {
    ++stats_.app_anomalies;
    Flow* f = cur_flow_;
    if (!opt_.log_anomaly || !f) return;
    records_.app_anomaly(pkt_, *f, event, closing_);
  }

  // --- flow end ----------------------------------------------------------------------------

  void flow_end(Flow& f, FlowEndReason reason) {
    FlowInternals& fi = *f.internals;
    closing_ = true;
    // Hand over what is still held out of order, after a gap.
    if (f.proto == ip_proto::kTcp && fi.stream_tracked) reassembly_.flush(f);
    if (fi.parser) {
      cur_flow_ = &f;
      fi.parser->close(*this);
      cur_flow_ = nullptr;
    }
    for (auto& d : detectors_) d->on_flow_end(f);
    if (f.proto == ip_proto::kTcp && f.app_proto == AppProto::kUnknown &&
        (fi.probe_bytes[0] || fi.probe_bytes[1]))
      f.app_proto = AppProto::kFailed;
    if (opt_.log_flow) records_.flow(f, reason);
    closing_ = false;
    reassembly_.release(f);
    if (fi.parser) {
      fi.parser->reset();
      int p = static_cast<int>(fi.parser->proto());
      auto& spare = spare_parsers_[p][f.proto == ip_proto::kTcp ? 1 : 0];
      if (spare.size() < 64) spare.push_back(std::move(fi.parser));
      fi.parser.reset();
    }
  }

  // --- output ------------------------------------------------------------------------------

  // Writes what the detectors queued, in the order they queued it, for the packet (or stream
  // chunk, or app-layer progress point) they just inspected.
  void write_detections() {
    resolve();
    if (queue_.empty()) return;
    AlertSite site{&pkt_, app_tx_, closing_, stream_};
    for (const AlertQueue::Entry& e : queue_) {
      switch (e.kind) {
        case AlertQueue::Kind::kAlert:
          records_.alert(site, e.alert, e.verdict, e.has_extra ? &e.extra : nullptr);
          break;
        case AlertQueue::Kind::kTaggedPacket:
          records_.tagged_packet(pkt_, closing_);
          break;
        case AlertQueue::Kind::kEvent:
          records_.event(e.event);
          break;
      }
    }
    queue_.clear();
  }

  void flush() { records_.flush(); }
  const PacketVerdict& verdict() const { return verdict_; }

  void finish() {
    flows_.shutdown();
    records_.finish();
  }

  const PipelineStats& stats() {
    stats_.decode = decoder_.stats();
    const FlowTableStats& fs = flows_.stats();
    stats_.flows_created = fs.created;
    stats_.flows_tcp = fs.tcp;
    stats_.flows_udp = fs.udp;
    stats_.flows_icmp = fs.icmp;
    stats_.flows_other = fs.other;
    stats_.flows_timeout = fs.timeouts;
    stats_.flows_evicted = fs.evicted;
    stats_.flow_memcap = fs.memcap;
    stats_.flows_active = fs.active;
    return stats_;
  }

  // --- DetectContext -----------------------------------------------------------------------

  const Packet& packet() const override { return pkt_; }
  bool stream_data() const override { return stream_; }
  std::string_view buffer(Buffer b, std::size_t index) const override {
    return app_parser_ ? app_parser_->buffer(b, index) : std::string_view{};
  }
  std::size_t buffer_count(Buffer b) const override {
    return app_parser_ ? app_parser_->buffer_count(b) : 0;
  }
  void alert(const core::Alert& alert) override { alert_verdict(alert, {}); }
  void alert_verdict(const core::Alert& alert, std::string_view verdict,
                     const core::Fields* extra = nullptr) override {
    queue_.push_alert(alert, verdict, extra);
  }

  // Drop requests are judged by the policy once the detector loop returns (resolve()).
  void drop() override {
    if (!opt_.ips) return;
    req_flow_ = true;
  }
  void drop_packet() override {
    if (opt_.ips) req_pkt_ = true;
  }
  void reject(bool whole_flow) override {
    if (!opt_.ips) return;
    if (whole_flow)
      drop();
    else
      drop_packet();
    req_reject_ = true;
  }
  bool ips_mode() const override { return opt_.ips; }
  void tagged_packet() override { queue_.push_tagged_packet(); }
  void emit(core::Event& event) override {
    if (event.flow_id == 0 && pkt_.flow) event.flow_id = pkt_.flow->id;
    queue_.push_event(event);
  }

 private:
  PipelineOptions opt_;
  PipelineStats stats_;
  EveRecords records_;
  AppLimits limits_;
  Decoder decoder_;
  StreamReassembler reassembly_;
  FlowTable flows_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  AlertQueue queue_;
  Packet pkt_;
  core::Timestamp last_tick_;
  bool checksum_decided_ = false;
  bool verdict_drop_ = false;
  bool req_flow_ = false, req_pkt_ = false, req_reject_ = false;  // asked by the detector loop
  PacketVerdict verdict_;
  bool stream_ = false;
  bool closing_ = false;
  bool switch_pending_ = false;  // the parser asked for protocol detection afresh
  bool dns_answer_ = false;      // the DNS message being recorded is a response
  Flow* cur_flow_ = nullptr;
  AppParser* app_parser_ = nullptr;
  int64_t app_tx_ = -1;  // the transaction of the on_app callback in progress, else -1
  std::vector<std::unique_ptr<AppParser>> spare_parsers_[6][2];
};

Pipeline::Pipeline(const PipelineOptions& options, std::vector<std::unique_ptr<Detector>> detectors,
                   EveSink* sink)
    : impl_(std::make_unique<PipelineImpl>(options, std::move(detectors), sink)) {}
Pipeline::~Pipeline() = default;
bool Pipeline::process(const RawPacket& raw, uint64_t number) {
  return impl_->process(raw, number);
}
const PacketVerdict& Pipeline::verdict() const { return impl_->verdict(); }
void Pipeline::tick(core::Timestamp now) { impl_->tick(now); }
void Pipeline::finish() { impl_->finish(); }
void Pipeline::flush() { impl_->flush(); }
const PipelineStats& Pipeline::stats() { return impl_->stats(); }

}  // namespace mimamori::net

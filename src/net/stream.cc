#include "stream.h"

#include <string>

#include "flow_internals.h"
#include "mimamori/net/pipeline.h"

namespace mimamori::net {
namespace {

// True when `d` can only have come from a server: an HTTP response, or an SMB message with
// its reply flag (SMB1 flags bit 0x80, SMB2 SERVER_TO_REDIR) after the NetBIOS session header.
bool is_server_reply(std::string_view d) {
  if (d.substr(0, 7) == "HTTP/1.") return true;
  if (d.size() < 4 + 20 || d[0] != 0) return false;
  std::string_view smb = d.substr(4);
  if (smb.substr(0, 4) == "\xffSMB") return (static_cast<uint8_t>(smb[9]) & 0x80) != 0;
  if (smb.substr(0, 4) == "\xfeSMB") return (static_cast<uint8_t>(smb[16]) & 0x01) != 0;
  return false;
}

}  // namespace

void StreamReassembler::packet(Flow& f, Packet& p) {
  FlowInternals& fi = *f.internals;
  if (!fi.stream_tracked) return;
  if (f.midstream && p.direction == Direction::kToServer && f.app_proto == AppProto::kUnknown &&
      fi.side[0].delivered == 0 && fi.side[1].delivered == 0 && is_server_reply(p.payload))
    swap_sides(f, p);
  if (f.pkts[0] + f.pkts[1] == 1) {
    ++stats_.tcp_sessions;
    if (f.midstream) ++stats_.tcp_midstream;
  }
  int d = static_cast<int>(p.direction);
  StreamSide& s = fi.side[d];
  uint8_t fl = p.tcp_flags;
  if (fl & tcp_flag::kSyn) {
    s.init = true;
    s.next_seq = p.tcp_seq + 1;
    // TCP Fast Open: a SYN may carry the first request.
    if (!p.payload.empty()) segment(f, d, p.tcp_seq + 1, p.payload);
    return;
  }
  if (!s.init) {
    // Missed the SYN (or midstream): start at this segment.
    s.init = true;
    s.next_seq = p.tcp_seq;
  }
  // What the peer acknowledged tells, later, whether missing bytes were lost for good.
  if (fl & tcp_flag::kAck) {
    StreamSide& o = fi.side[1 - d];
    if (!o.peer_ack_seen || static_cast<int32_t>(p.tcp_ack - o.peer_acked) > 0) {
      o.peer_acked = p.tcp_ack;
      o.peer_ack_seen = true;
    }
  }
  if (!p.payload.empty()) segment(f, d, p.tcp_seq, p.payload);
  if (fl & (tcp_flag::kFin | tcp_flag::kRst)) s.fin = true;
}

// A session picked up midstream whose first data is a server's reply: the side we took for
// the client is the server. Turn the flow around (as Suricata does) so that records name
// the real client and the parser sees the response on the server's side.
void StreamReassembler::swap_sides(Flow& f, Packet& p) {
  std::swap(f.client_ip, f.server_ip);
  std::swap(f.client_port, f.server_port);
  std::swap(f.pkts[0], f.pkts[1]);
  std::swap(f.bytes[0], f.bytes[1]);
  std::swap(f.tcp_flags[0], f.tcp_flags[1]);
  FlowInternals& fi = *f.internals;
  std::swap(fi.side[0], fi.side[1]);
  std::swap(fi.probe_bytes[0], fi.probe_bytes[1]);
  if (fi.probe_buf) std::swap(fi.probe_buf[0], fi.probe_buf[1]);
  p.direction = Direction::kToClient;
}

// Bytes [next_seq, to) of direction d were lost; the stream continues at `to`.
void StreamReassembler::skip_to(Flow& f, int d, uint32_t to) {
  StreamSide& s = f.internals->side[d];
  uint32_t lost = to - s.next_seq;
  s.next_seq = to;
  gap(f, d, lost);
}

void StreamReassembler::gap(Flow& f, int d, uint32_t lost) {
  ++stats_.tcp_reassembly_gap;
  StreamSide& s = f.internals->side[d];
  s.gap_pending = true;
  receiver_.stream_gap(f, static_cast<Direction>(d), lost);
}

void StreamReassembler::segment(Flow& f, int d, uint32_t seq, std::string_view data) {
  StreamSide& s = f.internals->side[d];
  if (s.closed) return;
  int32_t diff = static_cast<int32_t>(seq - s.next_seq);
  if (diff < 0) {
    int64_t end = static_cast<int64_t>(diff) + static_cast<int64_t>(data.size());
    ++stats_.tcp_overlap;
    if (end <= 0) return;  // all old: first copy won
    receiver_.stream_anomaly(f, "stream.reassembly_overlap");
    data.remove_prefix(static_cast<std::size_t>(-diff));
    diff = 0;
  }
  if (diff == 0) {
    deliver(f, d, data);
    drain(f, d);
    return;
  }
  // Out of order. If the receiver already acknowledged the missing bytes, the capture lost
  // them and they will not come: record a gap and go on from here.
  if (s.peer_ack_seen && static_cast<int32_t>(s.peer_acked - seq) >= 0) {
    skip_to(f, d, seq);
    deliver(f, d, data);
    drain(f, d);
    return;
  }
  // Otherwise hold a copy, within the per-worker memcap.
  ++stats_.tcp_ooo;
  if (ooo_bytes_ + data.size() > limits_.memcap || s.ooo.size() >= 1024) {
    ++stats_.tcp_memcap;
    // Give up waiting: skip to the held data (gap) so memory stays bounded.
    if (!s.ooo.empty()) {
      uint32_t lowest = s.ooo[0].seq;
      for (auto& sg : s.ooo)
        if (static_cast<int32_t>(sg.seq - lowest) < 0) lowest = sg.seq;
      skip_to(f, d, lowest);
      drain(f, d);
    }
    return;
  }
  for (auto& sg : s.ooo)
    if (sg.seq == seq && sg.data.size() >= data.size()) return;  // retransmission: first wins
  s.ooo.push_back({seq, std::string(data)});
  s.buffered += data.size();
  ooo_bytes_ += data.size();
}

void StreamReassembler::drain(Flow& f, int d) {
  StreamSide& s = f.internals->side[d];
  bool progress = true;
  while (progress && !s.ooo.empty()) {
    progress = false;
    for (std::size_t i = 0; i < s.ooo.size(); ++i) {
      auto& sg = s.ooo[i];
      int32_t diff = static_cast<int32_t>(sg.seq - s.next_seq);
      if (diff > 0) continue;
      std::string data = std::move(sg.data);
      s.buffered -= data.size();
      ooo_bytes_ -= data.size();
      s.ooo.erase(s.ooo.begin() + static_cast<long>(i));
      int64_t end = static_cast<int64_t>(diff) + static_cast<int64_t>(data.size());
      if (end > 0) {
        if (diff < 0) ++stats_.tcp_overlap;
        deliver(f, d, std::string_view(data).substr(static_cast<std::size_t>(-diff)));
      }
      progress = true;
      break;
    }
  }
}

void StreamReassembler::release(Flow& f) {
  for (auto& s : f.internals->side) {
    ooo_bytes_ -= s.buffered;
    s.buffered = 0;
    s.ooo.clear();
  }
}

void StreamReassembler::deliver(Flow& f, int d, std::string_view data) {
  StreamSide& s = f.internals->side[d];
  s.next_seq += static_cast<uint32_t>(data.size());
  if (s.closed) return;
  if (s.delivered + data.size() > limits_.depth) {
    data = data.substr(0, static_cast<std::size_t>(limits_.depth - s.delivered));
    s.closed = true;
    ++stats_.tcp_depth_reached;
  }
  if (data.empty()) return;
  StreamChunk chunk{static_cast<Direction>(d), s.delivered, data, s.gap_pending};
  s.delivered += data.size();
  s.gap_pending = false;
  stats_.tcp_bytes += data.size();
  receiver_.stream_data(f, chunk);
}

void StreamReassembler::flush(Flow& f) {
  for (int d = 0; d < 2; ++d) {
    StreamSide& s = f.internals->side[d];
    while (!s.ooo.empty()) {
      uint32_t lowest = s.ooo[0].seq;
      for (auto& sg : s.ooo)
        if (static_cast<int32_t>(sg.seq - lowest) < 0) lowest = sg.seq;
      if (lowest != s.next_seq) skip_to(f, d, lowest);
      drain(f, d);
    }
  }
}

}  // namespace mimamori::net

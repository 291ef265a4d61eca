#include "mimamori/net/flow.h"

#include "flow_internals.h"

namespace mimamori::net {

Flow::Flow() = default;
Flow::~Flow() = default;

std::string_view app_proto_name(AppProto p) {
  switch (p) {
    case AppProto::kHttp:
      return "http";
    case AppProto::kDns:
      return "dns";
    case AppProto::kTls:
      return "tls";
    case AppProto::kSsh:
      return "ssh";
    case AppProto::kFailed:
      return "failed";
    case AppProto::kUnknown:
      break;
  }
  return {};
}

std::string_view tcp_state_name(TcpState s) {
  switch (s) {
    case TcpState::kNone:
      return "none";
    case TcpState::kSynSent:
      return "syn_sent";
    case TcpState::kSynRecv:
      return "syn_recv";
    case TcpState::kEstablished:
      return "established";
    case TcpState::kFinWait1:
      return "fin_wait1";
    case TcpState::kFinWait2:
      return "fin_wait2";
    case TcpState::kTimeWait:
      return "time_wait";
    case TcpState::kCloseWait:
      return "close_wait";
    case TcpState::kLastAck:
      return "last_ack";
    case TcpState::kClosing:
      return "closing";
    case TcpState::kClosed:
      return "closed";
  }
  return "none";
}

}  // namespace mimamori::net

#include "app/app.h"

namespace mimamori::net {

void FlowInternals::reset() {
  side[0].reset();
  side[1].reset();
  parser.reset();
  probe_bytes[0] = probe_bytes[1] = 0;
  probe_buf.reset();
  udp_probes = 0;
  stream_tracked = false;
  alerted = 0;
  tx_logged = 0;
}

}  // namespace mimamori::net

#pragma once
/// Signature: one rule compiled from its text into the form the engine evaluates — header
/// (action, protocols, addresses, ports), metadata, and the inspections per buffer in rule order.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "mimamori/match/regex.h"
#include "mimamori/net/rules/address.h"
#include "mimamori/net/rules/buffers.h"

namespace mimamori::net::rules {

/// What a rule does when it matches.
enum class Action : uint8_t { kAlert, kDrop, kReject, kPass };

/// A numeric comparison as used by dsize, urilen, bsize, itype, icode, stream_size.
struct Range {
  enum class Op : uint8_t { kEq, kNe, kLt, kGt, kLe, kGe, kBetween };
  Op op = Op::kEq;
  uint64_t lo = 0;
  uint64_t hi = 0;  ///< kBetween: exclusive bounds lo < v < hi
  /// True when `v` satisfies the comparison.
  bool check(uint64_t v) const;
};

/// `content` with its modifiers. Offsets may come from a byte_extract variable (`*_var` >= 0).
struct Content {
  std::string bytes;
  bool nocase = false;
  bool negated = false;
  bool startswith = false;
  bool endswith = false;
  bool fast_pattern = false;       ///< explicitly chosen for the prefilter
  bool fast_pattern_only = false;  ///< legacy `fast_pattern:only`: treated as a normal check
  bool rawbytes = false;
  bool has_offset = false, has_depth = false, has_distance = false, has_within = false;
  int32_t offset = 0, depth = 0, distance = 0, within = 0;
  int8_t offset_var = -1, depth_var = -1, distance_var = -1, within_var = -1;
  uint16_t fp_offset = 0, fp_length = 0;  ///< `fast_pattern:offset,length` (0 length: whole)
  /// True when the match position depends on the previous match in the buffer.
  bool relative() const { return has_distance || has_within; }
};

/// `pcre:"/.../flags"`.
struct Pcre {
  std::shared_ptr<const match::Regex> regex;
  std::string text;
  bool negated = false;
  bool relative = false;  ///< /R
  bool rawbytes = false;  ///< /B
};

/// Number conversion options shared by byte_test, byte_jump and byte_extract.
struct ByteRead {
  uint8_t nbytes = 0;
  int8_t nbytes_var = -1;  ///< byte count from a byte_extract variable
  int32_t offset = 0;
  int8_t offset_var = -1;
  bool relative = false;
  bool little = false;
  bool string = false;
  uint8_t base = 10;  ///< for string: 8, 10, 16
  bool dce = false;
  uint64_t bitmask = 0;  ///< 0: none
};

/// `byte_test`.
struct ByteTest {
  ByteRead read;
  enum class Op : uint8_t { kLt, kGt, kEq, kLe, kGe, kAnd, kOr } op = Op::kEq;
  bool negate = false;
  uint64_t value = 0;
  int8_t value_var = -1;
};

/// `byte_jump`.
struct ByteJump {
  ByteRead read;
  uint32_t multiplier = 1;
  bool align = false;
  bool from_beginning = false;
  bool from_end = false;
  int32_t post_offset = 0;
};

/// `byte_extract` (and the extract part of `byte_math`-free rules): stores into variable `var`.
struct ByteExtract {
  ByteRead read;
  uint32_t multiplier = 1;
  bool align = false;
  int8_t var = 0;
};

/// `isdataat`.
struct IsDataAt {
  int32_t offset = 0;
  int8_t offset_var = -1;
  bool negated = false;
  bool relative = false;
};

/// `bsize` (and `urilen`, which is bsize on http.uri / http.uri.raw).
struct BufferSize {
  Range range;
};

/// One check inside a buffer, in rule order.
using Inspection =
    std::variant<Content, Pcre, ByteTest, ByteJump, ByteExtract, IsDataAt, BufferSize>;

/// The checks a rule makes on one buffer.
struct BufferChecks {
  BufferId buffer = BufferId::kPayload;
  bool dotprefix = false;  ///< `dotprefix` transform: inspect "." + buffer
  std::vector<Inspection> items;
};

/// `flow:` options.
struct FlowCheck {
  bool established = false, not_established = false, stateless = false;
  bool to_server = false, to_client = false;
  bool only_stream = false, no_stream = false;
  bool only_frag = false, no_frag = false;
};

/// One `flowbits` operation. Names are interned; `ids` holds several for `a|b` or `a&b`.
struct FlowbitOp {
  enum class Cmd : uint8_t { kSet, kUnset, kToggle, kIsSet, kIsNotSet } cmd = Cmd::kSet;
  std::vector<uint32_t> ids;
  bool any_of = false;  ///< `|` group (isset: one of them), else all of them
};

/// One `xbits` operation: like flowbits, kept per host or host pair.
struct XbitOp {
  enum class Track : uint8_t { kIpSrc, kIpDst, kIpPair } track = Track::kIpSrc;
  FlowbitOp::Cmd cmd = FlowbitOp::Cmd::kSet;
  uint32_t id = 0;
  uint32_t expire_seconds = 0;
};

/// One `flowint` operation.
struct FlowintOp {
  enum class Cmd : uint8_t { kSet, kAdd, kSub, kIsSet, kNotSet, kCompare } cmd = Cmd::kSet;
  uint32_t id = 0;
  ByteTest::Op op = ByteTest::Op::kEq;  ///< for kCompare (kAnd/kOr unused)
  bool not_equal = false;               ///< `!=`
  uint64_t value = 0;
  int32_t value_var = -1;  ///< another flowint's id as the operand
};

/// One `tag` option: once the rule alerts, the following packets of the session, or to and from
/// one host, are tagged (logged as EVE `packet` records) until `count` packets, bytes or seconds
/// have passed; the alerting packet counts as the first.
struct TagSpec {
  enum class Scope : uint8_t { kSession, kHost } scope = Scope::kSession;
  enum class Metric : uint8_t { kPackets, kSeconds, kBytes } metric = Metric::kPackets;
  bool src = false;      ///< host scope: the alerting packet's source (else its destination)
  uint32_t count = 256;  ///< Suricata's default: 256 packets
};

/// `threshold` / `detection_filter`. Type backoff alerts on the count-th match, then each
/// time the matches reach the previous mark times `multiplier` (no time window).
struct Threshold {
  enum class Type : uint8_t {
    kLimit,
    kThreshold,
    kBoth,
    kDetectionFilter,
    kBackoff
  } type = Type::kLimit;
  enum class Track : uint8_t { kBySrc, kByDst, kByRule, kByBoth, kByFlow } track = Track::kBySrc;
  uint32_t count = 1;
  uint32_t seconds = 60;
  uint32_t multiplier = 0;  ///< backoff only
};

/// A `rate_filter` of threshold.config: once the rule matched more than `count` times within
/// `seconds` (per track), its action becomes `new_action` for `timeout` seconds.
struct RateFilter {
  Threshold::Track track = Threshold::Track::kBySrc;
  uint32_t count = 1;
  uint32_t seconds = 60;
  Action new_action = Action::kAlert;
  uint32_t timeout = 60;
};

/// `flags:` on TCP.
struct TcpFlagsCheck {
  uint8_t flags =
      0;  ///< bits that must be set (FIN=1,SYN=2,RST=4,PSH=8,ACK=16,URG=32,ECE=64,CWR=128)
  uint8_t ignore = 0;  ///< bits masked out before comparing
  enum class Mode : uint8_t { kExact, kAll, kAny, kNot } mode = Mode::kExact;
  /// True when TCP flags `f` satisfy the check.
  bool check(uint8_t f) const;
};

/// `stream_size:`.
struct StreamSizeCheck {
  enum class Side : uint8_t { kServer, kClient, kBoth, kEither } side = Side::kServer;
  Range range;
};

/// `app-layer-protocol:[!]NAME[,MODE]`: which detected protocol is compared.
struct AppLayerProtocolCheck {
  std::string name;  ///< "http" (also for "http1"), "dns", ..., "failed", "unknown"
  bool negated = false;
  enum class Mode : uint8_t {
    kDirection,  ///< the protocol seen in the packet's direction (the default)
    kToServer,
    kToClient,
    kEither,  ///< either direction's
    kFinal,   ///< the flow's protocol ("original" too: no protocol change is tracked)
  } mode = Mode::kDirection;
};

/// A `suppress` entry of threshold.config: alerts of the rule are dropped (for the addresses
/// given, or all of them).
struct Suppress {
  enum class Track : uint8_t { kAll, kBySrc, kByDst, kByEither } track = Track::kAll;
  AddressSet addresses;
};

/// A rule, compiled.
struct Signature {
  // Header.
  Action action = Action::kAlert;
  uint8_t ip_proto = 0;   ///< 0: any IP protocol; 1 matches ICMP and ICMPv6
  std::string app_proto;  ///< header app-layer protocol (`http`, `dns`, ...), empty: none
  bool tcp_pkt = false;   ///< `tcp-pkt`: packets only, never the reassembled stream
  bool tcp_stream = false;
  bool bidirectional = false;  ///< `<>`
  AddressSet src, dst;
  PortSet src_ports, dst_ports;

  // Metadata.
  uint32_t gid = 1;
  uint64_t sid = 0;
  uint32_t rev = 0;
  std::string msg;
  std::string classtype;
  std::string category;  ///< from classification.config
  int priority = 3;      ///< `priority:` or the classtype's
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<std::string> references;
  std::string target;  ///< `src_ip` / `dest_ip`

  // Detection.
  std::vector<BufferChecks> buffers;
  std::optional<FlowCheck> flow;
  std::vector<FlowbitOp> flowbits;
  std::vector<XbitOp> xbits;
  std::vector<FlowintOp> flowints;
  std::optional<Threshold> threshold;
  std::optional<Threshold> detection_filter;
  std::vector<Suppress> suppress;         ///< from threshold.config
  std::optional<RateFilter> rate_filter;  ///< from threshold.config
  std::optional<Range> dsize;
  std::optional<Range> itype, icode;
  std::optional<TcpFlagsCheck> tcp_flags;
  std::optional<Range> ip_proto_check;
  std::optional<StreamSizeCheck> stream_size;
  std::vector<AppLayerProtocolCheck> app_layer_protocols;
  std::optional<uint16_t> tls_version;
  bool noalert = false;
  std::vector<TagSpec> tags;  ///< `tag` options, in rule order
  uint8_t byte_vars = 0;      ///< number of byte_extract variables

  // Where it came from.
  std::string file;
  int line = 0;
  std::string text;

  /// True when the rule inspects nothing but the header (reputation lists).
  bool ip_only() const;
};

}  // namespace mimamori::net::rules

// The ingest parser (see ingest.h). Every line is judged on its own: one bad event never costs
// the batch, and a batch is refused as a whole only when its framing is wrong.

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mimamori/core/eve.h"
#include "mimamori/server/ingest.h"

namespace mimamori::server {
namespace {

constexpr int64_t kMaxEventsPerBatch = 100000;
constexpr size_t kMaxLine = 1 << 20;

// Returns the offset of the first byte that breaks UTF-8, or npos. NUL is refused too: neither
// backend stores it in text.
size_t bad_utf8_at(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    // EVE is nearly all ASCII: eight bytes at a time while none has the high bit or is NUL.
    while (i + 8 <= n) {
      uint64_t w = 0;
      std::memcpy(&w, s.data() + i, 8);
      const uint64_t high = w & 0x8080808080808080ULL;
      const uint64_t nul = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
      if ((high | nul) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0) return i;
      ++i;
      continue;
    }
    int len = (c >= 0xC2 && c <= 0xDF)   ? 2
              : (c >= 0xE0 && c <= 0xEF) ? 3
              : (c >= 0xF0 && c <= 0xF4) ? 4
                                         : 0;
    if (len == 0 || i + len > n) return i;
    for (int k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    }
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 > 0x8F)) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

bool is_host_detection(std::string_view type) { return type == "ransomware"; }

// `value` as it is written in `line` (a view into it), or empty: a name written with escapes
// is left out of the aggregates rather than copied.
std::string_view view_in(std::string_view line, std::string_view value) {
  if (value.empty()) return {};
  size_t at = line.find(value);
  return at == std::string_view::npos ? std::string_view{} : line.substr(at, value.size());
}

// What the hourly aggregates count of one event: bytes and source of a flow, the name of a
// dns query (EVE v2 `dns.rrname`, v3 `dns.queries`), a TLS SNI or an HTTP host.
void aggregate_fields(const core::Event& ev, std::string_view type, std::string_view line,
                      ParsedEvent& p) {
  if (type == core::event_type::kFlow) {
    auto out = ev.fields.find("flow.bytes_toserver");
    auto in = ev.fields.find("flow.bytes_toclient");
    if (out) p.bytes_toserver = std::max<int64_t>(0, out->as_int().value_or(0));
    if (in) p.bytes_toclient = std::max<int64_t>(0, in->as_int().value_or(0));
    if (!ev.src_ip.empty()) p.talker = ev.src_ip.to_string();
  } else if (type == core::event_type::kDns) {
    auto kind = ev.fields.find_string("dns.type");
    if (kind == "query" || kind == "request") {
      auto name = ev.fields.find_string("dns.rrname");
      if (name.empty()) name = ev.fields.find_string("dns.queries.0.rrname");
      p.domain = view_in(line, name);
    }
  } else if (type == core::event_type::kTls) {
    p.domain = view_in(line, ev.fields.find_string("tls.sni"));
  } else if (type == core::event_type::kHttp) {
    p.domain = view_in(line, ev.fields.find_string("http.hostname"));
  }
}

}  // namespace

core::Status parse_ingest_batch(IngestBatch& b) {
  if (b.first < 1 || b.last < b.first) {
    return core::make_error_code(400, "sequence range {}..{} is invalid: need 1 <= first <= last",
                                 b.first, b.last);
  }
  if (b.last - b.first + 1 > kMaxEventsPerBatch) {
    return core::make_error_code(400, "sequence range {}..{} holds more than {} events", b.first,
                                 b.last, kMaxEventsPerBatch);
  }
  // Views into the body must survive moving the batch: a heap buffer moves with the string,
  // an inline (short-string) buffer would not.
  if (b.body.capacity() < 64) b.body.reserve(64);
  std::string_view body = b.body;
  if (!body.empty() && body.back() == '\n') body.remove_suffix(1);
  const int64_t expected = b.last - b.first + 1;
  // Count first, so that a framing error leaves nothing half-parsed.
  int64_t lines = body.empty() ? 0 : 1;
  for (size_t at = body.find('\n'); at != std::string_view::npos; at = body.find('\n', at + 1)) {
    ++lines;
  }
  if (lines != expected) {
    return core::make_error_code(
        400, "body has {} lines but X-Mimamori-Seq-First..Last ({}..{}) names {} events", lines,
        b.first, b.last, expected);
  }
  b.events.clear();
  b.rejected.clear();
  b.events.reserve(static_cast<size_t>(expected));
  core::Event ev;
  size_t pos = 0;
  for (int64_t i = 0; i < expected; ++i) {
    size_t nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? body.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const int64_t seq = b.first + i;
    auto reject = [&](std::string reason) {
      b.rejected.push_back(RejectedEvent{seq, std::move(reason), line});
    };
    if (line.empty()) {
      reject("empty line");
      continue;
    }
    if (line.size() > kMaxLine) {
      reject(fmt::format("line of {} bytes is over the limit of {} bytes", line.size(), kMaxLine));
      continue;
    }
    if (size_t bad = bad_utf8_at(line); bad != std::string_view::npos) {
      reject(fmt::format("byte {} is not valid UTF-8 (or is NUL)", bad));
      continue;
    }
    if (auto st = core::parse_eve(line, ev); !st.ok()) {
      reject(st.error().message);
      continue;
    }
    ParsedEvent p;
    p.seq = seq;
    p.ts = ev.timestamp.micros;
    p.raw = line;
    // event_type lives in the body: find the view instead of keeping the Event's copy.
    size_t at = line.find(ev.event_type);
    p.event_type =
        at == std::string_view::npos ? std::string_view{} : line.substr(at, ev.event_type.size());
    if (p.event_type.empty()) {
      reject("event_type contains escapes; write it plainly");
      continue;
    }
    if (ev.alert || is_host_detection(ev.event_type)) {
      p.is_alert = true;
      if (ev.alert) {
        p.signature_id = static_cast<int64_t>(ev.alert->signature_id);
        p.signature = ev.alert->signature;
        p.category = ev.alert->category;
        p.suricata_severity = ev.alert->severity;
      } else {
        p.signature = ev.fields.find_string("ransomware.reason");
        if (p.signature.empty()) p.signature = "ransomware activity";
        p.category = "ransomware";
        p.suricata_severity = 1;
      }
      if (!ev.src_ip.empty()) p.src_ip = ev.src_ip.to_string();
      if (!ev.dest_ip.empty()) p.dest_ip = ev.dest_ip.to_string();
      p.host = ev.fields.find_string("host");
    }
    aggregate_fields(ev, p.event_type, line, p);
    b.events.push_back(std::move(p));
  }
  return {};
}

}  // namespace mimamori::server

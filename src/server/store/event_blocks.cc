// Raw events stored compactly: the events of one commit group are cut into blocks per device,
// event type and UTC day (at most kBlockEvents events and a sequence span under kSeqSpan), and
// each block is one row of event_blocks (migration 9) whose columns are what queries filter
// on — device, sequence range, customer, event type, time range — and whose data is the
// block's records, zstd-compressed together. A record comes back byte for byte as the device
// sent it.
//
// The block's data before compression, all integers unsigned LEB128:
//   count n; n × (seq − first_seq); n × zigzag(ts − ts_min); n × record length; the records.
// Headers first and records after: zstd then sees the records' common structure side by side.
// Format 1 (since the blocks above, which stay readable) starts with varint 0 (never a count)
// and the format number 1, then as above with n flags after the lengths, saying what was left
// out of the record's text because the block can give it back (random text zstd cannot
// shrink): bit 1, the 28 base64 characters after its `"community_id":"1:`, the Community ID
// (seed 0) of the record's own 5-tuple; bit 2, the first 26 characters of its `"timestamp":"`
// (2026-11-26T19:41:05.123456), the event's time (a header) in the offset that follows.
// Reading puts back the timestamp, then the Community ID. A part is left out only when putting
// it back gives the record byte for byte (checked as it is stored); anything else (an odd,
// wrong or other-seed community_id, a timestamp in another form) is stored as it came. Blocks
// where nothing was left out are written in the first format.
// Format 2 (store/event_columns.h) starts with 0, 2, the count, then each sequence number and
// time as the difference to the one before (the first to first_seq and ts_min), the flags, and
// the records laid out by column (no lengths). It is written when laying the block out again
// gives every record's text back exactly (checked before it is stored), otherwise format 1 or
// the first. Every earlier format stays readable.
//
// Idempotency on (device, seq): before a group's blocks go in, the blocks (and the rows of the
// uncompressed table of earlier versions) that may hold its sequence numbers are read, and
// keys already stored are left out, as are repeats within the group. The look-up is bounded
// because a block's first_seq is within kSeqSpan of all its sequence numbers. On PostgreSQL,
// where several writers commit at once, each group first takes a transaction-scoped advisory
// lock per device (in one order), so that two writers never both find a key absent.

#include <zstd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "mimamori/core/clock.h"
#include "store/community_id.h"
#include "store/event_columns.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

constexpr int64_t kDay = 86400LL * 1000000;
constexpr size_t kBlockEvents = 1024;
constexpr int64_t kSeqSpan = 1 << 16;
constexpr int kLevel = 6;

// FNV-1a: the same lock key for a device in every process.
int64_t device_lock_key(std::string_view device) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : device) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return static_cast<int64_t>(h);
}

constexpr std::string_view kCidKey = "\"community_id\":\"1:";
constexpr size_t kCidChars = 28;  // base64 of SHA-1's 20 bytes

// The record of `stored` (its community_id's 28 characters left out) with them put back, or
// nullopt when it has no `"community_id":"1:"` or no 5-tuple to compute them from.
std::optional<std::string> restore_community_id(std::string_view stored) {
  const size_t at = stored.find(kCidKey);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t pos = at + kCidKey.size();
  if (pos >= stored.size() || stored[pos] != '"') return std::nullopt;
  const std::string cid = eve_community_id(stored);
  if (cid.size() != 2 + kCidChars) return std::nullopt;
  std::string out;
  out.reserve(stored.size() + kCidChars);
  out.append(stored.substr(0, pos)).append(cid, 2).append(stored.substr(pos));
  return out;
}

// `raw` without its community_id's 28 characters when restore_community_id gives `raw` back
// exactly; nullopt otherwise (the record is then stored as it is).
std::optional<std::string> strip_community_id(std::string_view raw) {
  const size_t at = raw.find(kCidKey);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t pos = at + kCidKey.size();
  if (raw.size() <= pos + kCidChars || raw[pos + kCidChars] != '"') return std::nullopt;
  std::string stripped;
  stripped.reserve(raw.size() - kCidChars);
  stripped.append(raw.substr(0, pos)).append(raw.substr(pos + kCidChars));
  const auto back = restore_community_id(stripped);
  if (!back || *back != raw) return std::nullopt;
  return stripped;
}

constexpr std::string_view kTsKey = "\"timestamp\":\"";
constexpr size_t kTsChars = 26;  // 2026-11-26T19:41:05.123456, then the offset +0900

// The record of `stored` (its timestamp's first 26 characters left out) with them put back
// from the event's time `ts` and the offset that follows, or nullopt.
std::optional<std::string> restore_timestamp(std::string_view stored, int64_t ts) {
  const size_t at = stored.find(kTsKey);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t pos = at + kTsKey.size();
  if (stored.size() < pos + 6) return std::nullopt;
  const auto off = stored.substr(pos, 5);
  if ((off[0] != '+' && off[0] != '-') || stored[pos + 5] != '"') return std::nullopt;
  for (int k = 1; k < 5; ++k) {
    if (off[k] < '0' || off[k] > '9') return std::nullopt;
  }
  const int hh = (off[1] - '0') * 10 + (off[2] - '0');
  const int mm = (off[3] - '0') * 10 + (off[4] - '0');
  const int minutes = (off[0] == '-' ? -1 : 1) * (hh * 60 + mm);
  const std::string text = core::format_eve_time(core::Timestamp{ts}, minutes);
  if (text.size() != kTsChars + 5) return std::nullopt;
  std::string out;
  out.reserve(stored.size() + kTsChars);
  out.append(stored.substr(0, pos)).append(text, 0, kTsChars).append(stored.substr(pos));
  return out;
}

// `raw` without its timestamp's first 26 characters when restore_timestamp gives `raw` back
// exactly from `ts`; nullopt otherwise.
std::optional<std::string> strip_timestamp(std::string_view raw, int64_t ts) {
  const size_t at = raw.find(kTsKey);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t pos = at + kTsKey.size();
  if (raw.size() < pos + kTsChars + 6) return std::nullopt;
  std::string stripped;
  stripped.reserve(raw.size() - kTsChars);
  stripped.append(raw.substr(0, pos)).append(raw.substr(pos + kTsChars));
  const auto back = restore_timestamp(stripped, ts);
  if (!back || *back != raw) return std::nullopt;
  return stripped;
}

// What was left out of a stored record (the flags of format 1).
constexpr uint64_t kLeftCid = 1, kLeftTs = 2;

struct DecodedEvent {
  int64_t seq = 0, ts = 0;
  std::string_view raw;  // as stored
  uint64_t left = 0;     // kLeft… bits: what was left out of `raw`
};

// The record as the device sent it.
Result<std::string> record_of(const DecodedEvent& e) {
  std::string r(e.raw);
  if (e.left & kLeftTs) {
    auto t = restore_timestamp(r, e.ts);
    if (!t) return core::make_error("event {}: its timestamp cannot be put back", e.seq);
    r = std::move(*t);
  }
  if (e.left & kLeftCid) {
    auto c = restore_community_id(r);
    if (!c) return core::make_error("event {}: its community_id cannot be put back", e.seq);
    r = std::move(*c);
  }
  return r;
}

struct DecodedBlock {
  int format = 0;
  std::string data;                // decompressed
  std::vector<std::string> texts;  // format 2: the records as laid out again from the columns
  std::vector<DecodedEvent> events;
};

// `records` false: only the sequence numbers and times (the records are not laid out).
Result<DecodedBlock> decode_block(std::string_view compressed, int64_t first_seq, int64_t ts_min,
                                  bool records = true) {
  DecodedBlock b;
  const unsigned long long size = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ULL << 31)) {
    return core::make_error("event block at seq {}: not a zstd frame", first_seq);
  }
  b.data.resize(size);
  const size_t got =
      ZSTD_decompress(b.data.data(), b.data.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(got) || got != size) {
    return core::make_error("event block at seq {}: {}", first_seq,
                            ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
  }
  std::string_view in = b.data;
  size_t at = 0;
  uint64_t n = 0, format = 0;
  if (!get_varint(in, at, n))
    return core::make_error("event block at seq {}: bad count", first_seq);
  if (n == 0) {
    if (!get_varint(in, at, format) || format < 1 || format > 2) {
      return core::make_error("event block at seq {}: unknown format {}", first_seq, format);
    }
    if (!get_varint(in, at, n)) {
      return core::make_error("event block at seq {}: bad count", first_seq);
    }
  }
  if (n > kBlockEvents * 16) return core::make_error("event block at seq {}: bad count", first_seq);
  b.format = static_cast<int>(format);
  b.events.resize(n);
  std::vector<uint64_t> lens(n);
  bool ok = true;
  // Format 2 has each number as the difference to the one before (the block's first_seq and
  // ts_min before the first); the earlier ones as the difference to first_seq and ts_min.
  const bool deltas = format >= 2;
  int64_t seq = first_seq, ts = ts_min;
  for (auto& e : b.events) {
    uint64_t v = 0;
    ok = ok && get_varint(in, at, v);
    // In unsigned arithmetic: a damaged block wraps instead of overflowing.
    e.seq = static_cast<int64_t>(static_cast<uint64_t>(deltas ? seq : first_seq) + v);
    seq = e.seq;
  }
  for (auto& e : b.events) {
    uint64_t v = 0;
    ok = ok && get_varint(in, at, v);
    e.ts = static_cast<int64_t>(static_cast<uint64_t>(deltas ? ts : ts_min) +
                                static_cast<uint64_t>(unzigzag(v)));
    ts = e.ts;
  }
  if (format <= 1) {
    for (auto& l : lens) ok = ok && get_varint(in, at, l);
  }
  if (format >= 1) {
    for (auto& e : b.events) {
      uint64_t v = 0;
      ok = ok && get_varint(in, at, v) && v <= (kLeftCid | kLeftTs);
      e.left = v;
    }
  }
  if (format == 2) {
    if (!ok) return core::make_error("event block at seq {}: damaged contents", first_seq);
    if (!records) return b;
    std::vector<int64_t> times(n);
    for (size_t i = 0; i < n; ++i) times[i] = b.events[i].ts;
    auto texts = decode_columns(in, at, times);
    if (!texts.ok()) {
      return core::make_error("event block at seq {}: {}", first_seq, texts.error().message);
    }
    if (at != in.size()) {
      return core::make_error("event block at seq {}: damaged contents", first_seq);
    }
    b.texts = std::move(*texts);
    for (size_t i = 0; i < n; ++i) b.events[i].raw = b.texts[i];
    return b;
  }
  for (size_t i = 0; ok && i < n; ++i) {
    if (lens[i] > in.size() - at) {
      ok = false;
      break;
    }
    b.events[i].raw = in.substr(at, lens[i]);
    at += lens[i];
  }
  if (!ok || at != in.size()) {
    return core::make_error("event block at seq {}: damaged contents", first_seq);
  }
  return b;
}

std::string encode_block(std::span<const EventRow* const> events, int64_t first_seq,
                         int64_t ts_min) {
  // Community ID first, then the timestamp: reading puts back the timestamp first.
  std::vector<std::optional<std::string>> stripped(events.size());
  std::vector<uint64_t> left(events.size(), 0);
  bool any = false;
  for (size_t i = 0; i < events.size(); ++i) {
    stripped[i] = strip_community_id(events[i]->raw);
    if (stripped[i]) left[i] |= kLeftCid;
    const std::string_view now = stripped[i] ? std::string_view(*stripped[i]) : events[i]->raw;
    if (auto t = strip_timestamp(now, events[i]->ts)) {
      stripped[i] = std::move(*t);
      left[i] |= kLeftTs;
    }
    any = any || left[i] != 0;
  }
  auto text = [&](size_t i) -> std::string_view {
    return stripped[i] ? std::string_view(*stripped[i]) : events[i]->raw;
  };
  std::string plain;
  size_t bytes = 16;
  for (const auto* e : events) bytes += e->raw.size() + 9;
  plain.reserve(bytes);
  auto headers = [&](uint64_t format) {
    plain.clear();
    if (format > 0) {
      put_varint(plain, 0);
      put_varint(plain, format);
    }
    put_varint(plain, events.size());
    int64_t seq = first_seq, ts = ts_min;
    for (const auto* e : events) {
      put_varint(plain, static_cast<uint64_t>(e->seq - (format >= 2 ? seq : first_seq)));
      seq = e->seq;
    }
    for (const auto* e : events) {
      put_varint(plain, zigzag(e->ts - (format >= 2 ? ts : ts_min)));
      ts = e->ts;
    }
  };
  // Format 2, by column, when laying it out again gives every record's text back exactly;
  // otherwise the records one after another (format 1, or the first when nothing was left out).
  bool columns = false;
  {
    headers(2);
    for (uint64_t l : left) put_varint(plain, l);
    std::vector<ColumnRecord> recs(events.size());
    std::vector<int64_t> times(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      recs[i] = {text(i), events[i]->ts};
      times[i] = events[i]->ts;
    }
    const size_t body = plain.size();
    encode_columns(recs, plain);
    size_t at = body;
    auto back = decode_columns(plain, at, times);
    columns = back.ok() && at == plain.size();
    for (size_t i = 0; columns && i < events.size(); ++i) columns = (*back)[i] == text(i);
  }
  if (!columns) {
    headers(any ? 1 : 0);
    for (size_t i = 0; i < events.size(); ++i) put_varint(plain, text(i).size());
    if (any) {
      for (uint64_t l : left) put_varint(plain, l);
    }
    for (size_t i = 0; i < events.size(); ++i) plain.append(text(i));
  }
  // One context per writer thread, freed when the thread ends.
  struct FreeCctx {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  thread_local std::unique_ptr<ZSTD_CCtx, FreeCctx> cctx(ZSTD_createCCtx());
  if (!cctx) return {};
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  const size_t n =
      ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), plain.data(), plain.size(), kLevel);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// The blocks that may hold sequence numbers in [lo, hi] of a device, and the rows of the
// uncompressed table in that range.
constexpr std::string_view kStoredSql =
    "SELECT first_seq, ts_min, data FROM event_blocks WHERE device_id = $1 AND first_seq > $2 "
    "AND first_seq <= $3 AND last_seq >= $4";
constexpr std::string_view kStoredLegacySql =
    "SELECT seq, raw FROM events WHERE device_id = $1 AND seq >= $2 AND seq <= $3";

std::vector<SqlParam> range_params(std::string_view device, int64_t lo, int64_t hi) {
  return {sp(device), sp(lo - kSeqSpan), sp(hi), sp(lo)};
}

}  // namespace

SqlParam sp_blob(Dialect d, std::string_view bytes) {
  if (d == Dialect::kSqlite) {
    SqlParam p{std::string(bytes)};
    p.blob = true;
    return p;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 + bytes.size() * 2);
  s += "\\x";
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return SqlParam{std::move(s)};
}

std::string blob_of(Dialect d, std::string_view cell) {
  if (d == Dialect::kSqlite || !cell.starts_with("\\x")) return std::string(cell);
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
  };
  std::string out;
  out.reserve((cell.size() - 2) / 2);
  for (size_t i = 2; i + 1 < cell.size(); i += 2) {
    out += static_cast<char>(nib(cell[i]) << 4 | nib(cell[i + 1]));
  }
  return out;
}

Status insert_event_blocks(SqlTx& tx, std::span<const EventRow> rows, std::vector<bool>& inserted) {
  inserted.assign(rows.size(), false);
  if (rows.empty()) return {};
  const Dialect dialect = tx.dialect();
  // Rows by key; the first row of a key (in group order) is the one that may be new.
  std::vector<uint32_t> order(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (int c = rows[a].device_id.compare(rows[b].device_id); c != 0) return c < 0;
    if (rows[a].seq != rows[b].seq) return rows[a].seq < rows[b].seq;
    return a < b;
  });
  std::vector<uint32_t> unique;
  unique.reserve(order.size());
  for (uint32_t i : order) {
    if (!unique.empty() && rows[unique.back()].seq == rows[i].seq &&
        rows[unique.back()].device_id == rows[i].device_id) {
      continue;
    }
    unique.push_back(i);
  }
  // Devices: [begin, end) of `unique`, their sequence range.
  struct Dev {
    size_t begin, end;
  };
  std::vector<Dev> devs;
  for (size_t k = 0; k < unique.size();) {
    size_t e = k + 1;
    while (e < unique.size() && rows[unique[e]].device_id == rows[unique[k]].device_id) ++e;
    devs.push_back({k, e});
    k = e;
  }
  std::vector<SqlStatement> look;
  look.reserve(devs.size() * 3);
  if (dialect == Dialect::kPostgres) {
    std::vector<int64_t> keys;
    for (const auto& d : devs) keys.push_back(device_lock_key(rows[unique[d.begin]].device_id));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (int64_t k : keys) look.push_back({"SELECT pg_advisory_xact_lock($1)", {sp(k)}});
  }
  const size_t first_check = look.size();
  for (const auto& d : devs) {
    const auto device = rows[unique[d.begin]].device_id;
    const int64_t lo = rows[unique[d.begin]].seq, hi = rows[unique[d.end - 1]].seq;
    look.push_back({kStoredSql, range_params(device, lo, hi)});
    look.push_back({kStoredLegacySql, {sp(device), sp(lo), sp(hi)}});
  }
  auto found = tx.pipeline(look);
  if (!found.ok()) return found.error();
  std::vector<bool> fresh(rows.size(), false);
  for (size_t di = 0; di < devs.size(); ++di) {
    const auto& d = devs[di];
    const SqlRows& blocks = (*found)[first_check + 2 * di];
    const SqlRows& legacy = (*found)[first_check + 2 * di + 1];
    std::vector<int64_t> have;
    for (size_t r = 0; r < legacy.size(); ++r) have.push_back(legacy.i64(r, 0));
    for (size_t r = 0; r < blocks.size(); ++r) {
      auto b = decode_block(blob_of(dialect, blocks.str(r, 2)), blocks.i64(r, 0), blocks.i64(r, 1),
                            false);
      if (!b.ok()) return b.error();
      for (const auto& e : b->events) have.push_back(e.seq);
    }
    std::sort(have.begin(), have.end());
    for (size_t k = d.begin; k < d.end; ++k) {
      const uint32_t i = unique[k];
      fresh[i] = !std::binary_search(have.begin(), have.end(), rows[i].seq);
    }
  }
  // Blocks: per device (in key order), event type and UTC day, cut at kBlockEvents events or
  // a sequence span of kSeqSpan.
  std::vector<SqlStatement> inserts;
  std::vector<std::vector<SqlParam>> keep;
  for (const auto& d : devs) {
    std::map<std::pair<std::string_view, int64_t>, std::vector<const EventRow*>> parts;
    for (size_t k = d.begin; k < d.end; ++k) {
      const uint32_t i = unique[k];
      if (!fresh[i]) continue;
      const auto& r = rows[i];
      const int64_t day = r.ts >= 0 ? r.ts / kDay : (r.ts - kDay + 1) / kDay;
      parts[{r.event_type, day}].push_back(&r);
    }
    for (auto& [_, evs] : parts) {
      for (size_t at = 0; at < evs.size();) {
        size_t end = at + 1;
        while (end < evs.size() && end - at < kBlockEvents &&
               evs[end]->seq - evs[at]->seq < kSeqSpan) {
          ++end;
        }
        std::span<const EventRow* const> block(evs.data() + at, end - at);
        int64_t ts_min = block.front()->ts, ts_max = ts_min, bytes = 0;
        for (const auto* e : block) {
          ts_min = std::min(ts_min, e->ts);
          ts_max = std::max(ts_max, e->ts);
          bytes += static_cast<int64_t>(e->raw.size());
        }
        const int64_t first = block.front()->seq;
        std::string data = encode_block(block, first, ts_min);
        if (data.empty()) return core::make_error("zstd: compressing an event block failed");
        inserts.push_back(
            {"INSERT INTO event_blocks (device_id, first_seq, last_seq, customer_id, event_type, "
             "ts_min, ts_max, received_at, events, raw_bytes, data) VALUES ($1, $2, $3, $4, $5, "
             "$6, $7, $8, $9, $10, $11)",
             {sp(block.front()->device_id), sp(first), sp(block.back()->seq),
              sp(block.front()->customer_id), sp(block.front()->event_type), sp(ts_min), sp(ts_max),
              sp(block.front()->received_at), sp(static_cast<int64_t>(block.size())), sp(bytes),
              sp_blob(dialect, data)}});
        at = end;
      }
    }
  }
  if (!inserts.empty()) {
    auto r = tx.pipeline(inserts);
    if (!r.ok()) return r.error();
  }
  inserted = std::move(fresh);
  return {};
}

Result<std::vector<std::pair<EventKey, std::string>>> read_events(SqlTx& tx,
                                                                  std::span<const EventKey> keys) {
  const Dialect dialect = tx.dialect();
  std::map<EventKey, std::string> got;
  const std::set<EventKey> wanted(keys.begin(), keys.end());
  // Blocks already decoded, by (device, first_seq): each is decompressed once.
  std::set<EventKey> decoded;
  for (const auto& k : keys) {
    if (got.contains(k)) continue;
    auto found = tx.pipeline(
        std::vector<SqlStatement>{{kStoredSql, range_params(k.device_id, k.seq, k.seq)},
                                  {kStoredLegacySql, {sp(k.device_id), sp(k.seq), sp(k.seq)}}});
    if (!found.ok()) return found.error();
    const SqlRows& b = (*found)[0];
    const SqlRows& legacy = (*found)[1];
    if (!legacy.empty()) {
      got[k] = legacy.str(0, 1);
      continue;
    }
    for (size_t r = 0; r < b.size(); ++r) {
      const EventKey bk{k.device_id, b.i64(r, 0)};
      if (!decoded.insert(bk).second) continue;
      auto d = decode_block(blob_of(dialect, b.str(r, 2)), bk.seq, b.i64(r, 1));
      if (!d.ok()) return d.error();
      for (const auto& e : d->events) {
        EventKey ek{k.device_id, e.seq};
        if (!wanted.contains(ek) || got.contains(ek)) continue;
        auto rec = record_of(e);
        if (!rec.ok()) return rec.error();
        got.emplace(std::move(ek), std::move(*rec));
      }
    }
  }
  std::vector<std::pair<EventKey, std::string>> out;
  for (const auto& k : keys) {
    if (auto it = got.find(k); it != got.end()) out.emplace_back(k, it->second);
  }
  return out;
}

Result<StoredEventBlock> stored_event_block(std::string_view data, int64_t first_seq,
                                            int64_t ts_min) {
  auto d = decode_block(data, first_seq, ts_min);
  if (!d.ok()) return d.error();
  StoredEventBlock out;
  out.format = d->format;
  for (const auto& e : d->events) out.texts.emplace_back(e.raw);
  return out;
}

Result<std::vector<int64_t>> stored_event_seqs(SqlTx& tx, std::string_view device_id) {
  std::vector<int64_t> out;
  auto legacy = tx.q("SELECT seq FROM events WHERE device_id = $1", {sp(device_id)});
  if (!legacy.ok()) return legacy.error();
  for (size_t i = 0; i < legacy->size(); ++i) out.push_back(legacy->i64(i, 0));
  auto b = tx.q("SELECT first_seq, ts_min, data FROM event_blocks WHERE device_id = $1",
                {sp(device_id)});
  if (!b.ok()) return b.error();
  for (size_t r = 0; r < b->size(); ++r) {
    auto d = decode_block(blob_of(tx.dialect(), b->str(r, 2)), b->i64(r, 0), b->i64(r, 1), false);
    if (!d.ok()) return d.error();
    for (const auto& e : d->events) out.push_back(e.seq);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mimamori::server

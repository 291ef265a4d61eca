// DNS over UDP and TCP: every message is parsed whole (names with compression pointers,
// bounded), logged in Suricata's version-3 shape, and its query names served as `dns.query`.

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "app/app.h"
#include "bytes.h"
#include "eve_util.h"

namespace mimamori::net {
namespace {

std::string_view rrtype_name(uint16_t t, std::string& scratch) {
  switch (t) {
    case 1:
      return "A";
    case 2:
      return "NS";
    case 5:
      return "CNAME";
    case 6:
      return "SOA";
    case 12:
      return "PTR";
    case 13:
      return "HINFO";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 17:
      return "RP";
    case 18:
      return "AFSDB";
    case 24:
      return "SIG";
    case 25:
      return "KEY";
    case 28:
      return "AAAA";
    case 29:
      return "LOC";
    case 33:
      return "SRV";
    case 35:
      return "NAPTR";
    case 37:
      return "CERT";
    case 39:
      return "DNAME";
    case 41:
      return "OPT";
    case 43:
      return "DS";
    case 44:
      return "SSHFP";
    case 46:
      return "RRSIG";
    case 47:
      return "NSEC";
    case 48:
      return "DNSKEY";
    case 50:
      return "NSEC3";
    case 51:
      return "NSEC3PARAM";
    case 52:
      return "TLSA";
    case 64:
      return "SVCB";
    case 65:
      return "HTTPS";
    case 99:
      return "SPF";
    case 249:
      return "TKEY";
    case 250:
      return "TSIG";
    case 251:
      return "IXFR";
    case 252:
      return "AXFR";
    case 255:
      return "ANY";
    case 256:
      return "URI";
    case 257:
      return "CAA";
    default:
      scratch = "TYPE" + std::to_string(t);
      return scratch;
  }
}

std::string_view rcode_name(unsigned r, std::string& scratch) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  if (r < kNames.size()) return kNames[r];
  scratch = std::to_string(r);
  return scratch;
}

// Reads a (possibly compressed) name at `off` into `out`; returns the offset after it in the
// message (not after the pointer target), or 0 on malformed input.
std::size_t read_name(std::string_view m, std::size_t off, std::string& out) {
  out.clear();
  std::size_t after = 0;
  int jumps = 0;
  std::size_t pos = off;
  while (true) {
    if (pos >= m.size()) return 0;
    uint8_t len = static_cast<uint8_t>(m[pos]);
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= m.size() || ++jumps > 32) return 0;
      if (!after) after = pos + 2;
      pos = ((len & 0x3fu) << 8) | static_cast<uint8_t>(m[pos + 1]);
      continue;
    }
    if (len & 0xc0) return 0;
    if (len == 0) {
      if (!after) after = pos + 1;
      break;
    }
    if (pos + 1 + len > m.size() || out.size() > 255) return 0;
    if (!out.empty()) out.push_back('.');
    out.append(m.substr(pos + 1, len));
    pos += 1 + len;
  }
  if (out.empty()) out = "<root>";
  return after;
}

struct Header {
  uint16_t id, flags, qd, an, ns, ar;
};

bool read_header(std::string_view m, Header& h) {
  if (m.size() < 12) return false;
  h = {load_be16(m.data()),     load_be16(m.data() + 2), load_be16(m.data() + 4),
       load_be16(m.data() + 6), load_be16(m.data() + 8), load_be16(m.data() + 10)};
  return true;
}

class DnsParser final : public AppParser {
 public:
  explicit DnsParser(bool tcp) : tcp_(tcp) {}
  AppProto proto() const override { return AppProto::kDns; }

  void parse(Direction dir, std::string_view data, AppSink& sink) override {
    if (!tcp_) {
      message(dir, data, sink);
      return;
    }
    // TCP: two-byte length prefix per message; buffer partial messages.
    std::string& buf = pending_[static_cast<int>(dir)];
    std::string_view d = data;
    if (!buf.empty()) {
      buf.append(data);
      d = buf;
    }
    std::size_t used = 0;
    while (d.size() - used >= 2) {
      std::size_t len = load_be16(d.data() + used);
      if (d.size() - used - 2 < len) break;
      message(dir, d.substr(used + 2, len), sink);
      used += 2 + len;
    }
    std::string rest(d.substr(used));
    if (rest.size() > 65536 + 2) rest.clear();
    buf = std::move(rest);
  }

  void gap(Direction dir, uint32_t) override { pending_[static_cast<int>(dir)].clear(); }

  std::string_view buffer(Buffer b, std::size_t index) const override {
    if (b == Buffer::kDnsQuery && index < queries_.size()) return queries_[index];
    return {};
  }
  std::size_t buffer_count(Buffer b) const override {
    return b == Buffer::kDnsQuery ? queries_.size() : 0;
  }
  void append_record(core::Fields& out) const override {
    if (!record_.empty()) {
      // The last record is `"dns": {...}`: copy its members.
      out.append(record_);
    }
  }
  void reset() override {
    pending_[0].clear();
    pending_[1].clear();
    queries_.clear();
    record_.clear();
    next_tx_ = 0;
    open_.clear();
  }

 private:
  void message(Direction dir, std::string_view m, AppSink& sink) {
    Header h;
    if (!read_header(m, h)) {
      sink.anomaly("MALFORMED_DATA");
      return;
    }
    bool response = (h.flags & 0x8000) != 0;
    std::string name;
    std::size_t off = 12;
    queries_.clear();
    record_.clear();
    // Transaction: a response takes the id of its pending request.
    uint64_t tx = next_tx_;
    if (response) {
      bool found = false;
      for (std::size_t i = 0; i < open_.size(); ++i)
        if (open_[i].first == h.id) {
          tx = open_[i].second;
          open_.erase(open_.begin() + static_cast<long>(i));
          found = true;
          break;
        }
      if (!found) ++next_tx_;
    } else {
      ++next_tx_;
      if (open_.size() >= 64) open_.erase(open_.begin());
      open_.emplace_back(h.id, tx);
    }
    record_.begin_object("dns");
    record_.add("version", 3);
    record_.add("type", response ? "response" : "request");
    record_.add("tx_id", tx);
    record_.add("id", h.id);
    std::string scratch;
    scratch.clear();
    append_hex(scratch, h.flags);
    record_.add("flags", scratch);
    if (h.flags & 0x8000) record_.add("qr", true);
    if (h.flags & 0x0400) record_.add("aa", true);
    if (h.flags & 0x0200) record_.add("tc", true);
    if (h.flags & 0x0100) record_.add("rd", true);
    if (h.flags & 0x0080) record_.add("ra", true);
    if (h.flags & 0x0040) record_.add("z", true);
    record_.add("opcode", (h.flags >> 11) & 0xf);
    record_.add("rcode", rcode_name(h.flags & 0xf, scratch));
    bool bad = false;
    if (h.qd) {
      record_.begin_array("queries");
      for (unsigned i = 0; i < h.qd && i < 64; ++i) {
        std::size_t next = read_name(m, off, name);
        if (!next || next + 4 > m.size()) {
          bad = true;
          break;
        }
        uint16_t type = load_be16(m.data() + next);
        off = next + 4;
        queries_.push_back(name);
        record_.begin_object().add("rrname", name).add("rrtype", rrtype_name(type, scratch)).end();
      }
      record_.end();
    }
    // Answers, authorities (additional records are not logged, as Suricata does by default).
    struct Grouped {
      std::string type;
      std::vector<std::string> values;
    };
    std::vector<Grouped> grouped;
    const std::pair<uint16_t, std::string_view> sections[2] = {{h.an, "answers"},
                                                               {h.ns, "authorities"}};
    for (int s = 0; s < 2 && !bad; ++s) {
      if (!sections[s].first) continue;
      record_.begin_array(sections[s].second);
      for (unsigned i = 0; i < sections[s].first && i < 256; ++i) {
        std::size_t next = read_name(m, off, name);
        if (!next || next + 10 > m.size()) {
          bad = true;
          break;
        }
        uint16_t type = load_be16(m.data() + next);
        uint32_t ttl = load_be32(m.data() + next + 4);
        uint16_t rdlen = load_be16(m.data() + next + 8);
        std::size_t rd = next + 10;
        if (rd + rdlen > m.size()) {
          bad = true;
          break;
        }
        off = rd + rdlen;
        std::string tname(rrtype_name(type, scratch));
        record_.begin_object().add("rrname", name).add("rrtype", tname).add("ttl", ttl);
        std::string rdata;
        bool has_rdata = rdata_text(m, rd, rdlen, type, rdata);
        if (type == 6 && rdlen) {
          soa(m, rd, rdlen);
        } else if (type == 33 && rdlen >= 7 && has_rdata) {
          record_.begin_object("srv")
              .add("priority", load_be16(m.data() + rd))
              .add("weight", load_be16(m.data() + rd + 2))
              .add("port", load_be16(m.data() + rd + 4))
              .add("name", rdata)
              .end();
        } else if (type == 44 && rdlen > 2) {
          std::string fp;
          static constexpr char kHex[] = "0123456789abcdef";
          for (std::size_t k = rd + 2; k < rd + rdlen; ++k) {
            if (k > rd + 2) fp.push_back(':');
            fp.push_back(kHex[static_cast<uint8_t>(m[k]) >> 4]);
            fp.push_back(kHex[static_cast<uint8_t>(m[k]) & 15]);
          }
          record_.begin_object("sshfp")
              .add("fingerprint", fp)
              .add("algo", static_cast<uint8_t>(m[rd]))
              .add("type", static_cast<uint8_t>(m[rd + 1]))
              .end();
        } else if (has_rdata) {
          record_.add("rdata", rdata);
        }
        record_.end();
        if (s == 0 && has_rdata) {
          Grouped* g = nullptr;
          for (auto& x : grouped)
            if (x.type == tname) g = &x;
          if (!g) {
            grouped.push_back({tname, {}});
            g = &grouped.back();
          }
          g->values.push_back(rdata);
        }
      }
      record_.end();
    }
    if (!grouped.empty()) {
      record_.begin_object("grouped");
      for (auto& g : grouped) {
        record_.begin_array(g.type);
        for (auto& v : g.values) record_.add("", v);
        record_.end();
      }
      record_.end();
    }
    record_.end();
    if (bad) sink.anomaly("MALFORMED_DATA");
    sink.progress(
        {AppProto::kDns, response ? AppProgress::kDnsAnswer : AppProgress::kDnsQuery, dir, tx});
    sink.record("dns", record_, dir);
  }

  bool rdata_text(std::string_view m, std::size_t rd, uint16_t len, uint16_t type,
                  std::string& out) {
    out.clear();
    switch (type) {
      case 1:
        if (len != 4) return false;
        core::IpAddress::v4(reinterpret_cast<const uint8_t*>(m.data() + rd)).append_to(out);
        return true;
      case 28:
        if (len != 16) return false;
        append_suricata_ip(out,
                           core::IpAddress::v6(reinterpret_cast<const uint8_t*>(m.data() + rd)));
        return true;
      case 2:
      case 5:
      case 12:
      case 39:
        return read_name(m, rd, out) != 0;
      case 15:
        return len > 2 && read_name(m, rd + 2, out) != 0;
      case 16: {
        std::size_t p = rd, end = rd + len;
        while (p < end) {
          std::size_t l = static_cast<uint8_t>(m[p]);
          if (p + 1 + l > end) break;
          out.append(m.substr(p + 1, l));
          p += 1 + l;
        }
        return true;
      }
      case 33: {  // SRV: priority weight port target
        if (len < 7) return false;
        std::string target;
        if (!read_name(m, rd + 6, target)) return false;
        out = target;
        return true;
      }
      default:
        return false;
    }
  }

  void soa(std::string_view m, std::size_t rd, uint16_t len) {
    std::string mname, rname;
    std::size_t p = read_name(m, rd, mname);
    if (!p) return;
    p = read_name(m, p, rname);
    if (!p || p + 20 > rd + len) return;
    record_.begin_object("soa")
        .add("mname", mname)
        .add("rname", rname)
        .add("serial", load_be32(m.data() + p))
        .add("refresh", load_be32(m.data() + p + 4))
        .add("retry", load_be32(m.data() + p + 8))
        .add("expire", load_be32(m.data() + p + 12))
        .add("minimum", load_be32(m.data() + p + 16))
        .end();
  }

  bool tcp_;
  std::string pending_[2];
  std::vector<std::string> queries_;
  core::Fields record_;
  uint64_t next_tx_ = 0;
  std::vector<std::pair<uint16_t, uint64_t>> open_;  // pending request id -> tx
};

}  // namespace

bool looks_like_dns(std::string_view m) {
  Header h;
  if (!read_header(m, h)) return false;
  if (h.qd == 0 || h.qd > 16 || h.an > 512 || h.ns > 512 || h.ar > 512) return false;
  std::string name;
  std::size_t off = 12;
  for (unsigned i = 0; i < h.qd; ++i) {
    off = read_name(m, off, name);
    if (!off || off + 4 > m.size()) return false;
    // NetBIOS name service shares DNS's layout; its names are 32 letters 'A'..'P'.
    if (name.size() >= 32 && name.find('.') >= 32 &&
        std::all_of(name.begin(), name.begin() + 32, [](char c) { return (c >= 'A' && c <= 'P'); }))
      return false;
    uint16_t cls = load_be16(m.data() + off + 2);
    if ((cls & 0x7fff) != 1 && (cls & 0x7fff) != 3 && (cls & 0x7fff) != 4 &&
        (cls & 0x7fff) != 255 && (cls & 0x7fff) != 254)
      return false;
    off += 4;
  }
  return true;
}

std::unique_ptr<AppParser> make_dns_parser(bool tcp) { return std::make_unique<DnsParser>(tcp); }

}  // namespace mimamori::net

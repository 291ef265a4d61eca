// Retention: raw telemetry expires by kind (global days, per event type, per customer) while
// alerts' raw records, alerts and incidents stay; expiry runs in batches between which ingest
// commits; hourly aggregates are added at ingest (once per event, however often a batch is
// replayed), read through the API by their own customer only, cut to the top items once the
// hour is over and expired after their days. On both backends.

#include "retention/retention.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "mimamori/core/clock.h"
#include "mimamori/core/config.h"
#include "store/backend.h"
#include "store/community_id.h"
#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

constexpr int64_t kHour = 3600LL * 1000000;
constexpr int64_t kDay = 24 * kHour;

std::string at(int64_t micros) { return core::format_eve_time(core::Timestamp{micros}); }

std::string flow_line(int64_t ts, std::string_view src, int64_t out, int64_t in) {
  return json::serialize(json::object{
      {"timestamp", at(ts)},
      {"event_type", "flow"},
      {"src_ip", src},
      {"src_port", 50000},
      {"dest_ip", "203.0.113.80"},
      {"dest_port", 443},
      {"proto", "TCP"},
      {"flow",
       json::object{{"bytes_toserver", out}, {"bytes_toclient", in}, {"pkts_toserver", 3}}}});
}

std::string dns_at(int64_t ts, std::string_view name) {
  return json::serialize(json::object{{"timestamp", at(ts)},
                                      {"event_type", "dns"},
                                      {"src_ip", "192.168.1.20"},
                                      {"dest_ip", "192.168.1.1"},
                                      {"proto", "UDP"},
                                      {"dns", json::object{{"type", "query"}, {"rrname", name}}}});
}

std::string tls_at(int64_t ts, std::string_view sni) {
  return json::serialize(json::object{{"timestamp", at(ts)},
                                      {"event_type", "tls"},
                                      {"src_ip", "192.168.1.20"},
                                      {"dest_ip", "198.51.100.7"},
                                      {"proto", "TCP"},
                                      {"tls", json::object{{"sni", sni}}}});
}

struct Tenant {
  std::string customer, device, token;
  int64_t next_seq = 1;
};

class RetentionTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = fresh_store_url(GetParam(), &why);
    if (url_.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url_);
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
  }

  Tenant tenant(const std::string& name) {
    Tenant t;
    auto c = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(c.status, 201) << c.body;
    t.customer = c.str("id");
    auto code = admin_->post("/api/v1/customers/" + t.customer + "/enrollment-codes", "{}");
    EXPECT_EQ(code.status, 201) << code.body;
    Client anon(ts_->base);
    auto d = anon.call("POST", "/api/v1/enroll",
                       json::serialize(json::object{{"code", code.str("code")},
                                                    {"hostname", "gw-" + name},
                                                    {"kind", "sensor"},
                                                    {"version", "0.1.0"}}),
                       {"Content-Type: application/json"});
    EXPECT_EQ(d.status, 201) << d.body;
    t.device = d.str("device_id");
    t.token = d.str("device_token");
    return t;
  }

  void send(Tenant& t, const std::vector<std::string>& lines) {
    Client anon(ts_->base);
    auto r = ingest(anon, t.token, t.next_seq, lines);
    ASSERT_EQ(r.status, 200) << r.body;
    t.next_seq += static_cast<int64_t>(lines.size());
  }

  // Stored events of a customer and type in blocks whose oldest event time is in [from, to)
  // (the test's events of one age are within a second of each other), and rows of the
  // uncompressed table of earlier versions with a time in it.
  int64_t count(const Tenant& t, std::string_view type, int64_t from, int64_t to) {
    int64_t n = -1;
    auto st = store().transact(false, [&](SqlTx& tx) -> Status {
      auto r = tx.q(
          "SELECT (SELECT COALESCE(SUM(events), 0) FROM event_blocks WHERE customer_id = $1 AND "
          "event_type = $2 AND ts_min >= $3 AND ts_min < $4) + (SELECT COUNT(*) FROM events "
          "WHERE customer_id = $1 AND event_type = $2 AND ts >= $3 AND ts < $4)",
          {sp(t.customer), sp(type), sp(from), sp(to)});
      if (!r.ok()) return r.error();
      n = r->i64(0, 0);
      return {};
    });
    EXPECT_TRUE(st.ok()) << st.error().message;
    return n;
  }

  int64_t scalar(const std::string& sql, std::initializer_list<SqlParam> params = {}) {
    int64_t n = -1;
    auto st = store().transact(false, [&](SqlTx& tx) -> Status {
      auto r = tx.q(sql, params);
      if (!r.ok()) return r.error();
      n = r->i64(0, 0);
      return {};
    });
    EXPECT_TRUE(st.ok()) << st.error().message;
    return n;
  }

  Store& store() { return ts_->server->store(); }

  std::string url_;
  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(RetentionTest, RawTelemetryExpiresByKindCustomerAndTypeAlertsStay) {
  const int64_t now = core::now().micros;
  Tenant a = tenant("標準"), b = tenant("長期契約"), c = tenant("フロー短期");
  // Each tenant: flows, dns, tls and alerts 40, 20 and 5 days old.
  for (Tenant* t : {&a, &b, &c}) {
    std::vector<std::string> lines;
    for (int64_t age : {40, 20, 5}) {
      const int64_t ts = now - age * kDay;
      for (int i = 0; i < 3; ++i) {
        lines.push_back(flow_line(ts + i, "192.168.1.20", 100, 200));
        lines.push_back(dns_at(ts + i, "www.example.jp"));
        lines.push_back(tls_at(ts + i, "mail.example.jp"));
      }
      lines.push_back(alert_line(2024217, "ET MALWARE Possible Trojan Beacon", "192.168.1.20",
                                 "198.51.100.9", at(ts)));
    }
    send(*t, lines);
  }
  const int64_t alerts_before = scalar("SELECT COUNT(*) FROM alerts");
  const int64_t incidents_before = scalar("SELECT COUNT(*) FROM incidents");
  ASSERT_GT(alerts_before, 0);

  RetentionOptions o;  // raw 30 days, alerts forever
  o.type_days["dns"] = 10;
  o.customers[b.customer].days = 90;              // replaces the global rules for b
  o.customers[c.customer].type_days["flow"] = 3;  // on top of the global rules for c
  o.pause_ms = 0;
  Expiry expiry(store(), o);
  auto st = expiry.sweep(now);
  ASSERT_TRUE(st.ok()) << st.error().message;

  auto old = [&](int64_t age) { return std::pair{now - age * kDay, now - age * kDay + kHour}; };
  struct Want {
    Tenant* t;
    const char* type;
    int64_t age, n;
  };
  const std::vector<Want> want = {
      // a: the global rules.
      {&a, "flow", 40, 0},
      {&a, "flow", 20, 3},
      {&a, "tls", 40, 0},
      {&a, "tls", 20, 3},
      {&a, "dns", 20, 0},
      {&a, "dns", 5, 3},
      {&a, "alert", 40, 1},
      // b: 90 days for everything, the global dns rule does not apply.
      {&b, "flow", 40, 3},
      {&b, "dns", 40, 3},
      {&b, "tls", 40, 3},
      {&b, "alert", 40, 1},
      // c: its flow rule, then the global ones.
      {&c, "flow", 5, 0},
      {&c, "dns", 20, 0},
      {&c, "dns", 5, 3},
      {&c, "tls", 40, 0},
      {&c, "tls", 20, 3},
      {&c, "alert", 40, 1},
  };
  for (const auto& w : want) {
    auto [from, to] = old(w.age);
    EXPECT_EQ(count(*w.t, w.type, from, to), w.n)
        << w.type << " of " << w.t->customer << ", " << w.age << " days old";
  }
  // a: flow, tls 40; dns 40, 20 — c: flow 40, 20, 5; dns 40, 20; tls 40. Three each.
  EXPECT_EQ(st->events_deleted, 3 * (4 + 6));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM alerts"), alerts_before);
  EXPECT_GE(scalar("SELECT COUNT(*) FROM incidents"), incidents_before);

  // A second sweep finds nothing more; alert raw records go once alert_days says so.
  auto again = expiry.sweep(now);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->events_deleted, 0);
  o.alert_days = 30;
  Expiry with_alerts(store(), o);
  auto st2 = with_alerts.sweep(now);
  ASSERT_TRUE(st2.ok()) << st2.error().message;
  EXPECT_EQ(count(a, "alert", old(40).first, old(40).second), 0);
  EXPECT_EQ(count(a, "alert", old(20).first, old(20).second), 1);
  EXPECT_EQ(count(c, "alert", old(40).first, old(40).second), 0);
  // b's own days (90) cover its raw telemetry, not its alert records: alert_days applies.
  EXPECT_EQ(count(b, "alert", old(40).first, old(40).second), 0);
  EXPECT_EQ(st2->events_deleted, 3);
}

// Suricata-shaped records as a gateway sends them, written by hand so that their bytes are
// not what a JSON writer would make: members in Suricata's order, spaces, escapes (\/, \u3042),
// raw UTF-8, long fields. Stored compressed, each must come back exactly as sent.
std::string office_record(int64_t i, int64_t ts) {
  const std::string t = at(ts);
  const auto n = std::to_string(i);
  switch (i % 5) {
    case 0:
      return R"({"timestamp":")" + t + R"(","flow_id":)" + std::to_string(1000000007 * i) +
             R"(,"in_iface":"eth1","event_type":"flow","src_ip":"192.168.1.)" +
             std::to_string(10 + i % 30) + R"(","src_port":)" + std::to_string(49152 + i % 16000) +
             R"(,"dest_ip":"203.0.113.80","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":12,"pkts_toclient":15,"bytes_toserver":)" +
             std::to_string(900 + i) + R"(,"bytes_toclient":)" + std::to_string(52000 + 7 * i) +
             R"(,"start":"2026-11-26T19:40:05.000000+0900","end":")" + t +
             R"(","age":30,"state":"closed","reason":"timeout","alerted":false},"community_id":"1:)" +
             n +
             R"(=","tcp":{"tcp_flags":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}})";
    case 1:
      return R"({ "timestamp": ")" + t +
             R"(", "event_type": "dns", "src_ip": "192.168.1.20", "dest_ip": "192.168.1.1", "proto": "UDP", "dns": { "type": "query", "id": )" +
             n + R"(, "rrname": "site)" + n + R"(.example.jp", "rrtype": "A", "tx_id": 0 } })";
    case 2:
      return R"({"timestamp":")" + t +
             R"(","event_type":"tls","src_ip":"192.168.1.21","dest_ip":"198.51.100.7","proto":"TCP","tls":{"subject":"CN=\u3042\u3044.example.jp","issuerdn":"C=JP, O=見守り認証局","serial":")" +
             n +
             R"(","sni":"mail.example.jp","version":"TLS 1.3","ja3s":"15af977ce25de452b96affa2addb1036"}})";
    case 3:
      return R"({"timestamp":")" + t +
             R"(","event_type":"http","src_ip":"192.168.1.22","dest_ip":"203.0.113.9","proto":"TCP","http":{"hostname":"www.example.jp","url":"\/api\/v2\/check?client=)" +
             n +
             R"(&q=%E8%A6%8B","http_user_agent":"Mozilla\/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit\/537.36 (KHTML, like Gecko) Chrome\/120.0.0.0 Safari\/537.36","http_method":"GET","protocol":"HTTP\/1.1","status":200,"length":)" +
             std::to_string(i * 13 % 20000) + "}}";
    default:
      return R"({"timestamp":")" + t + R"(","flow_id":)" + n +
             R"(,"event_type":"alert","src_ip":"192.168.1.10","src_port":49152,"dest_ip":"198.51.100.9","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2024217,"rev":3,"signature":"ET MALWARE Possible Trojan Beacon \"試験\"","category":"A Network Trojan was detected","severity":1},"payload_printable":"GET \/beacon?id=)" +
             n + R"( HTTP\/1.1\r\n"})";
  }
}

TEST_P(RetentionTest, CompressedEventsComeBackByteForByteThroughTheApi) {
  const int64_t now = core::now().micros;
  Tenant a = tenant("圧縮");
  // 3,000 records in three batches: several commit groups, blocks of more than one type and
  // past the 1,024 events of one block.
  std::vector<std::string> sent;
  for (int64_t i = 0; i < 3500; ++i) sent.push_back(office_record(i, now - kHour + i * 1000));
  for (size_t k = 0; k < 3; ++k) {
    send(a, std::vector<std::string>(sent.begin() + static_cast<long>(k * 1000),
                                     sent.begin() + static_cast<long>((k + 1) * 1000)));
  }
  // Replays store nothing twice: a batch half stored (its first 500 are in the blocks of the
  // last commit), and one stored whole.
  {
    Client anon(ts_->base);
    auto r = ingest(anon, a.token, 2501, std::vector<std::string>(sent.begin() + 2500, sent.end()));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("duplicates").as_int64(), 500) << r.body;
    r = ingest(anon, a.token, 1001,
               std::vector<std::string>(sent.begin() + 1000, sent.begin() + 2000));
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(r.json().at("duplicates").as_int64(), 1000) << r.body;
  }
  auto n = store().count_events(a.device);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3500);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM events"), 0) << "new events go into blocks";
  // Compressed: the data is a fraction of the records' bytes.
  const int64_t raw = scalar("SELECT SUM(raw_bytes) FROM event_blocks");
  const int64_t stored = scalar("SELECT SUM(LENGTH(data)) FROM event_blocks");
  EXPECT_GT(raw, 3500 * 150);
  EXPECT_LT(stored * 3, raw) << stored << " bytes stored for " << raw;

  // Every record through the store, in the order asked.
  std::vector<EventKey> keys;
  for (int64_t s = 3500; s >= 1; --s) keys.push_back({a.device, s});
  keys.push_back({a.device, 3501});  // never sent
  std::vector<std::pair<EventKey, std::string>> got;
  ASSERT_TRUE(store()
                  .transact(false,
                            [&](SqlTx& tx) -> Status {
                              auto r = read_events(tx, keys);
                              if (!r.ok()) return r.error();
                              got = std::move(*r);
                              return {};
                            })
                  .ok());
  ASSERT_EQ(got.size(), 3500u);
  for (const auto& [k, line] : got) {
    ASSERT_EQ(line, sent[static_cast<size_t>(k.seq - 1)]) << "seq " << k.seq;
  }

  // The alerts' records through the API, which answers each as a JSON value: each one sent
  // (the same members in the same order with the same values) and none missing.
  std::multiset<std::string> want, seen;
  for (size_t i = 4; i < sent.size(); i += 5) want.insert(json::serialize(json::parse(sent[i])));
  auto alerts = admin_->get("/api/v1/alerts?limit=1000");
  ASSERT_EQ(alerts.status, 200) << alerts.body;
  const auto alert_list = alerts.json();
  for (const auto& al : alert_list.at("items").as_array()) {
    auto ev = admin_->get("/api/v1/alerts/" + std::string(al.at("id").as_string()) +
                          "/events?limit=1000");
    ASSERT_EQ(ev.status, 200) << ev.body;
    const auto items = ev.json();
    for (const auto& e : items.at("items").as_array()) {
      seen.insert(json::serialize(e));
    }
  }
  EXPECT_EQ(seen, want);
}

// Records of many shapes through ingest, laid out by column in the blocks (format 2) and read
// back byte for byte: numbers, addresses, times and hex in forms that come back and in forms
// that do not, escapes, nested members.
TEST_P(RetentionTest, RecordsOfEveryShapeComeBackByteForByteLaidOutByColumn) {
  const int64_t now = core::now().micros;
  Tenant a = tenant("列");
  std::vector<std::string> sent;
  for (int64_t i = 0; i < 300; ++i) {
    const std::string t = at(now - kHour + i * 1000);
    const std::string n = std::to_string(i);
    switch (i % 6) {
      case 0:
        sent.push_back(R"({"timestamp":")" + t + R"(","event_type":"flow","src_ip":"10.0.0.)" +
                       n.substr(0, 2) + R"(","dest_ip":"2001:db8::)" + n +
                       R"(","proto":"TCP","flow":{"bytes_toserver":)" + n +
                       R"(,"age":-1,"ratio":0.5,"big":12345678901234567890,"start":")" +
                       at(now - kHour) + R"(","end":"2026-11-26T19:41:05+0900"}})");
        break;
      case 1:
        sent.push_back(R"({"timestamp": ")" + t +
                       R"(", "event_type" : "tls", "tls": {"serial": ")" + n +
                       R"(0A0B0C0D0E", "fingerprint": "aa:bb", "ja3": "deadbeef)" + n +
                       R"(", "mixed": "DeadBeef00"}})");
        break;
      case 2:
        sent.push_back(
            R"({"timestamp":")" + t +
            R"(","event_type":"http","http":{"url":"\/a?b=\"c\"&d=\u3042","hostname":"見守り.jp","ports":[80,443],"a\"b":"01.2.3.4"}})");
        break;
      case 3:
        sent.push_back(R"({"timestamp":")" + t + R"(","event_type":"dns","dns":{"id":)" + n +
                       R"(,"id":"x","answers":[{"rdata":"192.0.2.1","ttl":300}],"rrname":""}})");
        break;
      case 4:  // not the first of its name or kind, and spaced
        sent.push_back(R"({"event_type":"flow", "timestamp":")" + t + R"(" ,"x":1,"x":"1",)" +
                       R"("y":"AbCdEf0123456789","z":"0.0.0.0","w":")" + at(now) + R"("})");
        break;
      default:
        sent.push_back(R"({"timestamp":")" + t + R"(","event_type":"flow","n":)" + n + "}");
        break;
    }
  }
  send(a, sent);
  std::vector<EventKey> keys;
  for (int64_t s = 1; s <= static_cast<int64_t>(sent.size()); ++s) keys.push_back({a.device, s});
  std::vector<std::pair<EventKey, std::string>> got;
  int64_t blocks = 0, by_column = 0;
  ASSERT_TRUE(store()
                  .transact(false,
                            [&](SqlTx& tx) -> Status {
                              auto r = read_events(tx, keys);
                              if (!r.ok()) return r.error();
                              got = std::move(*r);
                              auto b = tx.q(
                                  "SELECT data, first_seq, ts_min FROM event_blocks WHERE "
                                  "device_id = $1",
                                  {sp(a.device)});
                              if (!b.ok()) return b.error();
                              for (size_t k = 0; k < b->size(); ++k) {
                                auto block = stored_event_block(blob_of(tx.dialect(), b->str(k, 0)),
                                                                b->i64(k, 1), b->i64(k, 2));
                                if (!block.ok()) return block.error();
                                ++blocks;
                                by_column += block->format == 2 ? 1 : 0;
                              }
                              return {};
                            })
                  .ok());
  ASSERT_EQ(got.size(), sent.size());
  for (const auto& [k, line] : got) {
    ASSERT_EQ(line, sent[static_cast<size_t>(k.seq - 1)]) << "seq " << k.seq;
  }
  EXPECT_GE(blocks, 4);
  EXPECT_EQ(by_column, blocks);
}

// Community IDs as the spec's own example gives them and as an independent implementation
// (Python's hashlib) gives them for IPv6 and for seed 1.
TEST(CommunityId, TheSpecsExampleIPv6AndSeeds) {
  auto a = core::IpAddress::parse("128.232.110.120");
  auto b = core::IpAddress::parse("66.35.250.204");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(community_id_v1(*a, *b, 6, 34855, 80), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  EXPECT_EQ(community_id_v1(*b, *a, 6, 80, 34855), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  auto c = core::IpAddress::parse("192.168.1.20");
  auto d = core::IpAddress::parse("192.168.1.1");
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_EQ(community_id_v1(*c, *d, 17, 51000, 53, 1), "1:0D6LHv6hEJ+Skrgpa1FGmWYaik4=");
  EXPECT_EQ(eve_community_id(R"({"src_ip":"2001:db8::1","src_port":53000,"dest_ip":)"
                             R"("2001:db8::53","dest_port":53,"proto":"UDP"})"),
            "1:p2WBFbz+SRMmv0mLBp8H+ZCQ/2M=");
  EXPECT_EQ(eve_community_id(R"({"src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"ICMP"})"), "");
  EXPECT_EQ(eve_community_id(R"({"src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2"})"), "");
}

// A record's community_id that its own 5-tuple gives (seed 0) is stored without its 28 base64
// characters and its timestamp without the 26 its time gives, both put back when read; every
// other (a wrong, odd, other-seed, spaced or empty community_id, none, ICMP; a timestamp
// without a fraction) is stored as sent. All come back byte for byte, replays
// store nothing twice.
TEST_P(RetentionTest, CommunityIdsLeftOutWhenRecomputableComeBackByteForByte) {
  const int64_t now = core::now().micros;
  Tenant a = tenant("コミュニティ");
  const std::string v4 = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";  // 128.232.110.120:34855 → :80
  const std::string v6 = "1:p2WBFbz+SRMmv0mLBp8H+ZCQ/2M=";  // 2001:db8::1:53000 → ::53 UDP
  const std::string seed1 = "1:0D6LHv6hEJ+Skrgpa1FGmWYaik4=";
  const std::string t4 =
      R"("src_ip":"128.232.110.120","src_port":34855,"dest_ip":"66.35.250.204","dest_port":80,"proto":"TCP")";
  const std::string t4r =
      R"("src_ip":"66.35.250.204","src_port":80,"dest_ip":"128.232.110.120","dest_port":34855,"proto":"TCP")";
  const std::string t6 =
      R"("src_ip":"2001:db8::1","src_port":53000,"dest_ip":"2001:db8::53","dest_port":53,"proto":"UDP")";
  const std::string tdns =
      R"("src_ip":"192.168.1.20","src_port":51000,"dest_ip":"192.168.1.1","dest_port":53,"proto":"UDP")";
  const std::string ticmp =
      R"("src_ip":"192.168.1.20","dest_ip":"192.168.1.1","proto":"ICMP","icmp_type":8,"icmp_code":0)";
  constexpr int kRounds = 40, kKinds = 13;
  std::vector<std::string> sent;
  for (int64_t i = 0; i < kRounds * kKinds; ++i) {
    const int64_t t = now - kHour + i * 1000;
    std::string stamp = at(t);
    if (i % kKinds == 11) stamp = core::format_eve_time(core::Timestamp{t}, 0);
    if (i % kKinds == 12) stamp = stamp.substr(0, 19) + stamp.substr(26);  // no fraction
    const std::string head = R"({"timestamp":")" + stamp + R"(","flow_id":)" +
                             std::to_string(7919 * i + 1) + R"(,"event_type":"flow",)";
    const std::string flow = R"("flow":{"pkts_toserver":)" + std::to_string(i) + "}";
    auto cid = [](const std::string& v) { return R"("community_id":")" + v + R"(")"; };
    switch (i % kKinds) {
      case 0:
        sent.push_back(head + t4 + "," + flow + "," + cid(v4) + "}");
        break;
      case 1:
        sent.push_back(head + t4r + "," + cid(v4) + "," + flow + "}");
        break;
      case 2:
        sent.push_back(head + t6 + "," + flow + "," + cid(v6) + "}");
        break;
      case 3:
        sent.push_back(head + t4 + "," + flow + "," + cid(v6) + "}");
        break;  // wrong
      case 4:
        sent.push_back(head + t4 + "," + flow + "," + cid("1:abc=") + "}");
        break;
      case 5:
        sent.push_back(head + t4 + "," + flow + "}");
        break;  // none
      case 6:
        sent.push_back(head + ticmp + "," + flow + "," + cid(v4) + "}");
        break;
      case 7:
        sent.push_back(head + tdns + "," + flow + "," + cid(seed1) + "}");
        break;
      case 8:  // spaced as another writer might: left as it is
        sent.push_back(head + t4 + "," + flow + R"(,"community_id": ")" + v4 + "\"}");
        break;
      case 9:  // twice: the first is left out, the second stays
        sent.push_back(head + t4 + "," + cid(v4) + "," + flow + R"(,"x":{)" + cid(v4) + "}}");
        break;
      case 10:  // empty
        sent.push_back(head + t4 + "," + flow + "," + cid("1:") + "}");
        break;
      default:
        sent.push_back(head + t4 + "," + flow + "," + cid(v4) + "}");
        break;
    }
  }
  send(a, sent);
  {
    Client anon(ts_->base);
    auto r = ingest(anon, a.token, 1, sent);
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(r.json().at("duplicates").as_int64(), static_cast<int64_t>(sent.size())) << r.body;
  }
  std::vector<EventKey> keys;
  for (int64_t s = static_cast<int64_t>(sent.size()); s >= 1; --s) keys.push_back({a.device, s});
  std::vector<std::pair<EventKey, std::string>> got;
  std::string plain;  // the records as stored, before what was left out is put back
  ASSERT_TRUE(
      store()
          .transact(false,
                    [&](SqlTx& tx) -> Status {
                      auto r = read_events(tx, keys);
                      if (!r.ok()) return r.error();
                      got = std::move(*r);
                      auto b = tx.q(
                          "SELECT data, first_seq, ts_min FROM event_blocks WHERE device_id = $1",
                          {sp(a.device)});
                      if (!b.ok()) return b.error();
                      for (size_t k = 0; k < b->size(); ++k) {
                        auto block = stored_event_block(blob_of(tx.dialect(), b->str(k, 0)),
                                                        b->i64(k, 1), b->i64(k, 2));
                        if (!block.ok()) return block.error();
                        EXPECT_EQ(block->format, 2) << "every record is JSON: laid out by column";
                        for (const auto& t : block->texts) plain += t;
                      }
                      return {};
                    })
          .ok());
  ASSERT_EQ(got.size(), sent.size());
  for (const auto& [k, line] : got) {
    ASSERT_EQ(line, sent[static_cast<size_t>(k.seq - 1)]) << "seq " << k.seq;
  }
  // Left out: the matching ones in Suricata's form (kinds 0, 1, 2, 11, 12 and the first of 9),
  // and the timestamps but the one without a fraction.
  auto occurrences = [&](const std::string& v) {
    int n = 0;
    for (size_t at = plain.find(v); at != std::string::npos; at = plain.find(v, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(occurrences(v4), 3 * kRounds) << "ICMP, spaced, the second of two";
  EXPECT_EQ(occurrences(v6), kRounds) << "the wrong one";
  EXPECT_EQ(occurrences(seed1), kRounds);
  EXPECT_EQ(occurrences("\"community_id\":\"1:abc=\""), kRounds);
  EXPECT_EQ(occurrences("\"community_id\":\"1:\""), 7 * kRounds) << "6 left out, 1 empty";
  EXPECT_EQ(occurrences("\"timestamp\":\"+0900\""), 11 * kRounds);
  EXPECT_EQ(occurrences("\"timestamp\":\"+0000\""), kRounds);
  EXPECT_EQ(occurrences("\"timestamp\":\"2"), kRounds) << "no fraction: as sent";
}

TEST_P(RetentionTest, ExpiryRunsInBatchesWhileIngestCommits) {
  const int64_t now = core::now().micros;
  Tenant a = tenant("大量");
  // 12,000 old flows, in batches of 2,000.
  for (int k = 0; k < 6; ++k) {
    std::vector<std::string> lines;
    for (int i = 0; i < 2000; ++i) {
      lines.push_back(flow_line(now - 45 * kDay + k * 2000 + i, "192.168.1.30", 10, 10));
    }
    send(a, lines);
  }
  RetentionOptions o;
  o.batch_ms = 20;
  // The 12,000 events are a dozen blocks: a pause long enough for ingest to get in between.
  o.pause_ms = 50;
  Expiry expiry(store(), o);
  const int64_t busy_before = sqlite_busy_retries();
  std::atomic<bool> done{false};
  Result<ExpiryStats> st = core::make_error("not run");
  std::thread sweeper([&] {
    st = expiry.sweep(now);
    done = true;
  });
  // Ingest carries on, batch after batch, while the sweep runs.
  int during = 0;
  Tenant b = tenant("同時");
  while (!done) {
    send(b, {dns_at(now, "during.example.jp")});
    if (!done) ++during;
  }
  sweeper.join();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->events_deleted, 12000);
  EXPECT_GT(st->batches, 3) << "one large delete instead of batches";
  EXPECT_GT(during, 0) << "no ingest committed while the sweep ran";
  // On SQLite the ingest writer and the sweep queue on the store's write mutex: neither ever
  // found the database locked and slept to retry.
  EXPECT_EQ(sqlite_busy_retries(), busy_before);
  EXPECT_EQ(count(a, "flow", 0, now), 0);
  EXPECT_EQ(count(b, "dns", 0, now + kHour), b.next_seq - 1);
}

TEST_P(RetentionTest, HourlyAggregatesCountOnceAndAreReadByTheirCustomerOnly) {
  const int64_t now = core::now().micros;
  const int64_t hour = (now / kHour - 5) * kHour;  // closed, and inside the cut's look-back
  Tenant a = tenant("集計"), b = tenant("他社");
  std::vector<std::string> lines = {
      flow_line(hour + 1, "192.168.1.20", 1000, 5000),
      flow_line(hour + 2, "192.168.1.21", 300, 100),
      flow_line(hour + 3, "192.168.1.22", 10, 20),
      flow_line(hour + 4, "192.168.1.20", 1, 2),
      dns_at(hour + 5, "www.example.jp"),
      dns_at(hour + 6, "www.example.jp"),
      dns_at(hour + 7, "cdn.example.net"),
      tls_at(hour + 8, "mail.example.jp"),
      alert_line(2024217, "ET MALWARE Possible Trojan Beacon", "192.168.1.20", "198.51.100.9",
                 at(hour + 9)),
  };
  send(a, lines);
  // The same batch again (a device retrying): all duplicates (409), stored once, counted once.
  {
    Client anon(ts_->base);
    auto again = ingest(anon, a.token, 1, lines);
    ASSERT_EQ(again.status, 409) << again.body;
  }
  const std::string path = "/api/v1/customers/" + a.customer +
                           "/aggregates?from=" + at(hour - kHour) + "&to=" + at(hour + 2 * kHour);
  std::string escaped;
  for (char ch : path) escaped += ch == '+' ? std::string("%2B") : std::string(1, ch);
  auto r = admin_->get(escaped);
  ASSERT_EQ(r.status, 200) << r.body;
  auto hours = r.json().at("hours").as_array();
  ASSERT_EQ(hours.size(), 1u) << r.body;
  const auto& h = hours[0].as_object();
  EXPECT_EQ(h.at("hour").as_string(), at(hour));
  EXPECT_EQ(h.at("events").at("flow").as_int64(), 4);
  EXPECT_EQ(h.at("events").at("dns").as_int64(), 3);
  EXPECT_EQ(h.at("events").at("tls").as_int64(), 1);
  EXPECT_EQ(h.at("events").at("alert").as_int64(), 1);
  EXPECT_EQ(h.at("alerts").as_object().size(), 1u) << r.body;
  EXPECT_EQ(h.at("bytes_out").as_int64(), 1311);
  EXPECT_EQ(h.at("bytes_in").as_int64(), 5122);
  const auto& talkers = h.at("top_talkers").as_array();
  ASSERT_EQ(talkers.size(), 3u);
  EXPECT_EQ(talkers[0].at("ip").as_string(), "192.168.1.20");
  EXPECT_EQ(talkers[0].at("bytes").as_int64(), 6003);
  EXPECT_EQ(talkers[1].at("ip").as_string(), "192.168.1.21");
  const auto& domains = h.at("top_domains").as_array();
  ASSERT_EQ(domains.size(), 3u) << r.body;
  EXPECT_EQ(domains[0].at("name").as_string(), "www.example.jp");
  EXPECT_EQ(domains[0].at("count").as_int64(), 2);

  // The customer's own user reads them; another customer's user gets 404, and so does an
  // unknown customer.
  for (auto [t, email] : {std::pair{&a, "own@agg.example.jp"}, {&b, "other@agg.example.jp"}}) {
    ASSERT_TRUE(store()
                    .create_user(Principal::system("test"), email, "利用者",
                                 "customer password 1234", Role::kCustomerUser, t->customer)
                    .ok());
  }
  Client own(ts_->base), other(ts_->base);
  ASSERT_EQ(own.login("own@agg.example.jp", "customer password 1234").status, 200);
  ASSERT_EQ(other.login("other@agg.example.jp", "customer password 1234").status, 200);
  auto mine = own.get(escaped);
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.body, r.body);
  auto theirs = other.get(escaped);
  EXPECT_EQ(theirs.status, 404) << theirs.body;
  EXPECT_EQ(theirs.body.find("192.168.1.20"), std::string::npos);
  EXPECT_EQ(admin_->get("/api/v1/customers/cus_nope/aggregates").status, 404);
  EXPECT_EQ(admin_->get("/api/v1/customers/" + a.customer + "/aggregates?from=yesterday").status,
            400);
  EXPECT_EQ(admin_
                ->get("/api/v1/customers/" + a.customer +
                      "/aggregates?from=" + "2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z")
                .status,
            400);

  // Once the hour is over, talkers and domains keep their top items only.
  RetentionOptions o;
  o.aggregate_top = 2;
  o.pause_ms = 0;
  Expiry expiry(store(), o);
  auto st = expiry.sweep(now);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->aggregates_cut, 2);  // one talker, one domain
  // ... and the hour is folded into one row of its own.
  EXPECT_EQ(
      scalar("SELECT COUNT(*) FROM hourly_aggregates WHERE customer_id = $1", {sp(a.customer)}), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM hourly_aggregate_blocks WHERE customer_id = $1",
                   {sp(a.customer)}),
            1);
  {
    auto cut = admin_->get(escaped);
    ASSERT_EQ(cut.status, 200) << cut.body;
    const auto cut_json = cut.json();
    const auto& ch = cut_json.at("hours").as_array().at(0).as_object();
    EXPECT_EQ(ch.at("events"), h.at("events"));
    EXPECT_EQ(ch.at("alerts"), h.at("alerts"));
    EXPECT_EQ(ch.at("bytes_in"), h.at("bytes_in"));
    EXPECT_EQ(ch.at("bytes_out"), h.at("bytes_out"));
    const auto& t2 = ch.at("top_talkers").as_array();
    ASSERT_EQ(t2.size(), 2u) << cut.body;
    EXPECT_EQ(t2[0], talkers[0]);
    EXPECT_EQ(t2[1], talkers[1]);
    const auto& d2 = ch.at("top_domains").as_array();
    ASSERT_EQ(d2.size(), 2u) << cut.body;
    EXPECT_EQ(d2[0], domains[0]);
    EXPECT_EQ(cut.body.find("mail.example.jp"), std::string::npos) << cut.body;
  }
  // A late event of the folded hour is counted beside the fold, and folded into it next.
  send(a, {dns_at(hour + 10, "www.example.jp"), flow_line(hour + 11, "192.168.1.99", 1, 1)});
  auto late = admin_->get(escaped);
  ASSERT_EQ(late.status, 200) << late.body;
  auto late_hour = late.json().at("hours").as_array().at(0).as_object();
  EXPECT_EQ(late_hour.at("events").at("dns").as_int64(), 4) << late.body;
  EXPECT_EQ(late_hour.at("top_domains").as_array().at(0).at("count").as_int64(), 3) << late.body;
  auto st3 = Expiry(store(), o).sweep(now);
  ASSERT_TRUE(st3.ok()) << st3.error().message;
  EXPECT_EQ(st3->aggregates_cut, 1) << "the late talker, below the top 2";
  EXPECT_EQ(
      scalar("SELECT COUNT(*) FROM hourly_aggregates WHERE customer_id = $1", {sp(a.customer)}), 0);
  auto refolded = admin_->get(escaped);
  ASSERT_EQ(refolded.status, 200) << refolded.body;
  const auto rh = refolded.json().at("hours").as_array().at(0).as_object();
  EXPECT_EQ(rh.at("events").at("dns").as_int64(), 4);
  EXPECT_EQ(rh.at("events").at("flow").as_int64(), 5);
  EXPECT_EQ(rh.at("top_talkers").as_array().size(), 2u);

  // Aggregates older than aggregate_days go; 13 months by default keeps a year-old hour.
  auto put = store().transact(true, [&](SqlTx& tx) -> Status {
    for (int64_t age : {400, 370}) {
      auto q = tx.q(
          "INSERT INTO hourly_aggregates (customer_id, hour_start, metric, item, value) VALUES "
          "($1, $2, 'events', 'flow', 7)",
          {sp(a.customer), sp((now - age * kDay) / kHour * kHour)});
      if (!q.ok()) return q.error();
    }
    return {};
  });
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto st2 = Expiry(store(), RetentionOptions{}).sweep(now);
  ASSERT_TRUE(st2.ok()) << st2.error().message;
  EXPECT_EQ(st2->aggregates_deleted, 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM hourly_aggregates WHERE hour_start < $1",
                   {sp(now - 300 * kDay)}),
            1);
  // Folded hours expire the same way.
  auto old_fold = store().transact(true, [&](SqlTx& tx) -> Status {
    auto q = tx.q("UPDATE hourly_aggregate_blocks SET hour_start = $2 WHERE customer_id = $1",
                  {sp(a.customer), sp((now - 400 * kDay) / kHour * kHour)});
    if (!q.ok()) return q.error();
    return {};
  });
  ASSERT_TRUE(old_fold.ok()) << old_fold.error().message;
  auto st4 = Expiry(store(), RetentionOptions{}).sweep(now);
  ASSERT_TRUE(st4.ok()) << st4.error().message;
  EXPECT_EQ(st4->aggregates_deleted, 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM hourly_aggregate_blocks"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, RetentionTest, ::testing::ValuesIn(backends()));

TEST(RetentionOptions, ReadFromTheConfigurationAndCheckedWithTheKeyNamed) {
  auto c = core::Config::from_string(
      "store:\n"
      "  retention:\n"
      "    raw_days: 14\n"
      "    types: {flow: 7, dns: 60}\n"
      "    customers:\n"
      "      cus_a: {days: 365}\n"
      "      cus_b: {types: {tls: 90}}\n",
      "server.yaml");
  auto o = load_server_options(c);
  const auto& r = o.store.retention;
  EXPECT_EQ(r.raw_days, 14);
  EXPECT_EQ(r.type_days.at("flow"), 7);
  EXPECT_EQ(r.type_days.at("dns"), 60);
  EXPECT_EQ(r.customers.at("cus_a").days, 365);
  EXPECT_EQ(r.customers.at("cus_b").days, -1);
  EXPECT_EQ(r.customers.at("cus_b").type_days.at("tls"), 90);
  // cus_a: its own days (alert records kept forever, so one rule);
  // cus_b: flow, dns, tls, raw; the rest: flow, dns, raw.
  EXPECT_EQ(Expiry::plan(r).size(), 1u + 4u + 3u);

  auto bad = core::Config::from_string("store:\n  retention:\n    types: {dns: -3}\n", "bad.yaml");
  try {
    (void)load_server_options(bad);
    ADD_FAILURE() << "negative days accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("store.retention.types.dns"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mimamori::server::testing

#include "mimamori/core/eve.h"

#include <gtest/gtest.h>

#include <random>

namespace mimamori::core {
namespace {

Event base(std::string_view type) {
  Event e;
  e.timestamp = parse_time("2026-11-26T10:40:35.123456Z").value();
  e.event_type = std::string(type);
  e.flow_id = 1234567890123456ull;
  e.in_iface = "eth0";
  e.src_ip = IpAddress::parse("192.168.1.10").value();
  e.dest_ip = IpAddress::parse("2001:db8::1").value();
  e.src_port = 51234;
  e.dest_port = 443;
  e.proto = "TCP";
  return e;
}

// One sample of every kind of event Mimamori writes.
std::vector<Event> every_kind() {
  std::vector<Event> all;
  {
    Event e = base("alert");
    e.app_proto = "http";
    Alert& a = e.alert.emplace();
    a.signature_id = 2019401;
    a.rev = 4;
    a.signature = "ET POLICY curl User-Agent Outbound";
    a.category = "Attempted Information Leak";
    a.severity = 2;
    a.metadata.begin_array("created_at").add("", "2014_10_16").end();
    a.metadata.begin_array("signature_severity").add("", "Informational").end();
    e.fields.begin_object("http").add("hostname", "example.jp").add("url", "/a?b=c").end();
    all.push_back(e);
  }
  {
    Event e = base("flow");
    e.app_proto = "tls";
    e.fields.begin_object("flow")
        .add("pkts_toserver", 12u)
        .add("pkts_toclient", 10u)
        .add("bytes_toserver", 1500u)
        .add("bytes_toclient", 98000u)
        .add("start", "2026-11-26T19:40:35.123456+0900")
        .add("end", "2026-11-26T19:40:36.000001+0900")
        .add("age", 1)
        .add("state", "closed")
        .add("reason", "timeout")
        .add("alerted", false)
        .end();
    all.push_back(e);
  }
  {
    Event e = base("dns");
    e.proto = "UDP";
    e.dest_port = 53;
    e.fields.begin_object("dns")
        .add("type", "answer")
        .add("id", 4660)
        .add("rrname", "www.example.jp")
        .add("rrtype", "A")
        .add("rcode", "NOERROR")
        .begin_array("answers")
        .begin_object()
        .add("rrname", "www.example.jp")
        .add("rrtype", "A")
        .add("ttl", 300)
        .add("rdata", "203.0.113.5")
        .end()
        .end()
        .end();
    all.push_back(e);
  }
  {
    Event e = base("http");
    e.fields.begin_object("http")
        .add("hostname", "example.jp")
        .add("url", "/index.html")
        .add("http_user_agent", "Mozilla/5.0")
        .add("http_method", "GET")
        .add("protocol", "HTTP/1.1")
        .add("status", 200)
        .add("length", 5120)
        .end();
    all.push_back(e);
  }
  {
    Event e = base("tls");
    e.fields.begin_object("tls")
        .add("sni", "mail.example.jp")
        .add("version", "TLS 1.3")
        .begin_object("ja3")
        .add("hash", "e7d705a3286e19ea42f587b344ee6865")
        .add("string", "771,4865-4866,0-23,29-23,0")
        .end()
        .end();
    all.push_back(e);
  }
  {
    Event e = base("ssh");
    e.fields.begin_object("ssh")
        .begin_object("client")
        .add("proto_version", "2.0")
        .add("software_version", "OpenSSH_9.2")
        .end()
        .end();
    all.push_back(e);
  }
  {
    Event e = base("anomaly");
    e.fields.begin_object("anomaly")
        .add("type", "decode")
        .add("event", "ipv4.trunc_pkt")
        .add("layer", "proto_detect")
        .end();
    all.push_back(e);
  }
  {
    Event e;
    e.timestamp = now();
    e.event_type = "stats";
    e.fields.begin_object("stats")
        .add("uptime", 12)
        .begin_object("decoder")
        .add("pkts", 1000000u)
        .add("bytes", 123456789012ull)
        .end()
        .add("ratio", 0.25)
        .add("negative", -42)
        .add("nothing", nullptr == nullptr ? std::string_view() : "x")
        .add_null("unset")
        .end();
    all.push_back(e);
  }
  for (auto type : {"auth", "fim", "process", "persistence", "ransomware", "inventory"}) {
    Event e;
    e.timestamp = parse_time("2026-01-02T03:04:05.000006+09:00").value();
    e.event_type = type;
    e.fields.add("host", "pc-01").begin_object(type).add("user", "taro").add("pid", 4321).end();
    all.push_back(e);
  }
  return all;
}

TEST(Eve, EveryKindRoundTrips) {
  for (const Event& e : every_kind()) {
    std::string line = to_eve(e);
    auto back = parse_eve(line);
    ASSERT_TRUE(back.ok()) << back.error().message << "\n" << line;
    EXPECT_EQ(*back, e) << line;
    EXPECT_EQ(to_eve(*back), line);
  }
}

TEST(Eve, WritesSuricataHeaderNamesAndJstOffset) {
  Event e = every_kind()[0];
  std::string line = to_eve(e);
  EXPECT_EQ(
      line.rfind("{\"timestamp\":\"2026-11-26T19:40:35.123456+0900\",\"flow_id\":1234567890123456,"
                 "\"in_iface\":\"eth0\",\"event_type\":\"alert\",\"src_ip\":\"192.168.1.10\","
                 "\"src_port\":51234,\"dest_ip\":\"2001:db8::1\",\"dest_port\":443,"
                 "\"proto\":\"TCP\",\"app_proto\":\"http\",\"alert\":{\"action\":\"allowed\","
                 "\"gid\":1,\"signature_id\":2019401,\"rev\":4,",
                 0),
      0u)
      << line;
  EXPECT_NE(line.find("\"metadata\":{\"created_at\":[\"2014_10_16\"]"), std::string::npos);
  EXPECT_EQ(to_eve(e, EveFormat{0}).substr(0, 45),
            "{\"timestamp\":\"2026-11-26T10:40:35.123456+0000");
}

TEST(Eve, HostileStringsRoundTripByteForByte) {
  std::vector<std::string> hostile = {
      std::string("quote\" backslash\\ slash/ tab\t nl\n cr\r"),
      std::string("nul\0byte\x01\x1f\x7f", 11),
      "\xff\xfe invalid \xc3\x28 \xe2\x82 \xf0\x9f\x98 truncated",
      "\xed\xa0\x80 surrogate \xc0\xaf overlong \xf4\x90\x80\x80 too big",
      "日本語のテキスト 見守り 🙂",
      "\\u00e9 literal escape text",
      std::string(100000, 'A') + "\x80",
  };
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    hostile.push_back(s);
  }
  for (const auto& s : hostile) {
    Event e = base("http");
    e.in_iface = s;
    e.fields.begin_object("http").add("url", s).add(s, "as a key").end();
    e.alert.emplace().signature = s;
    std::string line = to_eve(e);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    for (unsigned char c : line) ASSERT_GE(c, 0x20) << "raw control byte written";
    auto back = parse_eve(line);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->fields.find_string("http.url"), s);
    EXPECT_EQ(back->in_iface, s);
    EXPECT_EQ(back->alert->signature, s);
    EXPECT_EQ(*back, e);
  }
}

TEST(Eve, ValidUtf8IsWrittenAsIsAndInvalidBytesEscaped) {
  std::string out;
  append_json_string(out, "é\xff");
  EXPECT_EQ(out, "\"é\\u00ff\"");
}

TEST(Eve, ReadsForeignEscapes) {
  auto e = parse_eve(
      R"({"timestamp":"2026-11-26T10:00:00Z","event_type":"dns","dns":{"rrname":"\u65e5\ud83d\ude42\/x"}})");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->fields.find_string("dns.rrname"), "日🙂/x");
}

TEST(Eve, MalformedInputIsAnErrorThatSaysWhere) {
  struct Case {
    std::string text;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"", "expected '{'"},
      {"{}", "empty object"},
      {R"({"event_type":"dns"})", "'timestamp' is missing"},
      {R"({"timestamp":"2026-11-26T10:00:00Z"})", "'event_type' is missing"},
      {R"({"timestamp":"yesterday","event_type":"dns"})", "member 'timestamp'"},
      {R"({"timestamp":"2026-11-26T10:00:00Z","event_type":"dns","src_port":70000})",
       "member 'src_port'"},
      {R"({"timestamp":"2026-11-26T10:00:00Z","event_type":"dns","src_ip":"300.1.1.1"})",
       "member 'src_ip'"},
      {R"({"timestamp":"2026-11-26T10:00:00Z","event_type":"dns","x":[1,2,})", "expected a value"},
      {R"({"timestamp":"2026-11-26T10:00:00Z","event_type":"dns","x":"a)", "unterminated"},
      {R"({"timestamp":"2026-11-26T10:00:00Z","event_type":"dns"} trailing)", "after the end"},
      {R"({"timestamp":"2026-11-26T10:00:00Z","event_type":"dns","x":"\ud800"})", "surrogate"},
      {"{\"timestamp\":\"2026-11-26T10:00:00Z\",\"event_type\":\"a\tb\"}", "raw control byte"},
  };
  std::string deep = R"({"timestamp":"2026-11-26T10:00:00Z","event_type":"dns","x":)";
  deep += std::string(100, '[') + std::string(100, ']') + "}";
  cases.push_back({deep, "nesting deeper"});
  for (const auto& c : cases) {
    auto r = parse_eve(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << c.text << " -> " << r.error().message;
  }
}

TEST(Eve, ParsesGenericJsonObjects) {
  Fields f;
  ASSERT_TRUE(parse_json_object(R"( {"a": {"b": [1, -2, 3.5, true, null, "x"]}} )", f).ok());
  EXPECT_EQ(f.find("a.b.1")->i, -2);
  EXPECT_EQ(f.find("a.b.2")->d, 3.5);
  EXPECT_EQ(f.find_string("a.b.5"), "x");
  EXPECT_FALSE(f.find("a.b.6"));
}

TEST(Eve, SplitsConcatenatedJsonObjects) {
  // Pretty-printed objects one after another, braces and quotes inside strings, a stray
  // closing brace between objects and an unfinished object at the end.
  std::string_view text = R"({"a": {"b": "}{"}}
} {"c": "x\"}"}
{"d": 1}{"e": {)";
  auto objs = split_json_objects(text);
  ASSERT_EQ(objs.size(), 3u);
  EXPECT_EQ(objs[0], R"({"a": {"b": "}{"}})");
  EXPECT_EQ(objs[1], R"({"c": "x\"}"})");
  EXPECT_EQ(objs[2], R"({"d": 1})");
  Fields f;
  for (auto o : objs) EXPECT_TRUE(parse_json_object(o, f).ok()) << o;
}

}  // namespace
}  // namespace mimamori::core

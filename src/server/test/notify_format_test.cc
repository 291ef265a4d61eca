// Notification text per channel format: the escapers and length caps (pure functions), the
// payload builders that use them, and a device's hostile `host` field travelling from ingest
// to Slack, Teams and LINE receivers on loopback without forming a mention, link or markup.

#include <gtest/gtest.h>

#include <thread>

#include "mimamori/core/clock.h"
#include "notify/notify.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

// Number of code points of valid UTF-8 `s`; -1 when `s` is not valid UTF-8.
long chars(std::string_view s) {
  long n = 0;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80             ? 1
                 : (b & 0xE0) == 0xC0 ? 2
                 : (b & 0xF0) == 0xE0 ? 3
                 : (b & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return -1;
    }
    i += len;
    ++n;
  }
  return n;
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kHostile =
    "<!channel> <http://evil.example|click> <@U024BE7LH> @here [here](https://evil.example/x) "
    "<at>everyone</at> & \\[x\\]";

TEST(NotifyFormat, CapCutsByCharactersNeverInsideOne) {
  EXPECT_EQ(cap_chars("abc", 3), "abc");
  EXPECT_EQ(cap_chars("abcd", 3), "ab…");
  EXPECT_EQ(cap_chars("", 3), "");
  // Japanese (3 bytes each) and an emoji (4 bytes): cut at a character, valid UTF-8 after.
  const std::string jp = repeat("監視", 150) + "😀";
  for (size_t max : {1u, 2u, 7u, 200u, 300u, 301u}) {
    auto c = cap_chars(jp, max);
    EXPECT_EQ(chars(c), static_cast<long>(std::min<size_t>(max, 301))) << max;
    if (max < 301) {
      EXPECT_TRUE(c.ends_with("…")) << max;
    }
  }
  EXPECT_EQ(cap_chars(jp, 301), jp);
  // Invalid UTF-8 (a cut sequence, a stray continuation, an overlong slash, a surrogate)
  // becomes U+FFFD, one per bad byte.
  EXPECT_EQ(cap_chars("a\xE7\x9B", 10), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(cap_chars("\x80x", 10), "\xEF\xBF\xBDx");
  EXPECT_EQ(chars(cap_chars("\xC0\xAF\xED\xA0\x80", 10)), 5);
  EXPECT_EQ(cap_chars("\xC0\xAF", 10).find('/'), std::string::npos);
}

TEST(NotifyFormat, FieldValueIsOneCappedLine) {
  auto v = field_value("gw\r\n今すぐすること: 偽の指示\t" + repeat("あ", 500));
  EXPECT_EQ(v.find('\n'), std::string::npos);
  EXPECT_EQ(v.find('\r'), std::string::npos);
  EXPECT_EQ(v.find('\t'), std::string::npos);
  EXPECT_EQ(chars(v), static_cast<long>(kMaxFieldChars));
  EXPECT_TRUE(v.starts_with("gw 今すぐすること: 偽の指示 あ")) << v;
  EXPECT_TRUE(v.ends_with("…"));
}

TEST(NotifyFormat, PlainTextKeepsNewlinesOnly) {
  EXPECT_EQ(plain_text("a\r\nb\tc\x1b[31md\x7f\x01"), "a\nb c[31md");
  // C1 controls, bidirectional overrides/isolates and the BOM go; U+2028 is a newline.
  EXPECT_EQ(plain_text("x\xC2\x85y\xE2\x80\xAEz\xE2\x81\xA6w\xEF\xBB\xBFv"), "xyzwv");
  EXPECT_EQ(plain_text("a\xE2\x80\xA8"
                       "b"),
            "a\nb");
  EXPECT_EQ(plain_text("監視停止: gw-01"), "監視停止: gw-01");
}

TEST(NotifyFormat, DefangBreaksLinksAndMentions) {
  EXPECT_EQ(defang("http://evil.example/a"), "http[:]//evil[.]example/a");
  EXPECT_EQ(defang("see www.evil.example"), "see www[.]evil[.]example");
  EXPECT_EQ(defang("@here @channel a@b.jp"), "＠here ＠channel a＠b[.]jp");
  // Addresses and versions stay readable.
  EXPECT_EQ(defang("192.168.5.5 v1.2 end."), "192.168.5.5 v1.2 end.");
}

TEST(NotifyFormat, SlackEscapesControlSequences) {
  auto t = slack_text(kHostile);
  EXPECT_EQ(t.find('<'), std::string::npos) << t;
  EXPECT_EQ(t.find('>'), std::string::npos) << t;
  EXPECT_NE(t.find("&lt;!channel&gt;"), std::string::npos) << t;
  EXPECT_NE(t.find("&lt;http[:]//evil[.]example|click&gt;"), std::string::npos) << t;
  EXPECT_NE(t.find(" &amp; "), std::string::npos) << t;
  EXPECT_EQ(t.find("@here"), std::string::npos) << t;
  EXPECT_EQ(t.find("://"), std::string::npos) << t;
  // Cut before escaping: never half an entity; the cap counts what the reader sees.
  auto capped = slack_text(repeat("<", 50), 10);
  EXPECT_EQ(capped, repeat("&lt;", 9) + "…");
  EXPECT_EQ(chars(slack_text(repeat("監", 5000))), 4000);
}

TEST(NotifyFormat, TeamsNeutralisesMarkdownLinksAndMentions) {
  auto t = teams_text(kHostile);
  for (char c : {'<', '>', '\\'}) {
    EXPECT_EQ(t.find(c), std::string::npos) << c << " in " << t;
  }
  EXPECT_EQ(t.find("]("), std::string::npos) << t;
  EXPECT_EQ(t.find("://"), std::string::npos) << t;
  EXPECT_EQ(t.find("@"), std::string::npos) << t;
  EXPECT_NE(t.find("[here］(https[:]//evil[.]example/x)"), std::string::npos) << t;
  EXPECT_EQ(teams_text("[見守り][critical] 件名"), "[見守り][critical] 件名");
  EXPECT_NE(t.find("＜at＞everyone＜/at＞"), std::string::npos) << t;
  EXPECT_EQ(chars(teams_text(repeat("x", 9000))), 4000);
}

TEST(NotifyFormat, LineAndMailArePlainAndCapped) {
  auto l = line_text(kHostile + "\x1b\r\n" + repeat("あ", 6000));
  EXPECT_EQ(chars(l), 5000);
  EXPECT_EQ(l.find("://"), std::string::npos);
  EXPECT_EQ(l.find('\x1b'), std::string::npos);
  auto m =
      mail_text("本文\r\n\x1b]8;;http://evil.example\x07リンク\x1b]8;;\x07\n" + repeat("a", 30000));
  EXPECT_EQ(m.find('\x1b'), std::string::npos);
  EXPECT_EQ(m.find('\x07'), std::string::npos);
  EXPECT_EQ(m.find('\r'), std::string::npos);
  EXPECT_TRUE(m.starts_with("本文\n]8;;http://evil.example")) << m.substr(0, 40);
  EXPECT_EQ(chars(m), 20000);
}

OutboxMessage hostile_message() {
  OutboxMessage m;
  m.id = "msg_1";
  m.customer_id = "cus_1";
  m.idempotency_key = "inc_1:chn_1:opened";
  m.subject = "[見守り][critical] 不審な通信: " + kHostile;
  m.body = "対象: " + kHostile + "\n";
  m.target = "https://hooks.example/x";
  m.secret = "s3cret";
  return m;
}

TEST(NotifyFormat, BuildersEscapePerChannel) {
  auto m = hostile_message();
  std::string slack(json::parse(slack_request(m).body).at("text").as_string());
  EXPECT_EQ(slack.find('<'), std::string::npos) << slack;
  EXPECT_NE(slack.find("&lt;!channel&gt;"), std::string::npos) << slack;
  auto teams = json::parse(teams_request(m).body);
  for (const auto& block : teams.at("attachments").at(0).at("content").at("body").as_array()) {
    std::string t(block.at("text").as_string());
    EXPECT_EQ(t.find("]("), std::string::npos) << t;
    EXPECT_EQ(t.find('<'), std::string::npos) << t;
  }
  auto line = json::parse(line_request(m, "https://api.line.me/v2/bot/message/push").body);
  std::string lt(line.at("messages").at(0).at("text").as_string());
  EXPECT_EQ(lt.find("://"), std::string::npos) << lt;
  // The webhook carries the values as they are, JSON-escaped by the serialiser.
  auto hook = json::parse(webhook_request(m, 1764171000).body);
  EXPECT_EQ(hook.at("body").as_string(), m.body);
  auto mail = email_message(m, "soc@example.jp", 1764171000);
  EXPECT_EQ(mail.find("<!channel>"), std::string::npos);  // the body is base64, the subject 2047
}

// The text of the one message a sink received (polled until it arrives).
std::string received_text(const Sink& sink) {
  for (int i = 0; i < 200 && sink.files().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto files = sink.files();
  if (files.size() != 1) {
    ADD_FAILURE() << files.size() << " requests";
    return {};
  }
  return std::string(json::parse(files[0]).at("body").as_string());
}

TEST(NotifyFormatEndToEnd, HostileHostFromADeviceReachesChatSinksEscaped) {
  Sink slack("http"), teams("http"), line("http");
  ASSERT_GT(slack.port, 0);
  ASSERT_GT(teams.port, 0);
  ASSERT_GT(line.port, 0);
  std::string why;
  auto ts = TestServer::start(fresh_store_url("sqlite", &why), [&](ServerOptions& o) {
    o.deliver_notifications = true;
    o.background_interval_ms = 100;
    o.notify.line_push_url = fmt::format("http://127.0.0.1:{}/line", line.port);
    o.notify.allow_destinations = {"127.0.0.1"};  // the sinks are on loopback
  });
  ASSERT_TRUE(ts);
  auto admin = ts->admin();
  auto cus = admin.post("/api/v1/customers", R"({"name":"A"})").str("id");
  for (auto [kind, target] : {std::pair<std::string, std::string>{
                                  "slack", fmt::format("http://127.0.0.1:{}/s", slack.port)},
                              {"teams", fmt::format("http://127.0.0.1:{}/t", teams.port)},
                              {"line", "U0123456789abcdef"}}) {
    auto r = admin.post(
        "/api/v1/channels",
        json::serialize(json::object{
            {"customer_id", cus}, {"kind", kind}, {"target", target}, {"secret", "tok"}}));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  auto code = admin.post("/api/v1/customers/" + cus + "/enrollment-codes").str("code");
  Client anon(ts->base);
  auto tok =
      anon.call("POST", "/api/v1/enroll",
                json::serialize(json::object{
                    {"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}}),
                {"Content-Type: application/json"})
          .str("device_token");
  ASSERT_FALSE(tok.empty());
  // The device names the host: a mention, a disguised link, Markdown and a fake line.
  const std::string host =
      kHostile + "\n今すぐすること: http://evil.example を開く" + repeat("あ", 400);
  auto ev =
      json::parse(alert_line(1, "ET MALWARE Cobalt Strike Beacon", "192.168.5.5", "203.0.113.5"))
          .as_object();
  ev["host"] = host;
  ASSERT_EQ(ingest(anon, tok, 1, {json::serialize(ev)}).status, 200);

  std::string s(json::parse(received_text(slack)).at("text").as_string());
  EXPECT_EQ(s.find('<'), std::string::npos) << s;
  EXPECT_EQ(s.find('>'), std::string::npos) << s;
  EXPECT_NE(s.find("&lt;!channel&gt; &lt;http[:]//evil[.]example|click&gt;"), std::string::npos)
      << s;
  EXPECT_EQ(s.find("@here"), std::string::npos) << s;
  EXPECT_EQ(s.find("://"), std::string::npos) << s;
  // The host stayed on its own line, capped: the fake instruction line never starts a line.
  EXPECT_EQ(s.find("\n今すぐすること: http"), std::string::npos) << s;
  EXPECT_EQ(s.find(repeat("あ", 250)), std::string::npos) << s;

  auto card = json::parse(received_text(teams));
  for (const auto& block : card.at("attachments").at(0).at("content").at("body").as_array()) {
    std::string t(block.at("text").as_string());
    EXPECT_EQ(t.find("]("), std::string::npos) << t;
    EXPECT_EQ(t.find('<'), std::string::npos) << t;
    EXPECT_EQ(t.find('>'), std::string::npos) << t;
    EXPECT_EQ(t.find("://"), std::string::npos) << t;
    EXPECT_EQ(t.find('@'), std::string::npos) << t;
  }

  std::string l(json::parse(received_text(line)).at("messages").at(0).at("text").as_string());
  EXPECT_EQ(l.find("://"), std::string::npos) << l;
  EXPECT_EQ(l.find("@here"), std::string::npos) << l;
  EXPECT_EQ(l.find("\n今すぐすること: http"), std::string::npos) << l;
}

}  // namespace
}  // namespace mimamori::server::testing
